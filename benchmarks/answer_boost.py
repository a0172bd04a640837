"""What an answer weighted 1.5 gives, with and without the answer boost, against real galaxies.

    python benchmarks/answer_boost.py --run assets/default-run --n 96 --gains 0,4,8

For each answer (:data:`ANSWERS`, each on its parent answers, as the app's sliders set them) the
shipped model samples the prompt at weight 1 and at 1.5 with every answer-boost gain
(:mod:`galaxysd.model.tag_guidance`; gain 0 extrapolates the answer's embedding), at the app's
sampling and the same seeds, and scores each set the way ``design_study.py`` does against
held-out real GZ1 galaxies of that morphology: Fréchet distance over its real-vs-real floor,
diversity, the judge's consistency on trusted tags, the axis-ratio distribution (median, W1 to
real and its floor) and for spirals the judge's median p(spiral). Cost is the UNet passes per
step. Prints a table and writes ``answer_boost.csv`` and ``answer_boost.png`` (per answer, a
row of generated galaxies per setting above a row of real ones).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from design_study import HOLDOUT_SPEC, JUDGE_DIR, shape_and_arms  # noqa: E402
from held_out import HeldOut  # noqa: E402

from galaxysd import morphology  # noqa: E402
from galaxysd.evaluation.judge import Judge  # noqa: E402
from galaxysd.evaluation.judge_trust import trusted_tags  # noqa: E402
from galaxysd.evaluation.prompts import PromptSpec  # noqa: E402
from galaxysd.grids import grid_image  # noqa: E402
from galaxysd.model.samplers import RECOMMENDED_SAMPLING  # noqa: E402
from galaxysd.model.tag_guidance import passes_per_step  # noqa: E402

#: design-study key (the shape prompts measure axis ratios) -> the answer that is weighted
ANSWERS = {
    "edge-on": "edge-on galaxy",
    "spiral": "spiral galaxy",
    "round": "completely round galaxy",
    "in-between": "in-between round galaxy",
    "smooth": "smooth",
}
SHEET_COLUMNS = 8


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run", type=Path, default=HERE.parent / "assets" / "default-run")
    p.add_argument("--judge", type=Path, default=JUDGE_DIR)
    p.add_argument("--holdout", default=HOLDOUT_SPEC + "&framing=measured&labels=.data/labels/gz1/derived_labels.csv")
    p.add_argument("--cache-dir", type=Path, default=HERE.parent / ".data" / "cache")
    p.add_argument("--n", type=int, default=96, help="images per setting")
    p.add_argument("--gains", default="0,4,8", help="answer-boost gains at weight 1.5")
    p.add_argument("--weight", type=float, default=1.5)
    p.add_argument("--seed", type=int, default=7000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=HERE)
    return p.parse_args(argv)


def settings(answer: str, weight: float, gains: list[float]) -> list[tuple[str, float, float]]:
    """``(prompt text, weight, gain)``: weight 1 once, then the weight at every gain."""
    base = {"sdss": 1.0, **dict.fromkeys(morphology.parent_answers(answer), 1.0)}
    plain = morphology.format_prompt({**base, answer: 1.0})
    boosted = morphology.format_prompt({**base, answer: weight})
    return [(plain, 1.0, 0.0)] + [(boosted, weight, g) for g in gains]


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import torch

    from galaxysd.model.saving import load_pipeline

    torch.set_num_threads(args.threads)
    pipe = load_pipeline(args.run / "model", device="cpu")
    pipe.set_progress_bar_config(disable=True)
    judge = Judge.load(args.judge, device="cpu")
    trusted = trusted_tags(judge)
    held = HeldOut(args.holdout, args.cache_dir, judge)
    gains = [float(g) for g in args.gains.split(",")]
    rows, sheet, labels = [], [], []
    for key, answer in ANSWERS.items():
        for text, weight, gain in settings(answer, args.weight, gains):
            spec = PromptSpec(key, key, text)
            images = pipe(text, num_images=args.n, seed=args.seed, tag_guidance=gain, **RECOMMENDED_SAMPLING).arrays
            scores, probs, real_rows, _ = held.score(images, spec, judge, trusted, args.seed)
            row = {
                "answer": answer,
                "prompt": text,
                "weight": weight,
                "gain": gain,
                "unet_passes_per_step": 1 + passes_per_step([spec.weights], gain),
                "n_real": len(real_rows),
                "frechet_over_floor": scores["frechet"] / scores["frechet_floor"],
                "diversity": scores["diversity"],
                "consistency": scores["consistency"],
                f"judge_p_{answer}": float(probs[answer].mean()) if answer in probs else float("nan"),
                **shape_and_arms(spec, images, probs, held, real_rows, args.seed),
            }
            rows.append(row)
            sheet.append(images[:SHEET_COLUMNS])
            labels.append(f"{answer} {weight:g}" + (f", boost {gain:g}" if weight > 1 else ""))
            print(
                f"{answer:24s} w={weight:g} gain={gain:g}: FD/floor {row['frechet_over_floor']:.2f}"
                f"  axis ratio {row.get('axis_ratio_gen', float('nan')):.3f} (real {row.get('axis_ratio_real', 0):.3f},"
                f" W1 {row.get('axis_ratio_w1', float('nan')):.3f} floor {row.get('axis_ratio_w1_floor', 0):.3f})",
                flush=True,
            )
        pick = np.random.default_rng(args.seed).choice(real_rows, SHEET_COLUMNS, replace=False)
        sheet.append(held.images[np.sort(pick)])
        labels.append(f"real: {answer}")
    table = pd.DataFrame(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "answer_boost.csv", index=False, float_format="%.4g")
    columns = ["answer", "weight", "gain", "unet_passes_per_step", "frechet_over_floor", "diversity", "consistency"]
    columns += [c for c in ("axis_ratio_gen", "axis_ratio_real", "axis_ratio_w1", "axis_ratio_w1_floor") if c in table]
    print(table[columns].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    sheet_image = grid_image(np.stack(sheet), labels).quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    sheet_image.save(args.out / "answer_boost.png", optimize=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
