"""Sheet of a run's model on ten typical prompts, six seeds each (the model card's sample grid).

python scripts/prompt_sheet.py --run assets/default-run --out assets/default-run/samples/prompts_dpmpp_sde_20.png
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from galaxysd.model.sample_sheets import sheet_arguments, write_sample_sheet  # noqa: E402 - after the path set-up

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
    parser = sheet_arguments(__doc__.splitlines()[0], "assets/default-run/samples/prompts_dpmpp_sde_20.png", 6)
    write_sample_sheet(parser.parse_args(), PROMPTS)


if __name__ == "__main__":
    main()
