"""Is a judge indifferent to the look? Held-out AUC per tag of two judges on real galaxies of
the standard SDSS look, as they are and re-rendered in other looks.

    python benchmarks/bench_judge_look.py --judge assets/default-run/eval/judge \\
        --judge runs/judge-look --names shipped look-augmented

Real galaxies: GZ1's held-out split (``gz1:...?split=holdout``, 987 galaxies, standard SDSS
look) with the derived roundness labels of ``python -m galaxysd.data label`` where present.
Looks: ``as is``; ``cyan stretch`` (gamma 0.5, the blue and green channels raised, a brighter
sky: the GZ2 excerpt's rendering, roughly); ``grey``; ``blurred + noisy``. Prints one table
(tags x judges x looks) and writes it to ``--out`` as CSV. Tags need 5 positives and 5
negatives among the held-out galaxies.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from galaxysd.data.cache import build_cache, cache_folder  # noqa: E402
from galaxysd.data.loaders import load_catalog_spec  # noqa: E402
from galaxysd.evaluation.judge import Judge  # noqa: E402
from galaxysd.evaluation.prompts import PRESENCE_THRESHOLD, cumulative_table  # noqa: E402

TAGS = (
    "smooth",
    "features or disk-shaped",
    "edge-on galaxy",
    "spiral galaxy",
    "merger",
    "completely round galaxy",
    "in-between round galaxy",
    "cigar-shaped galaxy",
)


def relook(images: np.ndarray, look: str, seed: int = 0) -> np.ndarray:
    """``images`` (uint8) rendered in another look."""
    x = images.astype(np.float64) / 255.0
    rng = np.random.default_rng(seed)
    if look == "cyan stretch":
        x = x**0.5
        x = x * np.array([0.75, 1.05, 1.2]) + np.array([0.05, 0.18, 0.22])
    elif look == "grey":
        x = np.repeat(x.mean(axis=3, keepdims=True), 3, axis=3)
    elif look == "blurred + noisy":
        pad = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
        x = (
            sum(
                pad[:, 1 + dy : 1 + dy + x.shape[1], 1 + dx : 1 + dx + x.shape[2]]
                for dy in (-1, 0, 1)
                for dx in (-1, 0, 1)
            )
            / 9
        )
        x = x + rng.normal(0, 0.04, x.shape)
    return (np.clip(x, 0, 1) * 255).round().astype(np.uint8)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--judge", action="append", required=True, metavar="DIR")
    parser.add_argument("--names", nargs="+", metavar="NAME")
    parser.add_argument(
        "--catalog",
        default="gz1:../shared/data/gz1-sdss?split=holdout&labels=.data/labels/gz1/derived_labels.csv",
    )
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "judge_look.csv"))
    args = parser.parse_args(argv)
    names = args.names or [Path(j).name for j in args.judge]
    catalog = load_catalog_spec(args.catalog)
    cache = build_cache(catalog, cache_folder(REPO / ".data" / "cache", args.catalog, 64), size=64, progress=False)
    images = cache.batch(np.arange(len(cache)))
    truth = cumulative_table(cache.catalog)
    rows = []
    for name, folder in zip(names, args.judge):
        judge = Judge.load(folder, device="cpu")
        for look in ("as is", "cyan stretch", "grey", "blurred + noisy"):
            probabilities = judge.predict_tags(relook(images, look))
            for tag in TAGS:
                known = truth[tag].notna().to_numpy()
                positive = truth[tag].to_numpy()[known] >= PRESENCE_THRESHOLD
                enough = min(positive.sum(), (~positive).sum()) >= 5
                auc = (
                    roc_auc_score(positive, probabilities[tag].to_numpy()[known])
                    if enough and tag in probabilities
                    else np.nan
                )
                rows.append({"judge": name, "look": look, "tag": tag, "positives": int(positive.sum()), "auc": auc})
    table = pd.DataFrame(rows)
    table.to_csv(args.out, index=False)
    wide = table.pivot_table(index="tag", columns=["judge", "look"], values="auc", sort=False).round(3)
    print(f"held-out AUC on {len(images)} real standard-look galaxies ({args.catalog})")
    print(wide.to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
