"""Download public Galaxy Zoo data: resumable, verified, atomic.

Each file is fetched into ``NAME.part`` (resumed with an HTTP ``Range`` request after an
interruption), checked against its expected size and checksum, then renamed into place,
so a file under its final name is always complete. Archives are extracted into a
folder the same way (``FOLDER.partial`` renamed when done).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import requests
from tqdm import tqdm

log = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 16
RETRIES = 5
RETRY_WAIT_S = 1.0  # first wait before resuming; doubles each time, at most 30 s
TIMEOUT_S = 60


class DownloadError(OSError):
    """A file could not be fetched, or what arrived is not what was expected."""


@dataclass(frozen=True)
class RemoteFile:
    """One public file: where it lives and what it must look like."""

    name: str  # file name on disk (and under a --base-url mirror)
    url: str
    size: int | None = None  # bytes; None: trust the server's Content-Length
    md5: str | None = None
    sha256: str | None = None
    extract_to: str | None = None  # archives: folder (beside the file) to unpack into
    is_images: bool = False  # skipped by ``skip_images``


_ZENODO_GZ2 = "https://zenodo.org/records/3565489/files"
#: Known public files per data set. Checksums are left out where no single published
#: value is known (public code quotes two different MD5s for images_gz2.zip).
MANIFESTS: dict[str, tuple[RemoteFile, ...]] = {
    "gz2": (
        RemoteFile("gz2_hart16.csv.gz", "https://gz2hart.s3.amazonaws.com/gz2_hart16.csv.gz"),
        RemoteFile("gz2_filename_mapping.csv", f"{_ZENODO_GZ2}/gz2_filename_mapping.csv?download=1"),
        RemoteFile(
            "images_gz2.zip", f"{_ZENODO_GZ2}/images_gz2.zip?download=1", extract_to="images_gz2", is_images=True
        ),
    ),
}


def file_digest(path: str | os.PathLike, algorithm: str) -> str:
    """Hex digest (``md5``, ``sha256``) of a file, read in chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(block)
    return digest.hexdigest()


def _verify(path: Path, remote: RemoteFile, size: int | None) -> None:
    """Raise ``DownloadError`` (after deleting ``path``) if size or checksum differ."""
    problems = []
    actual = path.stat().st_size
    if size is not None and actual != size:
        problems.append(f"size {actual:,} bytes, expected {size:,}")
    for algorithm in ("md5", "sha256"):
        expected = getattr(remote, algorithm)
        if expected and not problems:
            got = file_digest(path, algorithm)
            if got.lower() != expected.lower():
                problems.append(f"{algorithm} {got}, expected {expected}")
    if problems:
        path.unlink()
        raise DownloadError(
            f"{remote.name} from {remote.url} is corrupt ({'; '.join(problems)}); deleted it, run the download again"
        )


def _total_size(response: requests.Response, offset: int) -> int | None:
    """Full file size from Content-Range (``bytes a-b/total``) or Content-Length."""
    content_range = response.headers.get("Content-Range", "")
    if "/" in content_range and not content_range.endswith("/*"):
        return int(content_range.rsplit("/", 1)[1])
    length = response.headers.get("Content-Length")
    return int(length) + offset if length is not None else None


def _fetch_once(url: str, part: Path, session: requests.Session, progress: bool, label: str) -> int | None:
    """Append the rest of ``url`` to ``part``; returns the full size the server announced."""
    offset = part.stat().st_size if part.exists() else 0
    headers = {"Accept-Encoding": "identity"}  # the bytes as stored, so sizes and checksums hold
    if offset:
        headers["Range"] = f"bytes={offset}-"
    with session.get(url, headers=headers, stream=True, timeout=TIMEOUT_S) as response:
        if response.status_code == 416:  # nothing left after offset: already complete
            return _total_size(response, 0) if response.headers.get("Content-Range") else offset
        if response.status_code >= 400:
            raise DownloadError(f"{url} answered HTTP {response.status_code} {response.reason}")
        if offset and response.status_code != 206:  # server ignored Range: start again
            offset = 0
        total = _total_size(response, offset)
        with (
            open(part, "ab" if offset else "wb") as out,
            tqdm(
                total=total, initial=offset, unit="B", unit_scale=True, desc=label, disable=not progress, leave=False
            ) as bar,
        ):
            for block in response.iter_content(CHUNK_BYTES):
                out.write(block)
                bar.update(len(block))
    return total


def download_file(
    remote: RemoteFile,
    dest_dir: str | os.PathLike,
    base_url: str | None = None,
    session: requests.Session | None = None,
    progress: bool = True,
    retries: int = RETRIES,
) -> Path:
    """Fetch one file into ``dest_dir`` (resuming a ``.part`` file), verify it, rename it into place.

    ``base_url`` replaces the host: the file is fetched from ``{base_url}/{name}``.
    Interrupted transfers are resumed up to ``retries`` times. Raises ``DownloadError``.
    """
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    final, part = dest_dir / remote.name, dest_dir / f"{remote.name}.part"
    if final.exists():
        log.info("%s already present", final)
        return final
    url = f"{base_url.rstrip('/')}/{remote.name}" if base_url else remote.url
    session = session or requests.Session()
    announced = None
    for attempt in range(retries + 1):
        try:
            announced = _fetch_once(url, part, session, progress, remote.name)
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as error:
            log.warning("%s interrupted (%s); resuming", remote.name, error)
        else:
            if announced is None or part.stat().st_size >= announced:
                break
            log.warning("%s ended early at %s bytes; resuming", remote.name, part.stat().st_size)
        if attempt == retries:
            raise DownloadError(
                f"{url}: transfer kept failing after {retries} retries; run again to resume from {part}"
            )
        time.sleep(min(RETRY_WAIT_S * 2**attempt, 30.0))
    if remote.size is not None and announced is not None and announced != remote.size:
        log.warning("%s: server announces %s bytes, manifest says %s", remote.name, announced, remote.size)
    _verify(part, remote, remote.size if remote.size is not None else announced)
    os.replace(part, final)
    return final


def extract_zip(archive: str | os.PathLike, target: str | os.PathLike, progress: bool = True) -> Path:
    """Unpack ``archive`` into the folder ``target`` via ``target.partial``, renamed when complete.

    A single top-level folder named like ``target`` is not repeated
    (``images_gz2/x.jpg`` lands in ``target/x.jpg``). Members that would land outside
    ``target`` make it raise ``DownloadError``.
    """
    target = Path(target)
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    with zipfile.ZipFile(archive) as bundle:
        members = [m for m in bundle.infolist() if not m.is_dir()]
        prefix = f"{target.name}/"
        strip = len(prefix) if members and all(m.filename.startswith(prefix) for m in members) else 0
        root = staging.resolve()
        for member in tqdm(
            members, desc=f"extract {Path(archive).name}", unit="file", disable=not progress, leave=False
        ):
            out = (staging / member.filename[strip:]).resolve()
            if root not in out.parents:
                shutil.rmtree(staging, ignore_errors=True)
                raise DownloadError(f"{archive}: member {member.filename!r} would land outside {target}")
            out.parent.mkdir(parents=True, exist_ok=True)
            with bundle.open(member) as source, open(out, "wb") as sink:
                shutil.copyfileobj(source, sink, CHUNK_BYTES)
    os.replace(staging, target)
    return target


def download_dataset(
    name: str,
    dest: str | os.PathLike,
    base_url: str | None = None,
    skip_images: bool = False,
    keep_archives: bool = False,
    progress: bool = True,
) -> Path:
    """Download (and unpack) every file of a data set in :data:`MANIFESTS` into ``dest``.

    Files already in place are skipped, so running it again finishes an interrupted
    job. Archives are deleted after extraction unless ``keep_archives``.
    """
    if name not in MANIFESTS:
        raise ValueError(f"unknown data set {name!r}; known: {', '.join(MANIFESTS)}")
    dest = Path(dest)
    session = requests.Session()
    for remote in MANIFESTS[name]:
        if skip_images and remote.is_images:
            continue
        if remote.extract_to and (dest / remote.extract_to).is_dir():
            log.info("%s already extracted", dest / remote.extract_to)
            continue
        path = download_file(remote, dest, base_url, session=session, progress=progress)
        if remote.extract_to:
            extract_zip(path, dest / remote.extract_to, progress=progress)
            if not keep_archives:
                path.unlink()
    return dest
