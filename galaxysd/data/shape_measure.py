"""Shape measurements of the central galaxy of a cutout, for labels derived from the image.

Each image is read, binned to about :data:`MEASURE_PIXELS` pixels across (shapes of
Galaxy Zoo cutouts do not need their full 424 px), segmented on its channel mean with
:func:`galaxysd.data.segmentation.segment_galaxy` (photutils), and its central segment
measured with ``photutils.segmentation.SourceCatalog``:

* ``axis_ratio``: b/a of the segment's second moments (1 = round);
* ``concentration``: ``5 log10(r80 / r20)`` of the light inside the segment;
* ``r50_frac``, ``r90_frac``: half-light and 90%-light radii as fractions of the image side;
* ``area_frac``: the segment's share of the image.

A measurement never raises: an image that cannot be read or shows no central source gets
NaNs and a ``failure`` reason, so a labelling job can count its failures.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError
from tqdm.auto import tqdm

from galaxysd.atomic_files import write_csv
from galaxysd.data.segmentation import segment_galaxy

MEASURE_PIXELS = 160
MEASUREMENTS: tuple[str, ...] = ("axis_ratio", "concentration", "r50_frac", "r90_frac", "area_frac")
MIN_SEGMENT_PIXELS = 12
MEASUREMENTS_NAME = "measurements.csv"


def read_for_measuring(path: str | Path, pixels: int = MEASURE_PIXELS) -> np.ndarray:
    """The RGB image at ``path`` binned (box filter) to about ``pixels`` across, as floats."""
    with Image.open(path) as image:
        image = image.convert("RGB")
        if image.width > pixels:
            image = image.reduce(max(1, round(image.width / pixels)))
        return np.asarray(image, dtype=np.float64)


def measure_shape(image: np.ndarray) -> dict[str, float | str]:
    """The :data:`MEASUREMENTS` of one ``(H, W, 3)`` image's central galaxy (``failure`` "" if fine)."""
    from photutils.segmentation import SegmentationImage, SourceCatalog  # slow import

    result: dict[str, float | str] = {name: float("nan") for name in MEASUREMENTS}
    galaxy, _, light, _ = segment_galaxy(image)
    if galaxy is None or galaxy.sum() < MIN_SEGMENT_PIXELS:
        return {**result, "failure": "no source"}
    side = float(min(light.shape))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            source = SourceCatalog(np.clip(light, 0, None), SegmentationImage(galaxy.astype(np.int32)))[0]
            a, b = float(source.semimajor_sigma.value), float(source.semiminor_sigma.value)
            r20, r50, r80, r90 = (float(source.fluxfrac_radius(f).value) for f in (0.2, 0.5, 0.8, 0.9))
    except Exception:  # noqa: BLE001 - degenerate segments raise assorted errors
        return {**result, "failure": "measurement error"}
    if not (a > 0 and r20 > 0 and np.isfinite([b, r50, r80, r90]).all()):
        return {**result, "failure": "degenerate segment"}
    return {
        "axis_ratio": b / a,
        "concentration": 5.0 * np.log10(r80 / r20),
        "r50_frac": r50 / side,
        "r90_frac": r90 / side,
        "area_frac": float(galaxy.sum()) / light.size,
        "failure": "",
    }


def measure_paths(paths, progress: bool = True, desc: str = "measuring shapes") -> pd.DataFrame:
    """:func:`measure_shape` of every image file, one row each (unreadable files counted
    as ``failure == "unreadable image"``), in the order of ``paths``."""
    rows = []
    for path in tqdm(list(paths), desc=desc, disable=not progress, unit="img"):
        try:
            image = read_for_measuring(path)
        except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError):
            rows.append({**{name: float("nan") for name in MEASUREMENTS}, "failure": "unreadable image"})
            continue
        rows.append(measure_shape(image))
    return pd.DataFrame(rows, columns=[*MEASUREMENTS, "failure"])


def measure_cached(paths: pd.Series, out_dir: Path, desc: str) -> pd.DataFrame:
    """Measurements of ``paths`` (in their order), measuring only paths not yet in
    ``out_dir/measurements.csv`` and adding them to it."""
    store = out_dir / MEASUREMENTS_NAME
    known = pd.read_csv(store, dtype={"image_path": str}, keep_default_na=True) if store.is_file() else None
    if known is not None:
        known["failure"] = known["failure"].fillna("")
    done = set(known["image_path"]) if known is not None else set()
    todo = [p for p in dict.fromkeys(paths) if p not in done]
    if todo:
        new = measure_paths(todo, desc=desc)
        new.insert(0, "image_path", todo)
        known = new if known is None else pd.concat([known, new], ignore_index=True)
        write_csv(store, known)
    table = known.drop_duplicates("image_path", keep="last").set_index("image_path")
    return table.reindex(list(paths)).reset_index(drop=True)
