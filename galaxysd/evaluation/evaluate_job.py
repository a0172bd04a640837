"""``python -m galaxysd.evaluate``: train the judge, and evaluate a run.

    python -m galaxysd.evaluate judge --cache CACHE [--cache CACHE2] --out RUN/eval/judge
    python -m galaxysd.evaluate --run RUN [--cache CACHE] [--quick]
    python -m galaxysd.evaluate response --run RUN          # does each labelled answer work as a slider
    python -m galaxysd.evaluate judge-check --judge DIR --catalog SPEC   # the judge's standard-look gate

Evaluating a run writes into ``RUN/eval/``:

``metrics.json``     per prompt and averaged: consistency (and the real-image ceiling),
                     Fréchet distance (and the real-vs-real floor), relative diversity;
                     physical statistics' Wasserstein distances; the judge's report;
``curves.csv``       the same feature metrics for each ``RUN/checkpoints/step_*`` (prompt
                     ``all`` = mean over prompts);
``pareto.csv``       a guidance x steps x sampler sweep per prompt, with the non-dominated
                     points of realism vs. diversity and vs. consistency marked;
``physical.csv``, ``histograms.csv``, ``histograms.json``   statmorph statistics per image
                     and binned real vs. generated;
``samples/KEY.png``  real images of the prompt's morphology (first row) above generated
                     ones; ``samples/overview.png`` one row per prompt.

The real reference images are ``--cache`` or, by default, the caches named in the run's
``config.yaml``. The judge defaults to ``RUN/eval/judge``; when it is missing it is trained
there first on those real images. Work in progress is kept under ``eval/parts/``: a killed
evaluation resumes where it stopped, and changed settings, prompts, data, model or judge
start afresh.
"""

from __future__ import annotations

import argparse
import json
import shutil
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import yaml
from safetensors.torch import load_file

from galaxysd.cli import JobParser, comma_numbers, run_cli
from galaxysd.data.cache import ImageCache, cache_folder
from galaxysd.evaluation import response_job
from galaxysd.evaluation.judge import ImageSet, Judge, JudgeConfig, train_judge
from galaxysd.evaluation.prompts import PAPER_PROMPTS, PromptSpec, load_prompt_file, with_domain
from galaxysd.evaluation.run_evaluation import PARTS, EvalSettings, RunEvaluation, check_parts
from galaxysd.evaluation.scoring import Generator, pipeline_generator
from galaxysd.model.saving import load_pipeline
from galaxysd.model.tag_guidance import DEFAULT_TAG_GUIDANCE
from galaxysd.training.checkpoints import ema_weights_into
from galaxysd.training.config import real_image_sources


def load_generator(folder: Path, tag_guidance: float = DEFAULT_TAG_GUIDANCE) -> Generator:
    """A generator from a saved pipeline folder (``RUN/model``) or a training checkpoint.

    A checkpoint (``RUN/checkpoints/step_N`` with ``ema.safetensors``) holds weights only:
    they are loaded, EMA-averaged as the final model is, into the run's ``model/``. Weights
    above 1 are sampled with the answer boost ``tag_guidance``.
    """
    folder = Path(folder)
    if not (folder / "ema.safetensors").is_file():
        return pipeline_generator(load_pipeline(folder), tag_guidance=tag_guidance)

    pipe = load_pipeline(folder.parent.parent / "model")
    ema = load_file(str(folder / "ema.safetensors"))
    names = sorted({key.split(".", 1)[0] for key in ema})
    modules = {name: getattr(pipe, name, None) for name in names}
    missing = [name for name, module in modules.items() if module is None]
    if missing:
        raise ValueError(
            f"checkpoint {folder} has weights for {', '.join(missing)}, which the run's model does not have"
        )
    ema_weights_into(modules, ema)
    return pipeline_generator(pipe, tag_guidance=tag_guidance)


def evaluate_run(
    run_dir: str | Path,
    cache: ImageSet,
    judge: Judge,
    settings: EvalSettings | None = None,
    prompts: Sequence[PromptSpec] = PAPER_PROMPTS,
    load: Callable[[Path], Generator] | None = None,
    parts: Sequence[str] = PARTS,
    judge_dir: Path | None = None,
    progress: bool = True,
    out_dir: Path | None = None,
) -> dict:
    """Evaluate a run directory (see the module docstring for what is written).

    ``load(folder) -> generator`` turns ``RUN/model`` or a checkpoint folder into a
    :data:`~galaxysd.evaluation.scoring.Generator` (default :func:`load_generator` at the settings'
    answer boost); pass a fake for tests. Returns the metrics dict
    (empty when ``"metrics"`` is not among ``parts``). Results go to ``out_dir`` (default
    ``RUN/eval``), e.g. ``RUN/eval/demo`` for the same prompts in another survey's look.
    """
    check_parts(parts)
    settings = settings or EvalSettings()
    load = load or partial(load_generator, tag_guidance=settings.tag_guidance)
    evaluation = RunEvaluation(Path(run_dir), cache, judge, judge_dir, settings, prompts, load, progress, out_dir)
    metrics = evaluation.evaluate_metrics() if "metrics" in parts else {}
    if "curves" in parts:
        evaluation.evaluate_curves()
    if "pareto" in parts:
        evaluation.evaluate_pareto()
    return metrics


def _names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line (``ValueError`` on bad usage)."""
    parser = JobParser(
        prog="python -m galaxysd.evaluate",
        description="Evaluate a run (--run RUN), or train the judge (judge --cache CACHE --out DIR).",
    )
    parser.add_argument("--run", metavar="DIR", help="run directory to evaluate")
    parser.add_argument(
        "--cache",
        metavar="DIR",
        help="image cache of real galaxies, the reference for every metric "
        "(default: the caches the run was trained on)",
    )
    parser.add_argument(
        "--judge", metavar="DIR", help="trained judge (default RUN/eval/judge, trained on the real images if missing)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="few images and a 2x2 sweep (smoke test, minutes on a CPU)"
    )
    parser.add_argument(
        "--parts", default=",".join(PARTS), help=f"comma-separated parts to run (default {','.join(PARTS)})"
    )
    parser.add_argument(
        "--prompts", metavar="FILE", help="prompt file, one 'KEY = prompt' per line (default: the A-P set)"
    )
    parser.add_argument(
        "--domain",
        help="survey tag to put in every prompt, e.g. demo (default: "
        "that of the run's first data source; with --cache: "
        "the prompts' own)",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        help="folder for the results (default RUN/eval; e.g. RUN/eval/demo with --domain demo, "
        "so that the run's own results stay)",
    )
    parser.add_argument(
        "--n-images", type=int, help="generated images per prompt (default 96; 16 are too few for diversity)"
    )
    parser.add_argument("--steps", type=int, help="sampling steps (default 20)")
    parser.add_argument("--guidance", type=float, help="guidance scale (default 3.0)")
    parser.add_argument("--sampler", help="sampler: dpmpp (default), dpmpp_sde, euler_a, ddim, ddpm")
    parser.add_argument("--seed", type=int, help="first seed (default 0)")
    parser.add_argument(
        "--tag-guidance",
        type=float,
        help=f"answer boost for weights above 1, recorded in every part's settings (default {DEFAULT_TAG_GUIDANCE:g})",
    )
    parser.add_argument(
        "--pareto-guidance",
        type=comma_numbers(float),
        metavar="G1,G2,...",
        help="guidance scales of the sweep (default 1,2,3,5,7.5)",
    )
    parser.add_argument(
        "--pareto-steps",
        type=comma_numbers(int),
        metavar="S1,S2,...",
        help="step counts of the sweep (default 10,20,40)",
    )
    parser.add_argument(
        "--pareto-samplers",
        type=_names,
        metavar="NAME,...",
        help="samplers of the sweep (default dpmpp,dpmpp_sde,euler_a)",
    )
    parser.add_argument(
        "--fresh", action="store_true", help="discard unfinished and earlier work under RUN/eval/parts first"
    )
    jobs = parser.add_subparsers(dest="job", metavar="{judge,response,judge-check}")
    judge = jobs.add_parser(
        "judge",
        help="train the judge on real images",
        description="Train the tag-presence judge on a real-image cache and write it with its held-out report.",
    )
    judge.add_argument(
        "--cache", required=True, action="append", metavar="DIR", help="real-image cache; repeat to train on several"
    )
    judge.add_argument("--out", required=True, metavar="DIR", help="folder for the judge")
    judge.add_argument("--epochs", type=int, default=JudgeConfig.epochs, help="training epochs (default %(default)s)")
    judge.add_argument("--max-images", type=int, help="train on a random subset this large")
    judge.add_argument(
        "--min-examples",
        type=int,
        default=JudgeConfig.min_examples,
        help="labelled positives and negatives a tag needs (default %(default)s)",
    )
    judge.add_argument(
        "--hard-targets", action="store_true", help="train on cumulative fraction >= 0.5 instead of the fractions"
    )
    judge.add_argument("--seed", type=int, default=0, help="seed of the split and training")
    judge.add_argument(
        "--look-augment",
        action="store_true",
        help="train indifferent to the look: random colour, stretch, grey, blur, noise and zoom",
    )
    judge.add_argument("--force", action="store_true", help="retrain over an existing judge")
    response_job.add_parsers(jobs)
    args = parser.parse_args(argv)
    if args.job == "response":
        response_job.fill_response_defaults(args)
    if args.job is None and not args.run:
        raise ValueError(f"give --run DIR to evaluate a run, or the judge job (see {parser.prog} --help)")
    return args


@dataclass
class ImageArrays:
    """Images in memory with their catalog (several caches combined)."""

    images: np.ndarray
    catalog: pd.DataFrame
    meta: dict


def run_training_images(run_dir: Path, domain: str | None = None) -> tuple[ImageSet, str]:
    """The real images a run was trained on, from the caches its ``config.yaml`` names.

    Only sources of one survey domain are used (``domain``, or the first source's), since
    the evaluation prompts carry one survey tag; simulated sources are left out
    (:func:`galaxysd.training.config.real_image_sources`). Returns the images and that domain.
    """
    config_path = run_dir / "config.yaml"
    if not config_path.is_file():
        raise ValueError(f"{run_dir} has no config.yaml naming its data; give --cache DIR")
    config = yaml.safe_load(config_path.read_text()) or {}
    sources = real_image_sources(config.get("data") or [])
    if not sources:
        raise ValueError(f"{config_path} names no real training data (simulated ones do not count); give --cache DIR")
    domain = domain or sources[0].domain
    index = json.loads((run_dir / "model" / "model_index.json").read_text())
    size = int(index.get("image_size", 64))
    folders = [
        cache_folder(Path(config.get("cache_dir", ".data/cache")), source.catalog, size)
        for source in sources
        if source.domain == domain
    ]
    if not folders:
        raise ValueError(f"the run has no training data of domain {domain!r}")
    return open_caches(folders), domain


def open_caches(folders: Sequence[str | Path]) -> ImageSet:
    """Open one image cache, or several combined in memory (rows in the given order)."""
    caches = [ImageCache.open(folder) for folder in folders]
    if len(caches) == 1:
        return caches[0]
    return ImageArrays(
        images=np.concatenate([c.batch(np.arange(len(c))) for c in caches]),
        catalog=pd.concat([c.catalog for c in caches], ignore_index=True),
        meta={"fingerprint": [c.meta.get("fingerprint") for c in caches]},
    )


def _train_and_save(cache: ImageSet, config: JudgeConfig, out: Path) -> Judge:
    judge = train_judge(cache, config)
    judge.save(out)
    report = judge.report
    print(
        f"judge with {len(judge.tags)} tags saved in {out}; held-out means: accuracy "
        f"{report['mean_accuracy']:.3f}, balanced accuracy "
        f"{report['mean_balanced_accuracy']:.3f}, AUC {report['mean_auc']:.3f}"
    )
    for tag, row in report["per_tag"].items():
        print(
            f"  {tag:42s} accuracy {row['accuracy']:.3f}  balanced {row['balanced_accuracy']:.3f}"
            f"  AUC {row['auc']:.3f}  ({row['n_test_positive']}/{row['n_test']} positive)"
        )
    for source, part in report.get("per_source", {}).items():
        print(f"  held-out {source} galaxies ({part['n_test']}): mean AUC {part['mean_auc']:.3f}")
    return judge


def run_judge_job(args: argparse.Namespace) -> None:
    """The ``judge`` job: train and save a judge."""
    out = Path(args.out)
    if (out / "model.safetensors").is_file() and not args.force:
        print(f"a judge is already trained in {out}; --force retrains it")
        return
    config = JudgeConfig(
        epochs=args.epochs,
        max_images=args.max_images,
        seed=args.seed,
        min_examples=args.min_examples,
        soft_targets=not args.hard_targets,
        look_augment=args.look_augment,
    )
    _train_and_save(open_caches(args.cache), config, out)


def _settings(args: argparse.Namespace) -> EvalSettings:
    settings = EvalSettings.quick() if args.quick else EvalSettings()
    names = (
        "n_images",
        "steps",
        "guidance",
        "sampler",
        "seed",
        "tag_guidance",
        "pareto_guidance",
        "pareto_steps",
        "pareto_samplers",
    )
    chosen = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    return replace(settings, **chosen)


def run_evaluation_job(args: argparse.Namespace) -> None:
    """Evaluate ``--run``."""
    run_dir = Path(args.run)
    if not (run_dir / "model").is_dir():
        raise ValueError(f"{run_dir} is not a run directory (no model/ folder)")
    parts = check_parts([p.strip() for p in args.parts.split(",") if p.strip()])
    out_dir = Path(args.out) if args.out else run_dir / "eval"
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"--out {out_dir} is a file; give a folder for the results")
    settings = _settings(args)
    prompts = load_prompt_file(args.prompts) if args.prompts else PAPER_PROMPTS
    if args.cache:
        cache, domain = open_caches([args.cache]), args.domain
    else:
        cache, domain = run_training_images(run_dir, args.domain)
    if domain:
        prompts = tuple(with_domain(p, domain) for p in prompts)
    judge_dir = Path(args.judge) if args.judge else run_dir / "eval" / "judge"
    if (judge_dir / "model.safetensors").is_file():
        judge = Judge.load(judge_dir)
    elif args.judge:
        raise ValueError(f"no judge in {judge_dir}")
    else:
        print(f"no judge in {judge_dir}: training one on the real images")
        judge = _train_and_save(cache, JudgeConfig(), judge_dir)
    if args.fresh:
        shutil.rmtree(out_dir / "parts", ignore_errors=True)
    metrics = evaluate_run(run_dir, cache, judge, settings, prompts, parts=parts, judge_dir=judge_dir, out_dir=out_dir)
    if metrics:
        mean = {k: "n/a" if v is None else f"{v:.3g}" for k, v in metrics["summary"].items()}
        print(
            f"mean over prompts: consistency {mean['consistency']} (real images "
            f"{mean['consistency_real']}), Fréchet distance {mean['frechet']} (real-vs-real "
            f"floor {mean['frechet_floor']}), diversity {mean['diversity']} of real"
        )
    print(f"evaluation written to {out_dir}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (1 with one line on stderr for bad input)."""

    def body() -> None:
        args = parse_args(argv)
        jobs = {
            "judge": run_judge_job,
            "response": response_job.run_response_job,
            "judge-check": response_job.run_judge_check_job,
        }
        jobs.get(args.job, run_evaluation_job)(args)

    return run_cli(body, interrupted="run the same command again to resume")
