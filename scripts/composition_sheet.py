"""Sheet of the dusty early-type composition: generated galaxies for the paper's prompt in the
`sdss` and `demo` looks, and the search's default prompt, above real dusty early types of the
demo survey (planted truth) at the same size.

    python scripts/composition_sheet.py --run assets/default-run --out assets/screenshots/composition.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from galaxysd.data.survey_cache import open_survey  # noqa: E402 - after the path set-up
from galaxysd.grids import save_grid
from galaxysd.model.fast import load_fast_pipeline

PROMPTS = (
    "sdss, smooth, {completely round:1.3} galaxy, {dust lane:1.3}",
    "demo, smooth, {completely round:1.3} galaxy, {dust lane:1.3}",
    "demo, {smooth:1.5}, dust lane",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default="assets/default-run", help="run whose model generates")
    parser.add_argument("--demo", default="demo:.data/demo-10k", help="demo survey with planted truth")
    parser.add_argument("--out", default="assets/screenshots/composition.png", help="PNG to write")
    parser.add_argument("--n", type=int, default=8, help="images per row")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--sampler", default="dpmpp_sde")
    args = parser.parse_args()
    pipe = load_fast_pipeline(Path(args.run) / "model")
    size = int(pipe.config.image_size)
    rows = [pipe(p, num_images=args.n, seed=0, steps=args.steps, sampler=args.sampler).arrays for p in PROMPTS]
    cache = open_survey(args.demo, size, progress=False)
    truth = np.flatnonzero(cache.catalog["truth_dusty_early_type"].astype(bool).to_numpy())
    rows.append(np.asarray(cache.images[truth[: args.n]]))
    labels = [*PROMPTS, f"real dusty early types of the demo survey ({len(truth)} planted)"]
    save_grid(np.stack(rows), args.out, labels)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
