"""How far is each image source's look from the standard SDSS look of GZ1?

    python benchmarks/bench_looks.py

Per 64 px image (from the image caches the training job builds): the sky level of each
channel and the sky noise (border strip), the galaxy's colour (``-2.5 log10(B/G)`` in its
segment, :mod:`galaxysd.evaluation.physical`), its peak brightness (99th percentile of the
channel mean) and its segment's share of the frame. For each source, the Wasserstein-1
distance of each statistic's distribution to a GZ1 reference set, beside the floor: the
same distance between two disjoint GZ1 sets of the same size (mean of 5 draws). A source
matches the standard look where its distance is within about the floor.

Besides the sources as they are, the GZ2 excerpt is also tried colour-normalised: each
channel's pixel values mapped onto GZ1's by quantile matching (fitted on half of the
excerpt, measured on the other half), the alternative to a survey tag of its own.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import wasserstein_distance

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from galaxysd.data.cache import ImageCache  # noqa: E402
from galaxysd.data.segmentation import BORDER, segment_galaxy  # noqa: E402
from galaxysd.evaluation.physical import _colour  # noqa: E402

STATISTICS = ("sky_r", "sky_g", "sky_b", "sky_noise", "colour", "peak", "segment_share")


def look_statistics(image: np.ndarray) -> dict[str, float]:
    """The look statistics of one (H, W, 3) uint8 image."""
    rgb = image.astype(np.float64)
    border = np.concatenate([rgb[:BORDER].reshape(-1, 3), rgb[-BORDER:].reshape(-1, 3)])
    plane = rgb.mean(axis=2)
    galaxy, _, _, noise = segment_galaxy(rgb)
    return {
        "sky_r": float(np.median(border[:, 0])),
        "sky_g": float(np.median(border[:, 1])),
        "sky_b": float(np.median(border[:, 2])),
        "sky_noise": float(noise),
        "colour": _colour(rgb, galaxy) if galaxy is not None else float("nan"),
        "peak": float(np.percentile(plane, 99)),
        "segment_share": float(galaxy.mean()) if galaxy is not None else 0.0,
    }


def measure(images: np.ndarray) -> pd.DataFrame:
    """:func:`look_statistics` of every image."""
    return pd.DataFrame([look_statistics(image) for image in images])


def quantile_matcher(source: np.ndarray, target: np.ndarray, levels: int = 256):
    """Per-channel quantile matching of ``source`` pixel values onto ``target``'s."""
    q = np.linspace(0, 100, levels)
    maps = [(np.percentile(source[..., c], q), np.percentile(target[..., c], q)) for c in range(3)]

    def apply(images: np.ndarray) -> np.ndarray:
        out = np.empty(images.shape, np.float64)
        for c, (src, dst) in enumerate(maps):
            out[..., c] = np.interp(images[..., c].astype(np.float64), src, dst)
        return np.clip(np.round(out), 0, 255).astype(np.uint8)

    return apply


def w1(a: pd.DataFrame, b: pd.DataFrame, name: str) -> float:
    x, y = a[name].to_numpy(float), b[name].to_numpy(float)
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    return float(wasserstein_distance(x, y)) if len(x) and len(y) else float("nan")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache-dir", type=Path, default=REPO / ".data" / "cache")
    parser.add_argument("--n", type=int, default=220, help="images per set")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "looks.csv")
    args = parser.parse_args(argv)
    caches = {}
    for folder in sorted(args.cache_dir.glob("*-64px-*")):
        cache = ImageCache.open(folder)
        source = str(cache.catalog["source"].iat[0])
        if source not in caches or len(cache) > len(caches[source]):
            caches[source] = cache
    if "gz1" not in caches or "gz2" not in caches:
        raise SystemExit(f"needs 64 px caches of gz1 and gz2 under {args.cache_dir} (the training job builds them)")
    rng = np.random.default_rng(0)
    n = args.n

    def draw(cache, k):
        return cache.batch(np.sort(rng.choice(len(cache), k, replace=False)))

    gz1 = draw(caches["gz1"], 3 * n)
    reference = measure(gz1[:n])
    floors = {s: [] for s in STATISTICS}
    for _ in range(5):
        a, b = rng.choice(np.arange(n, 3 * n), (2, n // 2), replace=False)
        ma, mb = measure(gz1[a]), measure(gz1[b])
        for s in STATISTICS:
            floors[s].append(w1(ma, mb, s))
    gz2 = draw(caches["gz2"], min(len(caches["gz2"]), 2 * (n // 2)))
    fit, held = gz2[: len(gz2) // 2], gz2[len(gz2) // 2 :]
    sets = {
        "gz2cyan (GZ2 excerpt)": measure(held),
        "gz2 colour-normalised": measure(quantile_matcher(fit, gz1[n:])(held)),
    }
    if "demo" in caches:
        sets["demo"] = measure(draw(caches["demo"], n // 2))
    rows = []
    for s in STATISTICS:
        floor = float(np.mean(floors[s]))
        row = {"statistic": s, "gz1_median": float(reference[s].median()), "gz1_floor": floor}
        for name, table in sets.items():
            distance = w1(reference, table, s)
            row[f"{name} w1"] = distance
            row[f"{name} x floor"] = distance / floor if floor > 0 else float("nan")
        rows.append(row)
    table = pd.DataFrame(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False, float_format="%.4g")
    shown = table[["statistic", "gz1_median", "gz1_floor", *[c for c in table.columns if c.endswith("x floor")]]]
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
