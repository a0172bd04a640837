"""Sheet of the dusty early-type composition: generated galaxies for the paper's prompt in the
`sdss` and the `demo` look (generation adds the parent answer `odd feature` that they leave out),
and the search's default prompt, above real dusty early types of the demo survey (planted truth) at the
same size.

    python scripts/composition_sheet.py --run assets/default-run --out assets/screenshots/composition.png
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from galaxysd.data.survey_cache import open_survey  # noqa: E402 - after the path set-up
from galaxysd.model.sample_sheets import sheet_arguments, write_sample_sheet

PROMPTS = (
    "sdss, smooth, {completely round:1.3} galaxy, {dust lane:1.3}",
    "demo, smooth, {completely round:1.3} galaxy, {dust lane:1.3}",
    "demo, {smooth:1.5}, dust lane",
)


def main() -> None:
    parser = sheet_arguments(__doc__.splitlines()[0], "assets/screenshots/composition.png", 8)
    parser.add_argument("--demo", default="demo:.data/demo-10k", help="demo survey with planted truth")
    args = parser.parse_args()

    def real_dusty_early_types(pipe):
        cache = open_survey(args.demo, int(pipe.config.image_size), progress=False)
        truth = np.flatnonzero(cache.catalog["truth_dusty_early_type"].astype(bool).to_numpy())
        return [np.asarray(cache.images[truth[: args.n]])], [
            f"real dusty early types of the demo survey ({len(truth)} planted)"
        ]

    write_sample_sheet(args, PROMPTS, real_dusty_early_types)


if __name__ == "__main__":
    main()
