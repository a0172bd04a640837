"""Can image-to-image carry a dust lane from the demo look into the `sdss` look?

No `sdss` training galaxy has a dust-lane label, so `sdss, ..., dust lane` gives no lane. This
draws the dusty early-type compositions in the `demo` look (seeds 0-7), restyles each into
`sdss` with image-to-image (the same prompt with `sdss` in front, strengths 0.3 / 0.5 / 0.7, at
the app's sampling) and writes a sheet: per composition the demo row and its three restyled
rows, then the plain `sdss` composition.

    python benchmarks/look_transfer_sheet.py --run assets/default-run --out benchmarks/look_transfer.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from galaxysd.grids import save_grid  # noqa: E402
from galaxysd.model.fast import load_fast_pipeline  # noqa: E402

COMPOSITIONS = ("demo, smooth, {completely round:1.3} galaxy, {dust lane:1.3}", "demo, {smooth:1.5}, {dust lane:1.5}")
STRENGTHS = (0.3, 0.5, 0.7)
SAMPLING = {"steps": 20, "guidance_scale": 1.0, "sampler": "dpmpp_sde"}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", default="assets/default-run")
    p.add_argument("--out", default="benchmarks/look_transfer.png")
    p.add_argument("--n", type=int, default=8, help="seeds per row")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    pipe = load_fast_pipeline(Path(args.run) / "model")
    seeds = list(range(args.n))
    rows = []
    for prompt in COMPOSITIONS:
        demo = np.stack([np.asarray(x) for x in pipe(prompt, num_images=args.n, seed=seeds, **SAMPLING).images])
        rows.append(demo)
        for strength in STRENGTHS:
            restyled = [
                pipe(
                    prompt.replace("demo", "sdss"),
                    num_images=1,
                    seed=[100 + i],
                    reference=image,
                    strength=strength,
                    **SAMPLING,
                ).images[0]
                for i, image in enumerate(demo)
            ]
            rows.append(np.stack([np.asarray(x) for x in restyled]))
    plain = pipe(COMPOSITIONS[0].replace("demo", "sdss"), num_images=args.n, seed=seeds, **SAMPLING).images
    rows.append(np.stack([np.asarray(x) for x in plain]))
    save_grid(np.stack(rows), Path(args.out))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
