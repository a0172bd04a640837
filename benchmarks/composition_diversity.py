"""The dust-lane compositions' diversity, closest pair and Fréchet distance, as one table.

First score the compositions in the demo look (``benchmarks/dust_lane_prompts.txt``):

    python -m galaxysd.evaluate --run RUN --parts metrics --domain demo --prompts benchmarks/dust_lane_prompts.txt \\
        --sampler dpmpp_sde --steps 20 --guidance 1 --n-images 96 --out RUN/dust-lanes
    python benchmarks/composition_diversity.py RUN/dust-lanes --label "assets/default-run (stage 4: ...)"

The table (``benchmarks/composition_diversity.csv`` by default) has one row per composition:
its real counterparts, consistency, Fréchet distance and floor, diversity and closest pair of
16 seeds (in units of the real mean pair distance, and in grey levels), and the settings it
was sampled with. The README's dust-lane numbers are checked against it
(``tests/test_readme_numbers.py``). Prints the table with Fréchet / floor.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from galaxysd.model.tag_guidance import DEFAULT_TAG_GUIDANCE  # noqa: E402

# the per-prompt fields of an evaluate result that the table keeps, in its column order
COLUMNS = tuple(
    "key prompt n_real n_generated consistency consistency_real frechet frechet_floor diversity closest_pair "
    "closest_pair_real closest_pair_pixels".split()
)


def composition_table(metrics: dict, label: str, tag_guidance: float = DEFAULT_TAG_GUIDANCE) -> pd.DataFrame:
    """One row per prompt of an ``evaluate --parts metrics`` result, with its sampling settings.

    The answer boost is the one the result records; ``tag_guidance`` stands in for results made
    before ``evaluate`` recorded it."""
    s = metrics["settings"]
    tag_guidance = s.get("tag_guidance", tag_guidance)
    settings = (
        f"{s['sampler']}, {s['steps']} steps, guidance {s['guidance']:g}, answer boost {tag_guidance:g}, "
        f"{s['n_images']} images, seed {s['seed']}; real: demo training galaxies with the required answers"
    )
    rows = [{"run": label, **{c: p.get(c) for c in COLUMNS}, "settings": settings} for p in metrics["prompts"]]
    if not rows:
        raise ValueError("the metrics file scores no prompt")
    return pd.DataFrame(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("metrics_dir", type=Path, help="the --out folder of the evaluate run (holds metrics.json)")
    parser.add_argument("--label", required=True, help="the run column: which model this is")
    parser.add_argument(
        "--tag-guidance",
        type=float,
        default=DEFAULT_TAG_GUIDANCE,
        help="the answer boost of a result that does not record it (evaluate's default then)",
    )
    parser.add_argument("--out", type=Path, default=HERE / "composition_diversity.csv")
    args = parser.parse_args(argv)
    path = args.metrics_dir / "metrics.json"
    if not path.is_file():
        parser.error(f"{path} does not exist: run evaluate --parts metrics --out {args.metrics_dir} first")
    table = composition_table(json.loads(path.read_text()), args.label, args.tag_guidance)
    table.to_csv(args.out, index=False)
    shown = table.assign(frechet_over_floor=table.frechet / table.frechet_floor)
    print(
        shown[["key", "n_real", "diversity", "closest_pair", "closest_pair_real", "frechet_over_floor"]]
        .round(2)
        .to_string(index=False)
    )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
