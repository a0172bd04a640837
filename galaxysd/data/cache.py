"""Image cache: every galaxy decoded once into a memory-mapped uint8 array on disk.

Training, evaluation and scanning read :class:`ImageCache`, never JPEGs. A cache folder
holds

``images.npy``     (N, size, size, 3) uint8, a NumPy ``.npy`` file opened as a memmap;
``index.parquet``  the catalog rows that decoded, in order, plus ``cache_index`` (the row
                   of ``images.npy`` holding that galaxy) and ``crop`` (the fraction used);
``failed.csv``     ``id, image_path, reason`` of missing or corrupt images (left out);
``meta.json``      size, crop rule, count, failures, framing outcomes, creation time, sources; written last,
                   so a folder without it is an unfinished build.

Framing. SDSS cutouts show the galaxy small in a field of sky, so each image is
centre-cropped to its central ``crop`` fraction before resizing. The standard Galaxy Zoo
cutouts (GZ2 release and Kaggle: 424 px, scaled so that the Petrosian R90 is 50 px; GZ1:
423 px, galaxies about 25% smaller still) keep the central half (GZ2/Kaggle, the classic
Galaxy Challenge framing of 207/424) or 40% (GZ1), so that the galaxy's half-light
radius is about a fifth of the output frame. Cutouts of any other width are assumed to be
framed already (the 300 px GZ2 sample and zoomed examples fill the frame) and are not
cropped; the demo survey renders at its final framing. A catalog column ``crop`` overrides
the rule per galaxy, a ``crop`` argument overrides it everywhere.

Resizing uses PIL's Lanczos filter over the cropped box: PIL widens the kernel by the
reduction factor, so strong downsampling (212 -> 64 px) is properly antialiased (every
source pixel contributes, as with area averaging) while staying sharper than a box filter
on spiral arms and bars; the cutouts are oversampled relative to the seeing, so Lanczos
ringing is negligible.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from PIL import Image
from tqdm.auto import tqdm

log = logging.getLogger(__name__)

#: Centre-crop fraction of a standard-width cutout, by catalog ``source``.
DEFAULT_CROP_BY_SOURCE: dict[str, float] = {
    "gz2": 0.5,
    "kaggle": 0.5,
    "gz1": 0.4,
    "demo": 1.0,
    "folder": 1.0,
    "synthetic": 1.0,
}
#: Widths (px) of the standard SDSS Galaxy Zoo cutouts that the source crops refer to.
STANDARD_CUTOUT_WIDTHS: tuple[int, ...] = (423, 424)
RESAMPLING = Image.Resampling.LANCZOS
#: Errors that mean "this image file is unusable" (missing, truncated, not an image).
IMAGE_ERRORS = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)

IMAGES_FILE, INDEX_FILE, FAILED_FILE, META_FILE = "images.npy", "index.parquet", "failed.csv", "meta.json"
PARTIAL_DIR = "partial"


def default_crop(source: str | None, width: int) -> float:
    """The crop fraction for an image of ``source`` whose native width is ``width`` px."""
    if width not in STANDARD_CUTOUT_WIDTHS:
        return 1.0
    return DEFAULT_CROP_BY_SOURCE.get(str(source), 1.0)


def load_image(
    path: str | os.PathLike, size: int = 64, crop: float | None = None, source: str | None = None
) -> np.ndarray:
    """Decode an image as RGB, keep its central ``crop`` fraction and resize to ``size``.

    ``crop=None`` picks :func:`default_crop` for ``source``. A non-square image is cropped
    to a centred square of ``crop`` times its shorter side. Returns (size, size, 3) uint8.
    Raises ``OSError``/``ValueError`` for missing or corrupt files.
    """
    return _load_framed(path, size, crop, source)[0]


def _load_framed(path, size: int, crop: float | None, source: str | None) -> tuple[np.ndarray, float]:
    """:func:`load_image` plus the crop fraction it used."""
    with Image.open(path) as im:
        im = im.convert("RGB")
    width, height = im.size
    fraction = default_crop(source, width) if crop is None else float(crop)
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"crop must be within (0, 1], got {fraction}")
    side = fraction * min(width, height)
    box = ((width - side) / 2, (height - side) / 2, (width + side) / 2, (height + side) / 2)
    pixels = np.asarray(im.resize((size, size), RESAMPLING, box=box), dtype=np.uint8)
    return pixels, fraction


@dataclass
class ImageCache:
    """A built cache: ``images`` (read-only memmap) and ``catalog`` (one row per galaxy).

    Row ``i`` of ``catalog`` is ``images[catalog.cache_index[i]]``; for a cache as opened
    that is ``images[i]``, for a :meth:`subset` it is a row of the shared array.
    """

    root: Path
    images: np.ndarray
    catalog: pd.DataFrame
    meta: dict
    failed: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["id", "image_path", "reason"]))

    def __post_init__(self) -> None:
        self._rows = self.catalog["cache_index"].to_numpy(dtype=np.int64)

    @classmethod
    def open(cls, path: str | os.PathLike) -> "ImageCache":
        """Open a finished cache folder (``FileNotFoundError`` if the build never finished)."""
        root = Path(path)
        if not (root / META_FILE).is_file():
            raise FileNotFoundError(
                f"no finished image cache in {root} (missing {META_FILE}); build it first, an interrupted build resumes"
            )
        meta = json.loads((root / META_FILE).read_text())
        images = np.load(root / IMAGES_FILE, mmap_mode="r")
        catalog = pd.read_parquet(root / INDEX_FILE)
        failed_path = root / FAILED_FILE
        failed = pd.read_csv(failed_path, dtype=str) if failed_path.is_file() else None
        cache = cls(root=root, images=images, catalog=catalog, meta=meta)
        if failed is not None:
            cache.failed = failed
        return cache

    @property
    def size(self) -> int:
        """Side of the square images in pixels."""
        return int(self.images.shape[1])

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, i: int) -> np.ndarray:
        return self.images[self._rows[i]]

    def batch(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        """Images of catalog rows ``indices`` as one (B, size, size, 3) uint8 array (a copy)."""
        rows = self._rows[np.asarray(indices, dtype=np.int64)]
        order = np.argsort(rows, kind="stable")  # read the file front to back
        out = np.empty((len(rows),) + self.images.shape[1:], dtype=np.uint8)
        out[order] = self.images[rows[order]]
        return out

    def subset(self, selection: Sequence[int] | Sequence[bool] | np.ndarray | pd.Series) -> "ImageCache":
        """A view on some galaxies (boolean mask or row positions), sharing the same array."""
        picked = np.asarray(selection)
        if picked.dtype == bool:
            if len(picked) != len(self):
                raise ValueError(f"mask has {len(picked)} entries for a cache of {len(self)}")
            picked = np.flatnonzero(picked)
        catalog = self.catalog.iloc[picked].reset_index(drop=True)
        return ImageCache(root=self.root, images=self.images, catalog=catalog, meta=self.meta, failed=self.failed)


def framing_counts(catalog: pd.DataFrame) -> dict[str, int]:
    """How many galaxies of ``catalog`` got each framing outcome (``{}`` without a
    ``framing`` column, i.e. fixed crops; see :mod:`galaxysd.data.framing`)."""
    if "framing" not in catalog:
        return {}
    values = catalog["framing"].fillna("").astype(str)
    return {str(k): int(v) for k, v in values[values != ""].value_counts().items()}


def _row_crops(catalog: pd.DataFrame, crop: float | None) -> list[float | None]:
    """Per-row crop: the argument, else a finite catalog ``crop`` value, else None (by source)."""
    if crop is not None:
        return [float(crop)] * len(catalog)
    if "crop" in catalog:
        values = pd.to_numeric(catalog["crop"], errors="coerce")
        return [float(v) if np.isfinite(v) else None for v in values]
    return [None] * len(catalog)


def _decode_chunk(
    array_path: str, start: int, paths: list[str], crops: list[float | None], sources: list[str], size: int
) -> list[tuple[int, str, float]]:
    """Decode rows ``start..`` into the partial array; returns (row, failure or '', crop)."""
    images = np.load(array_path, mmap_mode="r+")
    results = []
    for offset, (path, crop, source) in enumerate(zip(paths, crops, sources)):
        row = start + offset
        try:
            images[row], used = _load_framed(path, size, crop, source)
            results.append((row, "", used))
        except IMAGE_ERRORS as err:
            results.append((row, f"{type(err).__name__}: {err}", float("nan")))
    images.flush()
    return results


def _plan_fingerprint(catalog: pd.DataFrame, crops: list[float | None], size: int, chunk: int) -> str:
    digest = hashlib.sha256()
    for values in (catalog["id"], catalog["image_path"], catalog["source"], crops):
        digest.update("\x1f".join(str(value) for value in values).encode())
    digest.update(f"{size}|{chunk}".encode())
    return digest.hexdigest()


def _write_atomic(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def _start_or_resume(partial: Path, fingerprint: str, shape: tuple[int, ...]) -> Path:
    """Prepare the partial build folder; keep it only when it was started by the same plan."""
    plan_path = partial / "plan.json"
    if partial.is_dir():
        plan = json.loads(plan_path.read_text()) if plan_path.is_file() else {}
        if plan.get("fingerprint") != fingerprint:
            shutil.rmtree(partial)
    array_path = partial / IMAGES_FILE
    if not plan_path.is_file():
        (partial / "chunks").mkdir(parents=True, exist_ok=True)
        np.lib.format.open_memmap(array_path, mode="w+", dtype=np.uint8, shape=shape).flush()
        _write_atomic(plan_path, lambda p: p.write_text(json.dumps({"fingerprint": fingerprint})))
    return array_path


def build_cache(
    catalog: pd.DataFrame,
    out_dir: str | os.PathLike,
    size: int = 64,
    crop: float | None = None,
    workers: int = 2,
    progress: bool = True,
    chunk: int = 512,
) -> ImageCache:
    """Decode every catalog image once into ``out_dir`` and return the opened cache.

    ``catalog`` needs ``id``, ``image_path`` (absolute) and ``source``; other columns are
    kept in the index. ``crop=None`` uses a catalog ``crop`` column where present, else
    :func:`default_crop`. Chunks of ``chunk`` images are decoded by ``workers`` processes;
    a killed build resumes from its finished chunks when called again with the same
    arguments, and a finished one is returned as is. Missing or corrupt images are left
    out, logged, and listed in ``ImageCache.failed``.
    """
    out = Path(out_dir)
    catalog = catalog.reset_index(drop=True)
    catalog.attrs = {}  # load reports are not part of the index
    crops = _row_crops(catalog, crop)
    fingerprint = _plan_fingerprint(catalog, crops, size, chunk)
    if (out / META_FILE).is_file():
        meta = json.loads((out / META_FILE).read_text())
        if meta.get("fingerprint") == fingerprint:
            return ImageCache.open(out)
        (out / META_FILE).unlink()  # a different catalog or size: rebuild
    partial = out / PARTIAL_DIR
    array_path = _start_or_resume(partial, fingerprint, (len(catalog), size, size, 3))
    results = _decode_all(catalog, crops, size, chunk, workers, progress, array_path, partial / "chunks")
    return _finish(catalog, results, out, partial, array_path, size, crop, fingerprint)


def _decode_all(catalog, crops, size, chunk, workers, progress, array_path, chunk_dir):
    """Decode the chunks without a done marker; returns (row, failure, crop) for every row."""
    starts = range(0, len(catalog), chunk)
    results: list[tuple[int, str, float]] = []
    todo = []
    for start in starts:
        marker = chunk_dir / f"{start:09d}.json"
        if marker.is_file():
            results += [tuple(r) for r in json.loads(marker.read_text())]
        else:
            todo.append(start)
    paths = [str(path) for path in catalog["image_path"]]
    sources = [str(source) for source in catalog["source"]]
    jobs = {
        start: (
            str(array_path),
            start,
            paths[start : start + chunk],
            crops[start : start + chunk],
            sources[start : start + chunk],
            size,
        )
        for start in todo
    }
    bar = tqdm(
        total=len(catalog),
        initial=len(catalog) - sum(len(j[2]) for j in jobs.values()),
        disable=not progress,
        unit="img",
        desc="caching images",
    )

    def record(start, chunk_results):
        _write_atomic(chunk_dir / f"{start:09d}.json", lambda p: p.write_text(json.dumps(chunk_results)))
        results.extend(chunk_results)
        bar.update(len(chunk_results))

    try:
        if workers <= 1 or len(todo) <= 1:
            for start in todo:
                record(start, _decode_chunk(*jobs[start]))
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                futures = {pool.submit(_decode_chunk, *jobs[s]): s for s in todo}
                for future in as_completed(futures):
                    record(futures[future], future.result())
    finally:
        bar.close()
    return sorted(results)


def _finish(catalog, results, out, partial, array_path, size, crop, fingerprint) -> ImageCache:
    """Compact the decoded rows into the final files; ``meta.json`` is written last."""
    good = np.array([row for row, failure, _ in results if not failure], dtype=np.int64)
    failed_rows = [(row, failure) for row, failure, _ in results if failure]
    index = catalog.iloc[good].reset_index(drop=True)
    index["crop"] = [results[row][2] for row in good]
    index["cache_index"] = np.arange(len(good), dtype=np.int64)
    failed = pd.DataFrame(
        {
            "id": [str(catalog["id"].iat[r]) for r, _ in failed_rows],
            "image_path": [str(catalog["image_path"].iat[r]) for r, _ in failed_rows],
            "reason": [reason for _, reason in failed_rows],
        }
    )
    if failed_rows:
        log.warning(
            "%d of %d images could not be read and were left out of the cache, e.g. %s (%s)",
            len(failed),
            len(catalog),
            failed["image_path"].iat[0],
            failed["reason"].iat[0],
        )
        _write_compacted(array_path, good, out / IMAGES_FILE)
    else:
        os.replace(array_path, out / IMAGES_FILE)
    _write_atomic(out / FAILED_FILE, lambda p: failed.to_csv(p, index=False))
    _write_atomic(out / INDEX_FILE, lambda p: index.to_parquet(p, index=False))
    meta = {
        "size": size,
        "crop": crop if crop is not None else "by source",
        "crop_by_source": DEFAULT_CROP_BY_SOURCE,
        "count": int(len(index)),
        "failed": int(len(failed)),
        "framing": framing_counts(index),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "sources": {str(k): int(v) for k, v in index["source"].value_counts().items()},
        "resampling": RESAMPLING.name,
        "fingerprint": fingerprint,
    }
    _write_atomic(out / META_FILE, lambda p: p.write_text(json.dumps(meta, indent=2)))
    shutil.rmtree(partial, ignore_errors=True)
    return ImageCache.open(out)


def _write_compacted(array_path: Path, good: np.ndarray, target: Path, block: int = 4096) -> None:
    """Copy the decoded rows ``good`` of the partial array into ``target`` (atomically)."""
    source = np.load(array_path, mmap_mode="r")
    tmp = target.with_name(target.name + ".tmp.npy")
    dest = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(len(good),) + source.shape[1:])
    for begin in range(0, len(good), block):
        dest[begin : begin + block] = source[good[begin : begin + block]]
    dest.flush()
    del dest
    os.replace(tmp, target)


def cache_folder(cache_root: Path, spec: str, size: int) -> Path:
    """Where the image cache of a catalog spec at ``size`` px lives (stable across runs)."""
    digest = hashlib.sha1(f"{spec}|{size}".encode()).hexdigest()[:10]
    kind = spec.split(":", 1)[0]
    return Path(cache_root) / f"{kind}-{size}px-{digest}"
