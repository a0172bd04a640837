"""Download job: resumable, verified, atomic, against a local HTTP server (no internet)."""

from __future__ import annotations

import hashlib
import io
import re
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from galaxysd.data import download, load_catalog_spec
from galaxysd.data.__main__ import main
from galaxysd.data.download import DownloadError, RemoteFile, download_file, extract_zip
from galaxysd.morphology import FRACTION_COLUMNS


class FileServer:
    """Serves ``files`` on 127.0.0.1 with Range support; can cut chosen transfers half-way once."""

    def __init__(self, files: dict[str, bytes], cut_once: tuple[str, ...] = (), ignore_range: bool = False):
        self.files, self.cut_pending, self.ignore_range = files, set(cut_once), ignore_range
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):
                name = self.path.lstrip("/").split("?")[0]
                requested = self.headers.get("Range")
                server.requests.append((name, requested))
                if name not in server.files:
                    self.send_error(404)
                    return
                data = server.files[name]
                start = int(re.match(r"bytes=(\d+)-", requested).group(1)) if requested else 0
                if server.ignore_range:
                    start = 0
                if start >= len(data) and data:
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206 if start else 200)
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                body = data[start:]
                if name in server.cut_pending:  # send half, then drop the connection
                    server.cut_pending.discard(name)
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self) -> "FileServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def ranges(self, name: str) -> list[str]:
        return [r for n, r in self.requests if n == name and r]


@pytest.fixture(autouse=True)
def no_retry_wait(monkeypatch):
    monkeypatch.setattr(download, "RETRY_WAIT_S", 0.0)


def payload(n_bytes: int = 300_000, seed: int = 0) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n_bytes, dtype=np.uint8).tobytes()


def remote(name: str, server: FileServer, **expected) -> RemoteFile:
    return RemoteFile(name, f"{server.url}/{name}", **expected)


def gz2_release(asset_id: int = 42, objid: str = "587722981741363294") -> dict[str, bytes]:
    """A one-galaxy GZ2 release: Hart16 table, filename mapping, images archive."""
    table = io.BytesIO()
    pd.DataFrame([{"dr7objid": objid, "ra": 1.0, "dec": 2.0, **dict.fromkeys(FRACTION_COLUMNS, 0.5)}]).to_csv(
        table, index=False, compression={"method": "gzip"}
    )
    image, archive = io.BytesIO(), io.BytesIO()
    Image.new("RGB", (32, 32), (200, 100, 50)).save(image, format="JPEG")
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr(f"images/{asset_id}.jpg", image.getvalue())
    mapping = f"objid,sample,asset_id\n{objid},original,{asset_id}\n".encode()
    return {
        "gz2_hart16.csv.gz": table.getvalue(),
        "gz2_filename_mapping.csv": mapping,
        "images_gz2.zip": archive.getvalue(),
    }


def test_download_job_fetches_extracts_and_the_result_loads_as_gz2(tmp_path):
    with FileServer(gz2_release()) as server:
        assert main(["download", "gz2", "--dest", str(tmp_path), "--base-url", server.url]) == 0
        first_requests = len(server.requests)
        assert main(["download", "gz2", "--dest", str(tmp_path), "--base-url", server.url]) == 0
        assert len(server.requests) == first_requests  # everything already in place
    assert (tmp_path / "images_gz2" / "images" / "42.jpg").is_file()
    assert not list(tmp_path.glob("*.part")) and not (tmp_path / "images_gz2.zip").exists()
    catalog = load_catalog_spec(f"gz2:{tmp_path}?images_only=true&verify_images=true")
    assert len(catalog) == 1 and catalog.loc[0, "image_path"].endswith("42.jpg")


def test_download_skip_images_fetches_only_the_tables(tmp_path):
    with FileServer(gz2_release()) as server:
        assert main(["download", "gz2", "--dest", str(tmp_path), "--base-url", server.url, "--skip-images"]) == 0
        assert "images_gz2.zip" not in {name for name, _ in server.requests}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gz2_filename_mapping.csv", "gz2_hart16.csv.gz"]


def test_download_job_reports_a_missing_file_in_one_line(tmp_path, capsys):
    with FileServer({}) as server:
        assert main(["download", "gz2", "--dest", str(tmp_path), "--base-url", server.url]) == 1
    err = capsys.readouterr().err
    assert "HTTP 404" in err and err.startswith("error: ") and "Traceback" not in err


def test_transfer_cut_half_way_resumes_with_a_range_request(tmp_path):
    data = payload()
    with FileServer({"big.bin": data}, cut_once=("big.bin",)) as server:
        path = download_file(remote("big.bin", server, md5=hashlib.md5(data).hexdigest()), tmp_path, progress=False)
    assert path.read_bytes() == data
    assert server.ranges("big.bin") and server.ranges("big.bin")[0] != "bytes=0-"
    assert not (tmp_path / "big.bin.part").exists()


def test_existing_part_file_is_resumed_not_restarted(tmp_path):
    data = payload()
    (tmp_path / "big.bin.part").write_bytes(data[:100_000])
    with FileServer({"big.bin": data}) as server:
        download_file(
            remote("big.bin", server, size=len(data), sha256=hashlib.sha256(data).hexdigest()), tmp_path, progress=False
        )
    assert server.ranges("big.bin") == ["bytes=100000-"]
    assert (tmp_path / "big.bin").read_bytes() == data


def test_complete_part_file_is_finished_without_refetching(tmp_path):
    data = payload(1000)
    (tmp_path / "small.bin.part").write_bytes(data)
    with FileServer({"small.bin": data}) as server:
        download_file(remote("small.bin", server, size=len(data)), tmp_path, progress=False)
    assert (tmp_path / "small.bin").read_bytes() == data


def test_server_that_ignores_range_gives_a_fresh_complete_file(tmp_path):
    data = payload()
    (tmp_path / "big.bin.part").write_bytes(b"stale bytes from another file")
    with FileServer({"big.bin": data}, ignore_range=True) as server:
        download_file(remote("big.bin", server), tmp_path, progress=False)
    assert (tmp_path / "big.bin").read_bytes() == data


@pytest.mark.parametrize(
    "expected, message", [({"md5": "0" * 32}, "md5"), ({"sha256": "f" * 64}, "sha256"), ({"size": 12345}, "size")]
)
def test_wrong_checksum_or_size_is_rejected_and_nothing_is_left(tmp_path, expected, message):
    with FileServer({"f.bin": payload(5000)}) as server:
        with pytest.raises(DownloadError, match=f"f.bin.*corrupt.*{message}"):
            download_file(remote("f.bin", server, **expected), tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_extract_zip_unpacks_atomically_without_doubling_the_folder(tmp_path):
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("images_gz2/images/1.jpg", b"x")
        bundle.writestr("images_gz2/images/2.jpg", b"y")
    extract_zip(archive, tmp_path / "images_gz2", progress=False)
    assert (tmp_path / "images_gz2" / "images" / "2.jpg").read_bytes() == b"y"
    assert not (tmp_path / "images_gz2.partial").exists()


def test_extract_zip_refuses_members_outside_the_target(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("../escape.txt", b"x")
    with pytest.raises(DownloadError, match="outside"):
        extract_zip(archive, tmp_path / "out", progress=False)
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "out").exists()


def test_manifest_names_the_public_gz2_files():
    names = {f.name: f.url for f in download.MANIFESTS["gz2"]}
    assert names["gz2_hart16.csv.gz"] == "https://gz2hart.s3.amazonaws.com/gz2_hart16.csv.gz"
    assert "zenodo.org/records/3565489" in names["images_gz2.zip"]
    assert "zenodo.org/records/3565489" in names["gz2_filename_mapping.csv"]
