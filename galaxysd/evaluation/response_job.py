"""``python -m galaxysd.evaluate response`` and ``judge-check``: the slider table and the judge gate.

    python -m galaxysd.evaluate response --run RUN [--domain sdss] [--tags "edge-on galaxy,merger"]
    python -m galaxysd.evaluate judge-check --judge RUN/eval/judge --catalog "gz1:../shared/data/gz1-sdss?split=holdout"

``response`` writes ``RUN/eval/tag_response.csv`` (:mod:`galaxysd.evaluation.tag_response`):
one row per answer the run's training data labels, with the judge's change and its
interval, the pixel change over the seed-to-seed difference, and whether the slider works.
``judge-check`` scores a judge on real galaxies of the standard look that it never saw and
stores the per-answer AUCs in its ``report.json`` (``standard_look``), which the trust gate
(:mod:`galaxysd.evaluation.judge_trust`) then uses.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from galaxysd.atomic_files import write_json
from galaxysd.cli import add_fill_open_questions_option, add_synthesis_options, fill_missing
from galaxysd.data.cache import build_cache, cache_folder
from galaxysd.data.loaders import load_catalog_spec
from galaxysd.evaluation.judge import REPORT_FILE, Judge
from galaxysd.evaluation.judge_trust import TRUSTED_AUC, standard_look_check, trust_basis, trusted_tags
from galaxysd.evaluation.real_gap import real_gaps, with_real_gaps
from galaxysd.evaluation.scoring import pipeline_generator
from galaxysd.evaluation.tag_response import (
    RESPONSE_SEEDS,
    RESPONSE_WEIGHT,
    ResponseSettings,
    labelled_answers,
    response_table,
    write_response_table,
)
from galaxysd.model.fast import load_fast_pipeline
from galaxysd.model.tag_guidance import check_tag_guidance
from galaxysd.morphology import canonical_tag
from galaxysd.runs import resolve_project_path


def add_parsers(jobs) -> None:
    """Add the ``response`` and ``judge-check`` jobs to the evaluate command's subparsers."""
    response = jobs.add_parser(
        "response",
        help="does each labelled answer work as a slider (judge change, pixel change)",
        description="Slider 0 vs 1.5 at paired seeds for every answer the run's data labels; "
        "writes RUN/eval/tag_response.csv.",
    )
    response.add_argument("--run", required=True, metavar="RUN", help="run folder with model/ and data_report.csv")
    response.add_argument("--judge", metavar="DIR", help="judge (default RUN/eval/judge)")
    # --domain, --steps, --guidance, --sampler and --tag-guidance are also the evaluate command's
    # own options: no defaults here, so that one given before the word "response" is kept
    response.add_argument("--domain", default=argparse.SUPPRESS, help="survey tag of the prompts (default sdss)")
    response.add_argument("--tags", help="comma-separated answers (default: every answer the data labels)")
    response.add_argument("--seeds", type=int, default=RESPONSE_SEEDS, help="paired seeds (default %(default)s)")
    response.add_argument("--weight", type=float, default=RESPONSE_WEIGHT, help="slider value (default %(default)s)")
    defaults = ResponseSettings()
    add_synthesis_options(
        response, defaults.steps, defaults.guidance, defaults.sampler, defaults.tag_guidance, inherit=True
    )
    response.add_argument(
        "--real",
        metavar="SPEC",
        help="real galaxies of the standard look the judge never saw (e.g. a held-out split): adds how far "
        "the judge moves between real galaxies without and with each answer (real_delta)",
    )
    add_fill_open_questions_option(response)
    response.add_argument("--cache-dir", default=".data/cache", metavar="DIR", help="where image caches live")
    response.add_argument("--out", metavar="DIR", help="folder for tag_response.csv (default RUN/eval)")
    check = jobs.add_parser(
        "judge-check",
        help="score a judge on real standard-look galaxies it never saw (sets its trust gate)",
        description="Per-answer AUC of a judge on real galaxies, stored in its report.json as standard_look.",
    )
    check.add_argument("--judge", required=True, metavar="DIR", help="judge folder")
    check.add_argument(
        "--catalog", required=True, metavar="SPEC", help="real galaxies of the standard look, e.g. a held-out split"
    )
    check.add_argument("--cache-dir", default=".data/cache", metavar="DIR", help="where image caches live")


def fill_response_defaults(args: argparse.Namespace) -> argparse.Namespace:
    """The ``response`` job's defaults for the options it shares with the evaluate command."""
    defaults = ResponseSettings()
    return fill_missing(
        args,
        domain="sdss",
        steps=defaults.steps,
        guidance=defaults.guidance,
        sampler=defaults.sampler,
        tag_guidance=defaults.tag_guidance,
    )


def _answers(args: argparse.Namespace, run: Path) -> list[str]:
    if args.tags:
        return [canonical_tag(t.strip()) for t in args.tags.split(",") if t.strip()]
    report_path = run / "data_report.csv"
    if not report_path.is_file():
        raise ValueError(f"{run} has no data_report.csv naming what its data labels; give --tags")
    answers = labelled_answers(pd.read_csv(report_path), args.domain)
    if not answers:
        raise ValueError(f"the data report of {run} labels no answer of domain {args.domain!r}")
    return answers


def run_response_job(args: argparse.Namespace) -> None:
    """The ``response`` job."""
    run = Path(args.run)
    if not (run / "model").is_dir():
        raise ValueError(f"{run} is not a run directory (no model/ folder)")
    if args.seeds < 2:
        raise ValueError(f"--seeds must be at least 2, got {args.seeds}")
    answers = _answers(args, run)
    judge_dir = Path(args.judge) if args.judge else run / "eval" / "judge"
    judge = Judge.load(judge_dir) if (judge_dir / "model.safetensors").is_file() else None
    if judge is None:
        print(f"no judge in {judge_dir}: only pixel changes are measured")
    settings = ResponseSettings(
        weight=args.weight,
        seeds=args.seeds,
        steps=args.steps,
        guidance=args.guidance,
        sampler=args.sampler,
        tag_guidance=check_tag_guidance(args.tag_guidance),
        fill_open_questions=args.fill_open_questions,
    )
    generate = pipeline_generator(
        load_fast_pipeline(run / "model"),
        tag_guidance=settings.tag_guidance,
        fill_open_questions=settings.fill_open_questions,
    )
    table = response_table(generate, judge, answers, args.domain, settings)
    if args.real:
        if judge is None:
            raise ValueError("--real needs a judge")
        images, catalog = _real_galaxies(args.real, args.cache_dir, int(judge.classifier.config.image_size))
        table = with_real_gaps(table, real_gaps(judge, images, catalog, answers))
    path = write_response_table(table, Path(args.out) if args.out else run / "eval")
    for row in table.itertuples():
        judged = (
            f"judge {row.judge_delta:+.3f} [{row.judge_delta_low:+.3f}, {row.judge_delta_high:+.3f}]"
            if row.judged
            else "no judge output"
        )
        real = f"  real {row.real_delta:+.3f}" if np.isfinite(getattr(row, "real_delta", np.nan)) else ""
        print(f"{row.tag:42s} {judged:32s} pixels {row.pixel_ratio:.2f}x seeds  {'works' if row.works else 'NO'}{real}")
    print(f"{int(table['works'].sum())} of {len(table)} answers work as sliders; table in {path}")


def _real_galaxies(spec: str, cache_dir: str, size: int) -> tuple[np.ndarray, pd.DataFrame]:
    """Images (cached at ``size`` px) and catalog of the real galaxies of ``spec`` that have an image."""
    catalog = load_catalog_spec(spec)
    catalog = catalog[catalog["image_path"] != ""].reset_index(drop=True)
    if catalog.empty:
        raise ValueError(f"{spec} holds no images")
    cache = build_cache(catalog, cache_folder(resolve_project_path(cache_dir), spec, size), size=size, workers=1)
    return cache.batch(np.arange(len(cache))), cache.catalog


def run_judge_check_job(args: argparse.Namespace) -> None:
    """The ``judge-check`` job."""
    judge_dir = Path(args.judge)
    judge = Judge.load(judge_dir)
    images, catalog = _real_galaxies(args.catalog, args.cache_dir, int(judge.classifier.config.image_size))
    check = standard_look_check(judge, images, catalog)
    check["catalog"] = args.catalog
    report = json.loads((judge_dir / REPORT_FILE).read_text()) if (judge_dir / REPORT_FILE).is_file() else {}
    report["standard_look"] = check
    write_json(judge_dir / REPORT_FILE, report)
    judge.report = report
    basis, _ = trust_basis(report)
    trusted = sorted(trusted_tags(judge))
    for tag, row in check["per_tag"].items():
        auc = "too few" if row["auc"] is None else f"{row['auc']:.3f}"
        print(f"  {tag:42s} AUC {auc:>7s} ({row['n_test_positive']}/{row['n_test']} positive)")
    print(
        f"{check['n_images']} galaxies ({check['n_seen_in_training']} seen in the judge's training); "
        f"trusted (AUC >= {TRUSTED_AUC} on the {basis}): {', '.join(trusted) or 'none'}"
    )
