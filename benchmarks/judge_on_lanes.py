"""How does the judge read a dust lane? Its answers on real smooth galaxies, plain and with a lane.

The A-P prompts K and O ask for a dust lane on an in-between smooth galaxy, and their consistency
is scored on the answers the judge is trusted for (smooth, in-between round). The judge was
trained on GZ1 and the GZ2 excerpt, where almost no galaxy of the standard look has a lane. This
benchmark shows it the held-out GZ1 smooth galaxies (never trained on; as
``benchmarks/sdss_dust_composition.py`` loads them) before and after a simulated lane
(:mod:`galaxysd.data.simulated_dust`, another seed than training's) and prints, per trusted
answer, the share of galaxies the judge calls present (its calibrated thresholds) and the mean
probability. A model that draws the lane a prompt asks for loses consistency by as much as a
real galaxy does when it gains one.

    python benchmarks/judge_on_lanes.py --out benchmarks/judge_on_lanes.csv
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import torch

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

from sdss_dust_composition import reference_sets  # noqa: E402

from galaxysd.evaluation.judge import Judge  # noqa: E402
from galaxysd.evaluation.judge_trust import trusted_tags  # noqa: E402


def judge_on_lanes(judge: Judge) -> pd.DataFrame:
    """One row per trusted answer: presence and mean probability on plain and painted galaxies."""
    plain, painted = reference_sets()
    before, after = judge.predict_tags(plain), judge.predict_tags(painted)
    trusted = trusted_tags(judge)
    rows = []
    for tag in [t for t in judge.tags if t in trusted]:
        rows.append(
            {
                "answer": tag,
                "galaxies": len(plain),
                "present_plain": round(float(judge.presence(before, [tag]).mean()), 3),
                "present_with_lane": round(float(judge.presence(after, [tag]).mean()), 3),
                "p_plain": round(float(before[tag].mean()), 3),
                "p_with_lane": round(float(after[tag].mean()), 3),
            }
        )
    return pd.DataFrame(rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--judge", type=Path, default=REPO / "assets/default-run/eval/judge")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=HERE / "judge_on_lanes.csv")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    table = judge_on_lanes(Judge.load(args.judge, device="cpu"))
    print(table.to_string(index=False))
    table.to_csv(args.out, index=False)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
