"""Which sampler and step count give clean images fast: grain and time per setting.

The default UNet works on 4x4 pixel-unshuffled tokens, so an under-resolved sample shows a
grid with a 4-px period. ``grain`` measures it: the mean absolute difference between
neighbouring pixels across token borders divided by the same inside tokens (1.0 = no grid;
real galaxies of the same size are the baseline, measured in the same run). ``fine power``:
the share of brightness variance at periods under 6 px (speckle), relative to real galaxies.
Time: seconds for 4 images from a loaded pipeline (median of 3 calls).

    python benchmarks/bench_grain.py [--model assets/default-run/model] [--period 4]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from galaxysd.data.reference_set import load_reference_set  # noqa: E402
from galaxysd.model.fast import load_fast_pipeline  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
#: (sampler, steps, guidance); guidance 1 skips the unconditional pass; the app's default is last
SETTINGS = [
    ("dpmpp", 10, 3.0),
    ("dpmpp", 20, 3.0),
    ("dpmpp_sde", 10, 3.0),
    ("dpmpp_sde", 20, 3.0),
    ("euler_a", 20, 3.0),
    ("dpmpp_sde", 10, 2.0),
    ("dpmpp_sde", 20, 2.0),
    ("dpmpp_sde", 20, 1.0),
]
PROMPTS = ["sdss, smooth", "sdss, features or disk-shaped, not edge-on, spiral galaxy", "sdss, edge-on galaxy"]


def grain(images: np.ndarray, period: int = 4) -> float:
    """Border-to-interior ratio of neighbour differences on a ``period``-px grid (1 = none)."""
    x = images.astype(np.float64)
    ratios = []
    for axis in (1, 2):
        diffs = np.abs(np.diff(x, axis=axis)).mean(axis=tuple(a for a in range(4) if a != axis))
        border = (np.arange(len(diffs)) + 1) % period == 0
        ratios.append(diffs[border].mean() / diffs[~border].mean())
    return float(np.mean(ratios))


def fine_power(images: np.ndarray, period: float = 6.0) -> float:
    """Share of each image's brightness variance at spatial periods shorter than ``period`` px
    (speckle and grain), averaged over the images; compare with real galaxies."""
    grey = images.astype(np.float64).mean(axis=3)
    grey -= grey.mean(axis=(1, 2), keepdims=True)
    power = np.abs(np.fft.fft2(grey)) ** 2
    fy, fx = np.meshgrid(np.fft.fftfreq(grey.shape[1]), np.fft.fftfreq(grey.shape[2]), indexing="ij")
    fine = np.hypot(fx, fy) > 1.0 / period
    return float(np.mean(power[:, fine].sum(axis=1) / np.maximum(power.sum(axis=(1, 2)), 1e-12)))


def main(argv=None) -> int:
    """Print a table of grain (vs real galaxies) and time per sampler and step count."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=REPO / "assets" / "default-run" / "model")
    parser.add_argument("--period", type=int, default=4)
    parser.add_argument("--n", type=int, default=16, help="images per prompt and setting")
    args = parser.parse_args(argv)
    pipe = load_fast_pipeline(args.model)
    size = int(pipe.config.image_size)
    reference = load_reference_set()
    if reference is None or reference[1].shape[1] != size:
        raise SystemExit(f"needs the {size} px reference set in assets/reference (python -m galaxysd.data reference)")
    real, real_fine = grain(reference[1], args.period), fine_power(reference[1])
    print(f"model {args.model}, {size} px; real reference galaxies: grain {real:.3f}, fine power {real_fine:.4f}")
    print("| sampler | steps | guidance | grid grain / real | fine power / real | s per 4 images |")
    print("|---|---:|---:|---:|---:|---:|")
    for sampler, steps, guidance in SETTINGS:
        settings = {"steps": steps, "sampler": sampler, "guidance_scale": guidance}
        images = np.concatenate([pipe(p, num_images=args.n, seed=0, **settings).arrays for p in PROMPTS])
        times = []
        for call in range(3):
            start = time.perf_counter()
            pipe(PROMPTS[1], num_images=4, seed=call, **settings)
            times.append(time.perf_counter() - start)
        ratio, fine = grain(images, args.period) / real, fine_power(images) / real_fine
        print(f"| {sampler} | {steps} | {guidance:g} | {ratio:.2f} | {fine:.2f} | {statistics.median(times):.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
