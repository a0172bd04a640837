"""Score design-study candidates on held-out real GZ1 galaxies of the standard SDSS look.

    python benchmarks/design_study.py runs/study-a runs/study-b runs/study-c --threads 1

Per run (its ``model/`` and ``train_log.jsonl``):

1. training: parameters, steps, images seen, mean training images/s;
2. per prompt (:data:`PROMPTS`, 32 images, fixed seeds): Fréchet distance in the shipped
   judge's feature space to held-out GZ1 galaxies of the prompt's morphology (the GZ1-known
   tags among its required ones), the real floor (a real subset as large as the generated
   set against the disjoint rest, :func:`galaxysd.evaluation.metrics.split_frechet`), diversity
   relative to real, judge consistency on trusted tags only (held-out AUC >= 0.8), and the
   central colour's distribution (:func:`galaxysd.evaluation.physical.central_colour`);
3. tag response (:data:`RESPONSE_TAGS`): the tag's slider at 0 and at 1.5 on a base prompt
   (survey tag plus the tag's parent answers) at 16 paired seeds: mean change of the judge's
   probability of the tag with a 95% bootstrap interval, the mean absolute pixel change over
   the mean seed-to-seed pixel difference, and for shape tags the change of ellipticity.

Writes ``benchmarks/design_study.csv`` and one sheet per run,
``benchmarks/design_study_<name>.png``: for each prompt a row of 8 generated galaxies above a
row of 8 real held-out galaxies of that morphology.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from design_study_tables import print_tables  # noqa: E402  (beside this script)
from held_out import MIN_REAL, HeldOut, axis_ratios  # noqa: E402  (beside this script)

from galaxysd import morphology  # noqa: E402
from galaxysd.evaluation.judge import Judge  # noqa: E402
from galaxysd.evaluation.judge_trust import trusted_tags  # noqa: E402
from galaxysd.evaluation.metrics import consistency  # noqa: E402
from galaxysd.evaluation.physical import central_colour  # noqa: E402
from galaxysd.evaluation.prompts import PromptSpec  # noqa: E402
from galaxysd.evaluation.tag_response import ResponseSettings, base_weights, tag_response  # noqa: E402
from galaxysd.grids import grid_image  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
HOLDOUT_SPEC = "gz1:../shared/data/gz1-sdss?split=holdout"
JUDGE_DIR = REPO / "assets" / "default-run" / "eval" / "judge"
SEED_BLOCK = 100_000  # --seed s samples from seeds s * SEED_BLOCK on: disjoint sets per --seed
SHEET_COLUMNS = 8
PROMPTS: tuple[PromptSpec, ...] = tuple(
    PromptSpec(k, label, text)
    for k, label, text in (
        ("smooth", "smooth", "sdss, smooth"),
        ("spiral", "spiral", "sdss, spiral galaxy"),
        ("edge-on", "edge-on", "sdss, edge-on galaxy"),
        ("round", "smooth round", "sdss, smooth, completely round galaxy"),
        ("in-between", "smooth in-between", "sdss, smooth, in-between round galaxy"),
        ("cigar", "smooth cigar", "sdss, smooth, cigar-shaped galaxy"),
        (
            "bar",
            "barred spiral",
            "sdss, features or disk-shaped, spiral galaxy, bar-shaped structure in the galaxy center",
        ),
        ("dust", "smooth + dust lane", "sdss, smooth, {dust lane:1.3}"),
    )
)
RESPONSE_TAGS = (
    "bar-shaped structure in the galaxy center",
    "cigar-shaped galaxy",
    "edge-on galaxy",
    "spiral galaxy",
    "merger",
    "dust lane",
)
SHAPE_TAGS = ("cigar-shaped galaxy", "edge-on galaxy")  # ellipticity should rise
# axis ratios compared with real; for smooth they show its mix of round, in-between and cigar-shaped
SHAPE_PROMPTS = ("smooth", "edge-on", "round", "in-between", "cigar")


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+", type=Path, help="run directories with model/ and train_log.jsonl")
    p.add_argument("--names", nargs="*", help="names for the runs (default: folder names)")
    p.add_argument("--judge", type=Path, default=JUDGE_DIR)
    p.add_argument("--holdout", default=HOLDOUT_SPEC, help="catalog spec of the held-out real galaxies")
    p.add_argument("--cache-dir", type=Path, default=REPO / ".data" / "cache")
    p.add_argument("--n", type=int, default=32, help="images per prompt")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--guidance", type=float, default=3.0)
    p.add_argument("--sampler", default="dpmpp_sde")
    p.add_argument(
        "--seed",
        type=int,
        default=1000,
        help="seed set: prompt i draws seeds SEED*100000 + 100*i onwards, so two --seed values give disjoint "
        "galaxies (before 2026-12-07 --seed 1 drew seeds 1-96, 95 of them shared with --seed 0)",
    )
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=HERE, help="folder for design_study.csv and the sheets")
    p.add_argument(
        "--with-parents",
        action="store_true",
        help="write each prompt's missing parent answers into it (generation adds them anyway, unless --as-typed)",
    )
    p.add_argument(
        "--as-typed",
        action="store_true",
        help="generate the prompts without the parent answers they leave out (complete_tree=False), as every "
        "'leaf' row of design_study_sdss_share.csv before 2026-12-07 was measured",
    )
    p.add_argument(
        "--fill-open-questions",
        action="store_true",
        help="answer the questions a prompt leaves open as real training galaxies do (the run's answer_prior.csv)",
    )
    p.add_argument(
        "--tag-guidance",
        type=float,
        default=0.0,
        help="weights above 1 (the sliders' 1.5, the dust prompt's 1.3) as guidance along the answer (the app's "
        "default is 1); the default 0 extrapolates the embedding,"
        " as every row of design_study_sdss_share.csv was measured",
    )
    args = p.parse_args(argv)
    args.prompts = PROMPTS
    if args.with_parents:  # the answers above each prompt's answers in the tree
        args.prompts = tuple(
            PromptSpec(s.key, s.label, morphology.format_prompt(morphology.with_parents(s.weights))) for s in PROMPTS
        )
    return args


# ------------------------------------------------------------------ one run
def training_summary(run: Path, pipe) -> dict:
    """Parameters, steps, images seen and mean images/s of a run (from its log and config)."""
    import yaml

    log = [json.loads(line) for line in (run / "train_log.jsonl").read_text().splitlines() if line.strip()]
    config = yaml.safe_load((run / "config.yaml").read_text())
    rates = [r["images_per_s"] for r in log[1:]] or [r["images_per_s"] for r in log]
    params = sum(p.numel() for m in (pipe.unet, pipe.tag_encoder) for p in m.parameters())
    steps = int(config.get("steps") or log[-1]["step"])
    return {
        "model": config["model"] if isinstance(config["model"], str) else "custom",
        "params_m": round(params / 1e6, 2),
        "steps": steps,
        "images_seen": steps * int(config["batch_size"]),
        "images_per_s": round(float(np.mean(rates)), 1),
        "train_wall_min": round(float(config.get("wall_s", log[-1]["elapsed_s"])) / 60, 1),
        "final_loss_mean_last_100": round(float(np.mean([r["loss"] for r in log[-5:]])), 4),
    }


def generate(pipe, text_or_weights, n: int, seed: int, args) -> np.ndarray:
    """``n`` images of one prompt at seeds ``seed..seed+n-1``."""
    return pipe(
        text_or_weights,
        num_images=n,
        seed=seed,
        steps=args.steps,
        guidance_scale=args.guidance,
        sampler=args.sampler,
        tag_guidance=args.tag_guidance,
        complete_tree=not args.as_typed,
        fill_open_questions=args.fill_open_questions,
    ).arrays


def w1_finite(a: np.ndarray, b: np.ndarray) -> float:
    """Wasserstein-1 distance between the finite values of two samples."""
    from scipy.stats import wasserstein_distance

    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    return float(wasserstein_distance(a, b)) if len(a) and len(b) else float("nan")


def shape_and_arms(spec: PromptSpec, images, gen_probs, held: HeldOut, real_rows, seed: int) -> dict:
    """For shape prompts, the measured axis-ratio distribution against the real one (W1 and its
    real-vs-real floor); for every prompt the central colour (W1, share bluer than B - G = 0);
    for spiral prompts, the judge's median p(spiral) against real spirals'."""
    out = {}
    if spec.key in SHAPE_PROMPTS:
        real = held.axis_ratio(real_rows)
        generated = axis_ratios(images)
        rng = np.random.default_rng(seed)
        floors = [
            w1_finite(real[pick[: len(generated)]], real[pick[len(generated) :]])
            for pick in (rng.permutation(len(real)) for _ in range(5))
        ]
        out.update(
            axis_ratio_gen=float(np.nanmedian(generated)),
            axis_ratio_real=float(np.nanmedian(real)),
            axis_ratio_w1=w1_finite(generated, real),
            axis_ratio_w1_floor=float(np.mean(floors)),
        )
    colour_gen, colour_real = central_colour(images), central_colour(held.images[real_rows])
    out.update(  # the blue tail: share of galaxies bluer than B - G = 0 in their centre
        colour_w1=w1_finite(colour_gen, colour_real),
        blue_share_gen=float((colour_gen < 0).mean()),
        blue_share_real=float((colour_real < 0).mean()),
    )
    if "spiral galaxy" in spec.required_tags and "spiral galaxy" in gen_probs:
        out.update(
            p_spiral_gen_median=float(gen_probs["spiral galaxy"].median()),
            p_spiral_real_median=float(held.probabilities["spiral galaxy"].iloc[real_rows].median()),
        )
    return out


def score_prompts(pipe, judge: Judge, held: HeldOut, trusted: set[str], args) -> tuple[list[dict], list]:
    """Per-prompt metrics and the sheet rows (generated above real)."""
    rows, sheet = [], []
    for i, spec in enumerate(args.prompts):
        images = generate(pipe, spec.text, args.n, args.seed * SEED_BLOCK + 100 * i, args)
        scores, gen_probs, real_rows, judged = held.score(images, spec, judge, trusted, args.seed)
        judged_real = [t for t in judged if t in held.reference_tags(spec)]
        real_consistency = consistency(judge.presence(held.probabilities.iloc[real_rows], judged_real))
        rows.append(
            {
                "kind": "prompt",
                "key": spec.key,
                "prompt": spec.text,
                "reference": ", ".join(held.reference_tags(spec)),
                "n_real": len(real_rows),
                "frechet": scores["frechet"],
                "frechet_floor": scores["frechet_floor"],
                "frechet_over_floor": scores["frechet"] / scores["frechet_floor"],
                "diversity": scores["diversity"],
                "judged_tags": "; ".join(judged),
                "consistency": scores["consistency"],
                "consistency_real_on_reference_tags": real_consistency,
                **shape_and_arms(spec, images, gen_probs, held, real_rows, args.seed),
            }
        )
        pick = np.random.default_rng(args.seed + i).choice(real_rows, SHEET_COLUMNS, replace=False)
        sheet += [images[:SHEET_COLUMNS], held.images[np.sort(pick)]]
    return rows, sheet


def tag_responses(pipe, judge: Judge, trusted: set[str], args) -> list[dict]:
    """Slider 0 vs 1.5 for each of :data:`RESPONSE_TAGS` (:mod:`galaxysd.evaluation.tag_response`),
    plus the change of ellipticity for shape tags."""
    from galaxysd.evaluation.physical import measure_images
    from galaxysd.evaluation.scoring import pipeline_generator

    settings = ResponseSettings(
        seed=args.seed * SEED_BLOCK + 5000,
        steps=args.steps,
        guidance=args.guidance,
        sampler=args.sampler,
        tag_guidance=args.tag_guidance,
    )
    generate = pipeline_generator(pipe, tag_guidance=args.tag_guidance)
    rows, off_by_base = [], {}  # base prompt -> its images (bar and spiral share one, merger and dust lane too)
    for tag in RESPONSE_TAGS:
        key = morphology.format_prompt(base_weights(tag, "sdss"))
        found, off_by_base[key], on = tag_response(
            generate, judge, tag, "sdss", trusted, settings, off_by_base.get(key)
        )
        row = {
            "kind": "tag",
            "key": tag,
            "prompt": found["prompt"],
            "pixel_change_over_seed_diff": found["pixel_ratio"],
            "judge_trusted": found["judge_trusted"],
            **{k: found[k] for k in ("judge_delta", "judge_delta_low", "judge_delta_high") if k in found},
        }
        if tag in SHAPE_TAGS:
            before = measure_images(off_by_base[key], progress=False)["ellipticity"].to_numpy()
            after = measure_images(on, progress=False)["ellipticity"].to_numpy()
            good = np.isfinite(before) & np.isfinite(after)
            row.update(
                ellipticity_off=float(np.nanmean(before)),
                ellipticity_on=float(np.nanmean(after)),
                ellipticity_delta=float((after - before)[good].mean()) if good.any() else float("nan"),
            )
        rows.append(row)
    return rows


def score_run(run: Path, name: str, judge: Judge, held: HeldOut, trusted: set[str], args) -> list[dict]:
    """All rows of one run, and its sheet written to ``args.out``."""
    from galaxysd.model.fast import SpeedSettings, load_fast_pipeline

    start = time.time()
    pipe = load_fast_pipeline(run / "model", SpeedSettings(threads=args.threads), device="cpu")
    summary = training_summary(run, pipe)
    prompt_rows, sheet = score_prompts(pipe, judge, held, trusted, args)
    tag_rows = tag_responses(pipe, judge, trusted, args)
    labels = [
        f"{name} {part}"
        for spec in args.prompts
        for part in (
            f"generated {spec.label}: {spec.text}",
            f"real held-out GZ1: {', '.join(held.reference_tags(spec))}",
        )
    ]
    grid_image(np.stack(sheet), labels).quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(
        args.out / f"design_study_{name}.png", optimize=True
    )  # a palette PNG: about half the size
    measured = [r for r in prompt_rows if np.isfinite(r["frechet_over_floor"])]
    trusted_deltas = [r["judge_delta"] for r in tag_rows if r.get("judge_trusted") and "judge_delta" in r]
    summary.update(
        kind="summary",
        key="all",
        mean_frechet=float(np.mean([r["frechet"] for r in measured])),
        mean_frechet_over_floor=float(np.mean([r["frechet_over_floor"] for r in measured])),
        mean_diversity=float(np.mean([r["diversity"] for r in measured])),
        mean_consistency=float(np.nanmean([r["consistency"] for r in prompt_rows])),
        mean_judge_delta_trusted=float(np.mean(trusted_deltas)) if trusted_deltas else float("nan"),
        mean_pixel_change_over_seed_diff=float(np.mean([r["pixel_change_over_seed_diff"] for r in tag_rows])),
        score_s=round(time.time() - start, 1),
    )
    return [{"run": name, **r} for r in [summary, *prompt_rows, *tag_rows]]


def main(argv=None) -> int:
    """Score every run, print the tables, write the CSV and sheets."""
    args = parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import torch

    torch.set_num_threads(args.threads)
    names = args.names or [run.name for run in args.runs]
    if len(names) != len(args.runs):
        raise SystemExit("give one name per run")
    args.out.mkdir(parents=True, exist_ok=True)
    judge = Judge.load(args.judge, device="cpu")
    trusted = trusted_tags(judge)
    held = HeldOut(args.holdout, args.cache_dir, judge)
    print(
        f"held-out real galaxies: {len(held.catalog)} ({held.judge_trained} were in the judge's training split); "
        f"trusted judge tags: {len(trusted)} of {len(judge.tags)}"
    )
    for spec in args.prompts:
        n_real = len(held.rows(spec))
        print(
            f"  {spec.key:10s} reference {held.reference_tags(spec)}: {n_real} real"
            + ("" if n_real >= MIN_REAL else f"  (< {MIN_REAL}: Fréchet distance not meaningful)")
        )
    rows = []
    for run, name in zip(args.runs, names):
        rows += score_run(run, name, judge, held, trusted, args)
        print(f"scored {name} in {rows[-len(args.prompts) - len(RESPONSE_TAGS) - 1]['score_s']} s", flush=True)
    table = pd.DataFrame(rows)
    table.to_csv(args.out / "design_study.csv", index=False, float_format="%.4g")
    print_tables(table, [p.key for p in PROMPTS], list(RESPONSE_TAGS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
