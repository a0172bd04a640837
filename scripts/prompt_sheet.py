"""Sheet of a run's model on ten typical prompts, six seeds each (the model card's sample grid).

python scripts/prompt_sheet.py --run assets/default-run --out assets/default-run/samples/prompts_dpmpp_sde_20.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from galaxysd.grids import save_grid  # noqa: E402 - after the path set-up
from galaxysd.model.fast import load_fast_pipeline

PROMPTS = (
    "sdss, smooth",
    "sdss, smooth, completely round galaxy",
    "sdss, smooth, in-between round galaxy",
    "sdss, smooth, cigar-shaped galaxy",
    "sdss, spiral galaxy",
    "sdss, edge-on galaxy",
    "sdss, merger",
    "gz2cyan, features or disk-shaped, spiral galaxy, bar-shaped structure in the galaxy center",
    "demo, edge-on galaxy, dust lane",
    "demo, smooth, {dust lane:1.3}",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default="assets/default-run", help="run whose model generates")
    parser.add_argument("--out", default="assets/default-run/samples/prompts_dpmpp_sde_20.png", help="PNG to write")
    parser.add_argument("--n", type=int, default=6, help="seeds per prompt")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--sampler", default="dpmpp_sde")
    args = parser.parse_args()
    pipe = load_fast_pipeline(Path(args.run) / "model")
    rows = [pipe(p, num_images=args.n, seed=0, steps=args.steps, sampler=args.sampler).arrays for p in PROMPTS]
    save_grid(np.stack(rows), args.out, PROMPTS)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
