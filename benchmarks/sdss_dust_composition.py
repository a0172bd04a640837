"""Does `sdss, smooth, {completely round:1.3} galaxy, {dust lane:1.3}` draw a lane? Scored per run.

No observed `sdss` dusty early type is labelled here, so the reference is the held-out GZ1
smooth galaxies (987 held-out galaxies; never trained on) with a simulated dust lane
(:mod:`galaxysd.data.simulated_dust`, the lanes a ``+dust_lane`` source trains on, with another
seed). A logistic regression on the judge's features learns lane vs no lane on half of those
held-out galaxies (plain vs painted) and is checked on the other half; it then says which share
of each prompt's generated galaxies shows a lane. The paper's composition is scored as typed, with
the parent answer `odd feature` written in (training shows a dust lane only with it; generation
adds it to a prompt that leaves it out, :func:`galaxysd.morphology.with_parents`), and as typed
with that completion turned off (``complete_tree=False``), as the model read it before. Also
per prompt: Fréchet distance to the held-out painted galaxies (and to the plain ones) over the
painted set's own split floor, diversity relative to the painted set and the closest pair of 16 seeds. Sampling is the
app's (`dpmpp_sde`, 20 steps, guidance 1, answer boost 1), 96 images per prompt, seeds 0-95.

    python benchmarks/sdss_dust_composition.py assets/default-run runs/stage5-dust \\
        --names "stage 4" "stage 5, dust lanes" --out benchmarks/sdss_dust_composition.csv
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from galaxysd import morphology  # noqa: E402
from galaxysd.data.simulated_dust import simulate_dust_lanes  # noqa: E402
from galaxysd.evaluation.judge import Judge  # noqa: E402
from galaxysd.evaluation.metrics import (  # noqa: E402
    closest_pair_distance,
    frechet_distance,
    mean_pairwise_distance,
    relative_diversity,
    split_frechet,
)
from galaxysd.grids import grid_image  # noqa: E402
from galaxysd.model.fast import SpeedSettings, load_fast_pipeline  # noqa: E402
from galaxysd.training.batches import DataSource, load_training_set  # noqa: E402

SHARED = REPO.parent / "shared" / "data"
# the held-out GZ1 galaxies framed as for training; absolute, so the script runs from any folder
HOLDOUT = (
    f"gz1:{SHARED / 'gz1-sdss'}?split=holdout&framing=measured&labels={REPO / '.data/labels/gz1/derived_labels.csv'}"
)
PAPER_PROMPT = "sdss, smooth, {completely round galaxy:1.3}, {dust lane:1.3}"
PROMPTS = (  # (prompt, whether generation completes its decision tree)
    (PAPER_PROMPT, True),  # the paper's, as typed
    (PAPER_PROMPT, False),  # the same, read without its parent answer
    ("sdss, smooth, odd feature, {completely round galaxy:1.3}, {dust lane:1.3}", True),  # parent written in
    ("sdss, smooth, {dust lane:1.3}", True),
    ("sdss, smooth, completely round galaxy", True),  # control: no lane asked for
)
SAMPLING = {"steps": 20, "guidance_scale": 1.0, "sampler": "dpmpp_sde", "tag_guidance": 1.0}
REFERENCE_SEED = 12345  # lanes unlike the training source's (seed 0)


def reference_sets(seed: int = REFERENCE_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Held-out GZ1 smooth galaxies as framed for training, plain and with a simulated lane."""
    tags = list(morphology.ALL_TAGS)
    data = load_training_set([DataSource(HOLDOUT, "sdss")], REPO / ".data" / "cache", 64, tags, 0.3, workers=1)
    images, conditions = data.images[0], data.conditions[0]
    painted, _, rows = simulate_dust_lanes(images, conditions, tags, seed=seed)
    return np.asarray(images[rows]), painted


def lane_classifier(plain: np.ndarray, painted: np.ndarray, seed: int = 0):
    """Logistic regression lane vs no lane on half the galaxies; its AUC on the other half."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(plain))
    train, test = order[: len(order) // 2], order[len(order) // 2 :]
    x_train = np.concatenate([plain[train], painted[train]])
    y_train = np.r_[np.zeros(len(train)), np.ones(len(train))]
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000)).fit(x_train, y_train)
    x_test = np.concatenate([plain[test], painted[test]])
    y_test = np.r_[np.zeros(len(test)), np.ones(len(test))]
    return model, float(roc_auc_score(y_test, model.predict_proba(x_test)[:, 1])), test


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", type=Path)
    p.add_argument("--names", nargs="*")
    p.add_argument("--judge", type=Path, default=REPO / "assets/default-run/eval/judge")
    p.add_argument("--n", type=int, default=96)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=HERE / "sdss_dust_composition.csv")
    p.add_argument("--sheet", type=Path, help="sample sheet (default: beside --out, same name, .png)")
    args = p.parse_args()
    names = args.names or [r.name for r in args.runs]
    columns = min(12, args.n)
    torch.set_num_threads(args.threads)
    judge = Judge.load(args.judge, device="cpu")
    plain, painted = reference_sets()
    f_plain, f_painted = judge.features(plain), judge.features(painted)
    classifier, auc, test = lane_classifier(f_plain, f_painted)
    real_share = {  # the classifier's rate on the held-out real halves, the same for every row
        f"lane_share_real_{kind}": float((classifier.predict_proba(f[test])[:, 1] > 0.5).mean())
        for kind, f in (("plain", f_plain), ("painted", f_painted))
    }
    floor = split_frechet(f_painted, size=args.n)  # two real sets of the generated count
    print(f"lane classifier on held-out halves: AUC {auc:.3f}; painted-set floor {floor:.2f}")
    rows, sheet, labels = [], [], []
    for run, name in zip(args.runs, names):
        pipe = load_fast_pipeline(run / "model", SpeedSettings(threads=args.threads), device="cpu")
        for prompt, complete in PROMPTS:
            images = pipe(prompt, num_images=args.n, seed=list(range(args.n)), complete_tree=complete, **SAMPLING)
            images = images.arrays
            features = judge.features(images)
            lane = classifier.predict_proba(features)[:, 1]
            rows.append(
                {
                    "run": name,
                    "prompt": prompt,
                    "complete_tree": complete,
                    "n_generated": len(images),
                    "lane_share": float((lane > 0.5).mean()),
                    **real_share,
                    "lane_classifier_auc": auc,
                    "frechet_to_painted": frechet_distance(features, f_painted),
                    "frechet_to_plain": frechet_distance(features, f_plain),
                    "painted_floor": floor,
                    "diversity_vs_painted": relative_diversity(features, f_painted),
                    "closest_pair_of_16": closest_pair_distance(features[:16]) / mean_pairwise_distance(f_painted),
                }
            )
            sheet.append(images[:columns])
            labels.append(f"{name}: {prompt}" + ("" if complete else " (tree not completed)"))
            print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in rows[-1].items()})
    sheet += [plain[:columns], painted[:columns]]
    labels += ["real held-out GZ1 smooth galaxies", "the same with a simulated dust lane (reference)"]
    sheet_path = args.sheet or args.out.with_suffix(".png")
    grid_image(np.stack(sheet).repeat(2, axis=2).repeat(2, axis=3), labels).save(sheet_path, optimize=True)
    pd.DataFrame(rows).to_csv(args.out, index=False)
    print(f"wrote {args.out} and {sheet_path}")


if __name__ == "__main__":
    main()
