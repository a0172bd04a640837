"""``python -m galaxysd.discover``: search a catalog for dusty early-type galaxies.

    python -m galaxysd.discover --run RUN --catalog SPEC [--catalog SPEC ...]

Synthesises dusty early types with the run's model, trains a detector on them (plus any
real ones) against real galaxies, scans every galaxy of each catalog through the image
cache and ranks them (:mod:`galaxysd.science.dusty_search` describes the method). Writes into
``RUN/discover/``:

``candidates.csv``  the ``--top`` best-ranked galaxies of each catalog: ``catalog`` (spec),
    ``id``, ``ra``, ``dec`` (degrees, empty when unknown), ``score`` (the synthetic-augmented
    detector's probability; when the training pool has 7 or more real positives, the mean of
    its and the real-only detector's, ``ranked_by: combined`` in the summary;
    :mod:`galaxysd.science.search_ranking`),
    ``rank`` (1 = best, within the catalog), ``known`` (the catalog already labels a dust
    lane: cumulative dust-lane fraction >= 0.5), ``known_dusty_early_type`` (cumulative smooth
    and dust-lane fractions both >= 0.5), ``cumulative_smooth``, ``cumulative_dust_lane``
    (the answer's fraction times its parent path's; empty when the catalog cannot tell), the
    catalog's 37 Hart16 vote-fraction columns (``t01_smooth_or_features_a01_smooth_debiased``
    ... ``t08_odd_feature_a38_dust_lane_debiased``; empty where unknown), ``image_path`` (the survey
    image, relative to the project when it lies beside it),
    ``used_in_training`` (a real training example), ``thumb`` (thumbnail under
    ``RUN/discover``, only for non-survey images) and, for the demo survey,
    ``truth_dusty_early_type``;
``summary.json``    per catalog: galaxies scanned, scan rate, the ranking detector, training-set sizes, galaxies
    whose catalog has dust-lane votes at all, known dust lanes and dusty early types,
    candidates above ``--threshold`` and how many are new (not a known dust lane);
``demo_eval.json``  per catalog with a truth column: recall and precision at the top K on the
    held-out galaxies for the augmented detector, the real-positives-only detector, their
    combination and chance (``ranked_by`` in the summary names the ranking);
    under ``few_real_positives`` the same for detectors given 0, 3 or 7 real positives
    (``--few-positives``), mean over draws;
``thumbs/``         synthetic training images (``synthetic_<survey>.png``) and thumbnails of
    the top candidates of non-survey catalogs. Real survey images are never copied: they are
    referenced by ``image_path`` and ``ra``/``dec``;
``parts/``          synthetic sets, detectors and scan chunks: a killed search resumes and
    gives the same ranking; ``--fresh`` discards them.

Run under ``accelerate launch`` to shard the scan over processes (GPUs or hosts).
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import shutil
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from accelerate import PartialState
from PIL import Image

from galaxysd.atomic_files import write_csv, write_json
from galaxysd.cli import (
    JobParser,
    add_fill_open_questions_option,
    add_job_options,
    add_synthesis_options,
    comma_numbers,
    open_run,
    run_cli,
)
from galaxysd.data.survey_cache import is_real_survey, open_survey, run_image_size
from galaxysd.evaluation.results_tables import FEW_POSITIVES_KEY  # the key its README table reads
from galaxysd.grids import save_grid
from galaxysd.runs import DEFAULT_CACHE_ROOT, REPO_ROOT, RunDir
from galaxysd.science.catalog_search import DETECTOR, REAL_ONLY, CatalogSearch
from galaxysd.science.dusty_search import (
    DEFAULT_PROMPTS,
    MIN_REAL_POSITIVES,
    NO_POSITIVE_PROMPTS,
    TRUTH_COLUMN,
    SearchSettings,
    candidate_table,
    evaluate_ranking,
)
from galaxysd.science.few_positives import DEFAULT_BUDGETS, DEFAULT_DRAWS, few_positive_study
from galaxysd.science.scan import DEFAULT_BATCH, DEFAULT_CHUNK
from galaxysd.science.synthetic_sets import ImageGenerator, SynthesisSettings, lazy_generator, load_run_generator

log = logging.getLogger(__name__)


def portable_path(path: str) -> str:
    """A path beside the project (``../shared/data/...``) relative to it, others unchanged."""
    if not path:
        return path
    resolved = Path(os.path.abspath(path))  # keep symlinked ../shared as written
    if resolved.is_relative_to(REPO_ROOT.parent):
        return os.path.relpath(resolved, REPO_ROOT)
    return str(path)


def _thumbnails(search: CatalogSearch, table: pd.DataFrame, count: int, out: Path) -> pd.Series:
    """Thumbnails of the top ``count`` of a non-survey catalog; the ``thumb`` column."""
    thumbs = pd.Series("", index=table.index, dtype=object)
    if is_real_survey(search.cache) or count <= 0:
        return thumbs
    folder = out / "thumbs" / re.sub(r"[^A-Za-z0-9]+", "-", search.spec).strip("-")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    position = {str(i): n for n, i in enumerate(search.cache.catalog["id"].astype(str))}

    for index in table.index[:count]:
        name = f"rank_{int(table.at[index, 'rank']):05d}.png"
        pixels = search.cache[position[table.at[index, "id"]]]
        tmp = folder / f".{name}.tmp"
        Image.fromarray(np.asarray(pixels)).save(tmp, format="PNG")
        os.replace(tmp, folder / name)
        thumbs[index] = str((folder / name).relative_to(out))
    return thumbs


def _synthetic_sheet(search: CatalogSearch, out: Path, columns: int = 8) -> None:
    images = search.synthetic.positives[: columns * 4]
    rows = len(images) // columns
    if rows:
        save_grid(
            images[: rows * columns].reshape(rows, columns, *images.shape[1:]),
            out / "thumbs" / f"synthetic_{search.domain}.png",
        )


def discover(
    run_dir: str | Path,
    catalogs: Sequence[str],
    settings: SearchSettings | None = None,
    cache_root: str | Path = DEFAULT_CACHE_ROOT,
    workers: int = 2,
    generator: ImageGenerator | None = None,
    image_size: int | None = None,
    top: int = 1000,
    thumbnails: int = 48,
    threshold: float = 0.5,
    scan_batch: int = DEFAULT_BATCH,
    scan_chunk: int = DEFAULT_CHUNK,
    few_positives: Sequence[int] = DEFAULT_BUDGETS,
    few_positive_draws: int = DEFAULT_DRAWS,
    progress: bool = True,
) -> dict | None:
    """Search every catalog and write ``RUN/discover/`` (see the module docstring).

    On a catalog with a truth, ``few_positives`` budgets of real positives (none: skip) are
    studied too (:mod:`galaxysd.science.few_positives`, ``few_positive_draws`` draws each).
    Returns ``{"summary": ..., "demo_eval": ...}`` on the main process, ``None`` on others.
    """
    state = PartialState()
    run, settings = RunDir(Path(run_dir)), settings or SearchSettings()
    if not catalogs:
        raise ValueError("name at least one catalog to search (--catalog KIND:PATH)")
    size = image_size or run_image_size(run)
    generator = generator or lazy_generator(lambda: load_run_generator(run.model_dir, settings.synthesis))
    out = run.discover_dir
    tables, summaries, evaluations = [], {}, {}
    for spec in catalogs:
        with state.main_process_first():
            cache = open_survey(spec, size, cache_root, workers, progress and state.is_main_process)
        search = CatalogSearch(run, spec, cache, settings, generator, progress and state.is_main_process)
        if state.is_main_process:
            search.prepare()
        state.wait_for_everyone()
        scans = search.scan_all(scan_batch, scan_chunk)
        if not state.is_main_process:
            continue
        scores = search.ranking_scores(scans)
        ranked_by = search.ranked_by
        ranked = candidate_table(cache.catalog, scores[ranked_by], search.sets)
        summaries[spec] = search.summarize(ranked, scans[DETECTOR].galaxies_per_s, threshold) | {"ranked_by": ranked_by}
        table = ranked.head(top).copy()
        table["image_path"] = table["image_path"].map(portable_path)
        table["thumb"] = _thumbnails(search, table, thumbnails, out)
        table.insert(0, "catalog", spec)
        tables.append(table)
        _synthetic_sheet(search, out)
        if search.has_truth:
            held_out = ~search.sets.pool
            evaluations[spec] = evaluate_ranking(cache.catalog[TRUTH_COLUMN].astype(bool).to_numpy(), scores, held_out)
            if few_positives:
                evaluations[spec][FEW_POSITIVES_KEY] = few_positive_study(
                    cache.images,
                    cache.catalog[TRUTH_COLUMN].astype(bool).to_numpy(),
                    search.sets,
                    search.synthetic_for,
                    settings,
                    search.work / "few-positives",
                    few_positives,
                    few_positive_draws,
                    progress,
                )
            if REAL_ONLY not in scans:
                evaluations[spec]["detectors"][REAL_ONLY] = (
                    f"not trained: {len(search.sets.positives)} real positives in the training pool "
                    f"(needs {MIN_REAL_POSITIVES})"
                )
    if not state.is_main_process:
        return None
    write_csv(out / "candidates.csv", pd.concat(tables, ignore_index=True))
    write_json(out / "summary.json", summaries)
    if evaluations:
        write_json(out / "demo_eval.json", evaluations)
    return {"summary": summaries, "demo_eval": evaluations}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line (``ValueError`` on bad usage)."""
    d, syn = SearchSettings(), SynthesisSettings()
    p = JobParser(prog="python -m galaxysd.discover", description=__doc__.split("\n\n")[0])
    p.add_argument("--run", required=True, metavar="DIR", help="run directory (its model synthesises)")
    p.add_argument(
        "--catalog",
        action="append",
        default=[],
        metavar="SPEC",
        required=True,
        help="catalog to scan, KIND:PATH, e.g. gz2:../shared/data/gz2-sample (repeatable)",
    )
    for flag, prompts, role in (
        ("--prompt", DEFAULT_PROMPTS, "for detectors with real positives (given alone, for all)"),
        ("--prompt-without-positives", NO_POSITIVE_PROMPTS, "for detectors with no real positive"),
    ):
        p.add_argument(
            flag,
            action="append",
            metavar="TEXT",
            help=f"synthesis prompt without the survey tag, {role}; repeatable (default: "
            + " and ".join(repr(x) for x in prompts)
            + ")",
        )
    p.add_argument(
        "--n-synthetic",
        type=int,
        default=d.n_synthetic,
        help="synthetic dusty early types, shared by the prompts (default %(default)s)",
    )
    p.add_argument(
        "--n-synthetic-negatives",
        type=int,
        default=d.n_synthetic_negatives,
        help="synthetic galaxies prompted like real negatives, added as negatives so "
        "that looking synthetic is no cue (default %(default)s)",
    )
    p.add_argument(
        "--max-negatives",
        type=int,
        default=d.max_negatives,
        help="real negatives the detector trains on (default %(default)s)",
    )
    p.add_argument(
        "--holdout",
        type=float,
        default=d.holdout,
        help="share of the catalog never used for training (default %(default)s)",
    )
    p.add_argument("--epochs", type=int, default=d.epochs, help="detector epochs (default %(default)s)")
    p.add_argument(
        "--detector-size",
        type=int,
        default=d.detector_size,
        help="image side the detector sees, px (default %(default)s)",
    )
    p.add_argument(
        "--real-positive-share",
        type=float,
        default=d.real_positive_share,
        help="share of the positives' training weight carried by the real ones when real and synthetic "
        "positives mix (default %(default)s)",
    )
    p.add_argument("--seed", type=int, default=d.seed, help="seed of sets and detector (default %(default)s)")
    add_synthesis_options(p, syn.steps, syn.guidance, syn.sampler, syn.tag_guidance)
    add_fill_open_questions_option(p)
    p.add_argument("--top", type=int, default=1000, help="candidates per catalog in the CSV (default %(default)s)")
    p.add_argument(
        "--thumbnails",
        type=int,
        default=48,
        help="thumbnails of top candidates of non-survey catalogs (default %(default)s)",
    )
    p.add_argument(
        "--threshold",
        type=float,
        default=0.5,
        help="score from which a galaxy counts as a candidate in the summary (default %(default)s)",
    )
    p.add_argument(
        "--scan-batch", type=int, default=DEFAULT_BATCH, help="galaxies per forward pass (default %(default)s)"
    )
    p.add_argument(
        "--few-positives",
        type=comma_numbers(int, minimum=0),
        default=DEFAULT_BUDGETS,
        metavar="K1,K2,...",
        help="real-positive budgets studied on catalogs with a truth ('' to skip; default 0,3,7)",
    )
    p.add_argument(
        "--few-positive-draws",
        type=int,
        default=DEFAULT_DRAWS,
        help="random draws of real positives per budget (default %(default)s)",
    )
    add_job_options(p, "discover")
    return p.parse_args(argv)


def search_settings(args: argparse.Namespace) -> SearchSettings:
    """The search's settings from :func:`parse_args`' namespace."""
    return SearchSettings(
        prompts=tuple(args.prompt or DEFAULT_PROMPTS),
        prompts_without_positives=tuple(args.prompt_without_positives or args.prompt or NO_POSITIVE_PROMPTS),
        n_synthetic=args.n_synthetic,
        n_synthetic_negatives=args.n_synthetic_negatives,
        max_negatives=args.max_negatives,
        holdout=args.holdout,
        epochs=args.epochs,
        detector_size=args.detector_size,
        real_positive_share=args.real_positive_share,
        seed=args.seed,
        device=args.device,
        synthesis=SynthesisSettings(
            steps=args.steps,
            guidance=args.guidance,
            sampler=args.sampler,
            tag_guidance=args.tag_guidance,
            fill_open_questions=args.fill_open_questions,
        ),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    def body() -> str:
        args = parse_args(argv)
        run = open_run(args, "discover")
        settings = search_settings(args)
        result = discover(
            run.path,
            args.catalog,
            settings,
            args.cache_dir,
            args.workers,
            top=args.top,
            thumbnails=args.thumbnails,
            threshold=args.threshold,
            scan_batch=args.scan_batch,
            few_positives=args.few_positives,
            few_positive_draws=args.few_positive_draws,
            progress=not args.quiet,
        )
        if result is None:
            return ""
        lines = [
            f"{spec}: {s['galaxies']} galaxies scanned at {s['scan_galaxies_per_s']:.0f}/s; "
            f"{s['candidates']} candidates >= {s['threshold']}, {s['candidates_new']} new "
            f"({s['known_dusty_early_types']} dusty early types known)"
            for spec, s in result["summary"].items()
        ]
        return "\n".join(lines + [f"wrote {run.discover_dir / 'candidates.csv'}"])

    return run_cli(body)
