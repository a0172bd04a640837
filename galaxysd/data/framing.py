"""Framing every galaxy alike: a crop scaled to the galaxy's own measured size.

A fixed centre crop (:data:`galaxysd.data.cache.DEFAULT_CROP_BY_SOURCE`) leaves a large
galaxy cut off and a small one a few pixels across: GZ1 galaxies fill only about 40% of
their 0.4 crop. The GZ2 release instead scaled each cutout to its galaxy (0.02 x
petroR90 arcsec per pixel), so that every galaxy fills the frame the same way.

:func:`measured_framing` does the same from the image: the half-light radius of the
central segment (:func:`galaxysd.data.shape_measure.measure_shape`, photutils), as a
fraction of the cutout side, sets the crop so that this radius is :data:`R50_TARGET` of
the output frame. (The half-light radius, not the 90% one: sky noise inside a generous
segment inflates the outer radius far more.) Cutouts are centred on the catalogue
position, so the crop stays centred. Galaxies whose measurement fails, or whose crop would
be under :data:`MIN_CROP` (a few native pixels upsampled) or over :data:`MAX_CROP` keep the
source's fixed crop; the ``framing`` column says which, and the image cache counts it in
its ``meta.json`` (:func:`galaxysd.data.cache.framing_counts`).

Load a catalog framed this way with the option ``?framing=measured``, e.g.
``gz1:../shared/data/gz1-sdss?framing=measured``. Measurements are kept by image path in
``.data/shapes/measurements.csv``, so only new images are measured (~80 images/s).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from galaxysd.data.cache import default_crop, load_image
from galaxysd.data.shape_measure import measure_cached
from galaxysd.runs import resolve_project_path

#: The half-light radius as a fraction of the output frame's side: the median of the
#: frame-filling ``gz2-sample`` cutouts (0.25, measured the same way). GZ1 galaxies in
#: the fixed 0.4 crop have a median of 0.21 (5% to 95%: 0.15 to 0.48).
R50_TARGET = 0.25
#: Smallest crop kept (of the cutout side): 0.15 x 423 px is 63 px, the output size.
MIN_CROP = 0.15
#: Largest crop trusted. On a sheet of GZ1 galaxies, nearly every measured crop above 0.5
#: came from a segment merged with a neighbouring galaxy or star (the galaxy itself
#: looked of ordinary size at the fixed 0.4), so those keep the fixed crop (19% of GZ1).
MAX_CROP = 0.5
MEASURED, FAILED, TOO_SMALL, TOO_LARGE = "measured", "fixed: measurement failed", "fixed: too small", "fixed: too large"
SHAPES_DIR = ".data/shapes"


def crops_from_radii(r50_frac, failures, fixed_crops) -> tuple[np.ndarray, np.ndarray]:
    """Crop fractions and framing outcomes for measured half-light radii ``r50_frac``
    (fractions of the cutout side; NaN or a non-empty failure falls back to ``fixed_crops``)."""
    r50 = np.asarray(r50_frac, dtype=float)
    fixed = np.asarray(fixed_crops, dtype=float)
    failed = np.asarray([bool(f) for f in failures], dtype=bool) | ~np.isfinite(r50)
    wanted = np.where(failed, np.nan, r50 / R50_TARGET)
    outcome = np.full(len(r50), MEASURED, dtype=object)
    outcome[failed] = FAILED
    with np.errstate(invalid="ignore"):
        outcome[~failed & (wanted < MIN_CROP)] = TOO_SMALL
        outcome[~failed & (wanted > MAX_CROP)] = TOO_LARGE
    crops = np.where(outcome == MEASURED, wanted, fixed)
    return crops, outcome


def _native_width(path: str) -> int:
    with Image.open(path) as image:
        return int(image.width)


def measured_framing(catalog: pd.DataFrame, shapes_dir: str | Path | None = None) -> pd.DataFrame:
    """``catalog`` with a per-galaxy ``crop`` scaled to its measured size and a ``framing``
    column (``measured`` or why the fixed crop was kept). Rows without an image keep no
    crop. Measures only images not already in ``shapes_dir/measurements.csv``."""
    out = catalog.copy()
    imaged = (out["image_path"].astype(str) != "").to_numpy()
    paths = out.loc[imaged, "image_path"].astype(str)
    store = Path(shapes_dir) if shapes_dir is not None else resolve_project_path(SHAPES_DIR)
    store.mkdir(parents=True, exist_ok=True)
    measured = measure_cached(paths.reset_index(drop=True), store, "measuring galaxy sizes")
    fixed = []
    for path, source in zip(paths, out.loc[imaged, "source"]):
        try:
            fixed.append(default_crop(str(source), _native_width(path)))
        except (OSError, ValueError):
            fixed.append(1.0)  # unreadable: the cache lists it as failed anyway
    crops, outcome = crops_from_radii(measured["r50_frac"], measured["failure"].fillna(""), fixed)
    out["crop"] = np.nan
    out["framing"] = ""
    out.loc[imaged, "crop"] = crops
    out.loc[imaged, "framing"] = outcome
    return out


def before_after_rows(catalog: pd.DataFrame, n: int = 32, size: int = 64) -> np.ndarray:
    """The same ``n`` galaxies of a :func:`measured_framing` catalog at the source's fixed
    crop and at their measured crop, spread over sizes (smallest to largest measured
    crop): a (4, n/2, size, size, 3) uint8 array of rows fixed, measured, fixed, measured."""
    framed = catalog[catalog["framing"] == MEASURED].sort_values("crop").reset_index(drop=True)
    if len(framed) < n:
        raise ValueError(f"need {n} galaxies framed by measurement, the catalog has {len(framed)}")
    picks = framed.iloc[np.linspace(0, len(framed) - 1, n).round().astype(int)]
    fixed = [load_image(p, size, crop=None, source=s) for p, s in zip(picks["image_path"], picks["source"])]
    measured = [load_image(p, size, crop=c) for p, c in zip(picks["image_path"], picks["crop"])]
    half = n // 2
    return np.stack(
        [np.stack(fixed[:half]), np.stack(measured[:half]), np.stack(fixed[half:]), np.stack(measured[half:])]
    )
