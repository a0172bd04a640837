"""Is the combined detector's gain the synthetic set's, or just two detectors' worth of averaging?

With real positives the dusty early-type search ranks by the mean of two detectors'
probabilities, one trained with the synthetic set and one on the real positives alone
(:func:`galaxysd.science.dusty_search.combine_scores`). Averaging any two detectors helps a
little, so the fair control is a *real pair*: the real-only detector averaged with a second
real-only one trained with another seed. This reads the splits that
``benchmarks/dusty_splits.py`` left (their detectors are saved), trains that second
real-only detector for every draw of 3 and 7 real positives and for every labelled one,
and prints the mean average precision of each detector per budget:

    python benchmarks/dusty_splits.py assets/default-run --seeds 0,1,2,3,4,5,6 --label search
    python benchmarks/dusty_pair_control.py runs/dusty-splits/search/<fingerprint> \\
        --out benchmarks/dusty_pair_control.csv

The second detectors are kept under each split's ``discover/parts/.../pair-control/``, so a
rerun only rescores (about 40 s per split on 2 CPU threads the first time).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from dusty_splits import BASE_ARGS  # noqa: E402

from galaxysd.data.survey_cache import open_survey  # noqa: E402
from galaxysd.science import discover_job  # noqa: E402
from galaxysd.science.catalog_search import train_and_save  # noqa: E402
from galaxysd.science.dusty_search import (  # noqa: E402
    TRUTH_COLUMN,
    combine_scores,
    evaluate_ranking,
    train_detector,
    training_sets,
)
from galaxysd.science.few_positives import detector_folder, draw_positives, held_out_scores  # noqa: E402

PAIR_SEED_OFFSET = 1000  # the second real-only detector's training seed, after the split's


def split_detectors(parts: Path, budget: str, draw: int) -> tuple[Path, Path, str]:
    """The augmented and real-only detector folders of one draw, and the control's folder name."""
    if budget == "all":
        return parts / "detector", parts / "detector-real-only", "all"
    few = parts / "few-positives"
    return (
        detector_folder(few, budget, draw, "augmented"),
        detector_folder(few, budget, draw, "real_only"),
        f"k{budget}-draw{draw}",
    )


def control_rows(split: Path, catalog: str, budgets: tuple[str, ...], draws: int) -> list[dict]:
    """Average precision of augmented, real-only, combined and real-pair detectors on one split."""
    seed = int(split.name.split("-")[1])
    args = discover_job.parse_args(["--run", str(split), "--catalog", catalog, "--seed", str(seed), *BASE_ARGS])
    settings = discover_job.search_settings(args)
    cache = open_survey(catalog, 64, args.cache_dir, args.workers, progress=False)
    truth = cache.catalog[TRUTH_COLUMN].astype(bool).to_numpy()
    (parts,) = [p for p in (split / "discover" / "parts").glob(f"{catalog.split(':')[0]}-*") if p.is_dir()]
    sets = training_sets(cache.catalog, settings)
    held_out = ~sets.pool
    test = cache.images[np.flatnonzero(held_out)]
    rows = []
    for budget in budgets:
        for draw in range(1 if budget == "all" else draws):
            augmented, real_only, name = split_detectors(parts, budget, draw)
            chosen = sets if budget == "all" else draw_positives(sets, int(budget), draw, seed)
            second = train_and_save(
                parts / "pair-control" / name,
                lambda: train_detector(
                    cache.images, chosen, None, replace(settings, seed=seed + PAIR_SEED_OFFSET), progress=False
                ),
            )
            probability = {
                kind: held_out_scores(folder, test, held_out, "cpu")
                for kind, folder in (("augmented", augmented), ("real_only", real_only), ("real_only_2", second))
            }
            probability["combined"] = combine_scores(probability["augmented"], probability["real_only"])
            probability["real_pair"] = combine_scores(probability["real_only"], probability["real_only_2"])
            ranking = evaluate_ranking(truth, probability, held_out)["detectors"]
            for kind, entry in ranking.items():
                rows.append(
                    {
                        "seed": seed,
                        "budget": budget,
                        "draw": draw,
                        "detector": kind,
                        "average_precision": entry["average_precision"],
                    }
                )
    return rows


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("splits", type=Path, help="a dusty_splits.py setting folder (holding seed-S/ folders)")
    p.add_argument("--catalog", default="demo:.data/demo-10k", help="the splits' catalog (default %(default)s)")
    p.add_argument("--draws", type=int, default=3, help="draws per budget, as the search made (default %(default)s)")
    p.add_argument("--out", type=Path, help="CSV of the per-split means and the overall mean")
    args = p.parse_args(argv)
    splits = sorted(args.splits.glob("seed-*"), key=lambda f: int(f.name.split("-")[1]))
    if not splits:
        p.error(f"no seed-S folders in {args.splits}")
    rows = [r for split in splits for r in control_rows(split, args.catalog, ("3", "7", "all"), args.draws)]
    per_split = pd.DataFrame(rows).groupby(["budget", "detector", "seed"])["average_precision"].mean().unstack()
    per_split["mean"] = per_split.mean(axis=1)
    if args.out:
        per_split.round(4).to_csv(args.out)
    print(per_split.to_string(float_format=lambda x: f"{x:.2f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
