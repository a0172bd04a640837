"""Physical morphology statistics of galaxy images with ``statmorph``.

For each RGB image: the galaxy is segmented on the channel mean (background level and noise
from a border strip, Gaussian smoothing, ``photutils.segmentation.detect_sources`` at
``DETECTION_SIGMA`` sigma, the segment under the centre or else the largest one; other
segments are masked), then ``statmorph`` measures concentration, asymmetry, smoothness,
Gini, M20, ellipticity and the Sérsic index. ``colour`` is ``-2.5 log10(B / G)`` of the
background-subtracted blue and green channel sums in the segment: SDSS colour composites
map g, r, i to blue, green, red, so this tracks g - r, though only roughly because
the JPEG stretch is not linear.

Absolute values are not those of photometric measurements: the stretch flattens bright
cores, so Sérsic indices of SDSS colour cutouts come out near 0.5 even for ellipticals.
They are meant for comparing real and generated images measured the same way.

Nothing here raises on a bad image: a statistic that cannot be measured is NaN and the
``failure`` column says why, so callers can count failures.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.stats import wasserstein_distance
from tqdm.auto import tqdm

from galaxysd.data.segmentation import DETECTION_SIGMA, _background, segment_galaxy  # noqa: F401 - part of this API

STATISTICS: tuple[str, ...] = (
    "concentration",
    "asymmetry",
    "smoothness",
    "gini",
    "m20",
    "ellipticity",
    "sersic_n",
    "colour",
)
_STATMORPH_NAMES = {
    "concentration": "concentration",
    "asymmetry": "asymmetry",
    "smoothness": "smoothness",
    "gini": "gini",
    "m20": "m20",
    "ellipticity": "ellipticity_centroid",
    "sersic_n": "sersic_n",
}


def _colour(image: np.ndarray, galaxy: np.ndarray) -> float:
    rgb = np.asarray(image, dtype=np.float64)
    if rgb.ndim != 3:
        return float("nan")
    flux = [
        np.clip(rgb[..., c] - _background(rgb[..., c])[0], 0, None)[galaxy].sum() for c in (2, 1)
    ]  # blue ~ g, green ~ r
    return float(-2.5 * np.log10(flux[0] / flux[1])) if min(flux) > 0 else float("nan")


def central_colour(images: np.ndarray, border: int = 4) -> np.ndarray:
    """``-2.5 log10(B / G)`` in the central quarter of each RGB image ``(N, H, W, 3)``, the
    background (median of a ``border``-pixel strip along the top and bottom rows) removed.

    Needs no segmentation, so it is defined for every image of a framed set (the galaxy
    fills the centre): a quick g - r-like colour for comparing generated and real sets.
    """
    x = np.asarray(images, dtype=np.float64)
    if x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(f"images must be (N, H, W, 3), got {x.shape}")
    strip = np.concatenate([x[:, :border], x[:, -border:]], axis=1).reshape(len(x), -1, 3)
    h, w = x.shape[1:3]
    centre = x[:, h * 3 // 8 : h * 5 // 8, w * 3 // 8 : w * 5 // 8].reshape(len(x), -1, 3)
    flux = np.clip(centre - np.median(strip, axis=1)[:, None], 0, None).sum(axis=1)
    return -2.5 * np.log10((flux[:, 2] + 1.0) / (flux[:, 1] + 1.0))


def morphology_statistics(image: np.ndarray) -> dict[str, float | str]:
    """Statistics of :data:`STATISTICS` for one image (``(H, W, 3)`` or ``(H, W)``).

    ``failure`` is ``""`` on success, else ``"no source"``, ``"statmorph error"``,
    ``"statmorph flag"`` (all structure statistics NaN) or ``"sersic fit"`` (only
    ``sersic_n`` NaN).
    """
    import statmorph  # slow import, only needed here

    result: dict[str, float | str] = {name: float("nan") for name in STATISTICS}
    galaxy, neighbours, light, noise = segment_galaxy(image)
    if galaxy is None:
        return {**result, "failure": "no source"}
    result["colour"] = _colour(image, galaxy)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            source = statmorph.source_morphology(
                light, galaxy.astype(int), mask=neighbours, weightmap=np.full(light.shape, noise)
            )[0]
            values = {name: float(getattr(source, attr)) for name, attr in _STATMORPH_NAMES.items()}
    except Exception:  # statmorph raises assorted errors on degenerate sources
        return {**result, "failure": "statmorph error"}
    if source.flag >= 2:
        return {**result, "failure": "statmorph flag"}
    failure = ""
    if source.flag_sersic >= 2 or not np.isfinite(values["sersic_n"]):
        values["sersic_n"], failure = float("nan"), "sersic fit"
    return {**result, **values, "failure": failure}


def measure_images(images: np.ndarray, progress: bool = True, desc: str = "statmorph") -> pd.DataFrame:
    """One row of :func:`morphology_statistics` per image (columns STATISTICS + failure)."""
    rows = [morphology_statistics(image) for image in tqdm(images, desc=desc, disable=not progress, leave=False)]
    return pd.DataFrame(rows, columns=[*STATISTICS, "failure"])


def failure_counts(table: pd.DataFrame) -> dict[str, int]:
    """How many images failed, by reason (empty dict when none did)."""
    reasons = table["failure"].fillna("")
    return {str(k): int(v) for k, v in reasons[reasons != ""].value_counts().items()}


def compare_statistics(real: pd.DataFrame, generated: pd.DataFrame) -> dict[str, dict]:
    """Wasserstein-1 distance per statistic between real and generated measurements.

    ``w1`` is in the statistic's own units; ``w1_scaled`` divides by the real values'
    standard deviation so statistics can be compared. NaN values are left out (counted in
    ``n_real`` / ``n_generated`` as the finite ones used); NaN distances where a side has
    no finite value.
    """
    out = {}
    for name in STATISTICS:
        a = real[name].to_numpy(float)
        b = generated[name].to_numpy(float)
        a, b = a[np.isfinite(a)], b[np.isfinite(b)]
        w1 = float(wasserstein_distance(a, b)) if len(a) and len(b) else float("nan")
        spread = float(a.std()) if len(a) > 1 else float("nan")
        out[name] = {
            "w1": w1,
            "w1_scaled": w1 / spread if spread > 0 else float("nan"),
            "n_real": int(len(a)),
            "n_generated": int(len(b)),
            "median_real": float(np.median(a)) if len(a) else float("nan"),
            "median_generated": float(np.median(b)) if len(b) else float("nan"),
        }
    return out


def histogram_table(tables: dict[str, pd.DataFrame], bins: int = 20) -> pd.DataFrame:
    """Histograms for plotting: per statistic, shared bins over all sets in ``tables``.

    Returns long-form rows ``statistic, set, bin_left, bin_right, count, density`` (density
    integrates to 1 per set and statistic).
    """
    rows = []
    for name in STATISTICS:
        finite = {key: t[name].to_numpy(float) for key, t in tables.items()}
        finite = {key: v[np.isfinite(v)] for key, v in finite.items()}
        pooled = np.concatenate(list(finite.values())) if finite else np.zeros(0)
        if len(pooled) == 0:
            continue
        low, high = np.percentile(pooled, [1, 99]) if len(pooled) > 10 else (pooled.min(), pooled.max())
        edges = np.linspace(low, high if high > low else low + 1e-6, bins + 1)
        for key, values in finite.items():
            counts, _ = np.histogram(np.clip(values, edges[0], edges[-1]), bins=edges)
            total = counts.sum() * (edges[1] - edges[0])
            for i, count in enumerate(counts):
                rows.append(
                    {
                        "statistic": name,
                        "set": key,
                        "bin_left": edges[i],
                        "bin_right": edges[i + 1],
                        "count": int(count),
                        "density": count / total if total else 0.0,
                    }
                )
    return pd.DataFrame(rows, columns=["statistic", "set", "bin_left", "bin_right", "count", "density"])
