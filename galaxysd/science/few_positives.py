"""How the dusty early-type search does with few real positives, on a catalog with a truth.

The question of Ma et al. (2026): when a survey has a handful of known dusty early types,
or none, do synthetic ones help? For each budget ``k`` of real positives (default 0, 3 and
7) and each of a few random draws of ``k`` positives from the training pool, two detectors
are trained against the same real negatives: *augmented* (the ``k`` real positives plus the
synthetic set; with ``k = 0`` it has synthetic positives only) and *real only* (the ``k``
real positives alone; not trained below :data:`MIN_REAL_POSITIVES`), and where both exist
*combined*, the mean of their probabilities (:func:`galaxysd.science.dusty_search.combine_scores`;
the search ranks by it from 7 real positives on, :mod:`galaxysd.science.search_ranking`).
The synthetic set follows the budget (``synthetic_for(k)``: the search synthesises with
other prompts when it has no real positive, :meth:`SearchSettings.prompts_for`). With
``k = 0`` there is
nothing to draw, so its draws differ in the detector's training seed instead: one detector
trained on synthetic positives is one sample of a noisy number. Each ranks the held-out
galaxies, scored against the catalog's truth (:func:`evaluate_ranking`). Detectors are saved
under ``work/``, so a killed study resumes.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from tqdm.auto import tqdm

from galaxysd.evaluation.classifier import Classifier
from galaxysd.science.catalog_search import train_and_save
from galaxysd.science.dusty_search import (
    MIN_REAL_POSITIVES,
    SearchSettings,
    SyntheticSet,
    TrainingSets,
    combine_scores,
    evaluate_ranking,
    train_detector,
)
from galaxysd.science.search_ranking import ranking_detector

DEFAULT_BUDGETS: tuple[int, ...] = (0, 3, 7)
DEFAULT_DRAWS = 3
SUMMARY_KEYS = ("recall_at_50", "recall_at_200", "average_precision")


def draw_positives(sets: TrainingSets, k: int, draw: int, seed: int) -> TrainingSets:
    """``sets`` with ``k`` of its real positives, drawn at random (seeded by draw and k)."""
    if k > len(sets.positives):
        raise ValueError(f"cannot draw {k} real positives from {len(sets.positives)} in the training pool")
    rng = np.random.default_rng([seed, 17, k, draw])
    chosen = np.sort(rng.choice(sets.positives, k, replace=False)) if k else np.zeros(0, np.int64)
    return replace(sets, positives=chosen)


def few_positive_study(
    images: np.ndarray,
    truth: np.ndarray,
    sets: TrainingSets,
    synthetic_for: Callable[[int], SyntheticSet],
    settings: SearchSettings,
    work: Path,
    budgets: Sequence[int] = DEFAULT_BUDGETS,
    draws: int = DEFAULT_DRAWS,
    progress: bool = True,
) -> dict:
    """Recall and precision of both detectors at each budget (see the module docstring).

    ``synthetic_for(k)`` gives the synthetic set of budget ``k``. Returns ``{"k":
    {"augmented": {...}, "real_only": {...} or reason, "combined": {...} or reason, "ranked_by":
    name}}``, each with the mean over draws of :data:`SUMMARY_KEYS` and the per-draw values, and
    the detector the search would rank by with ``k`` real positives; budgets beyond the pool's
    positives get a one-line reason instead.
    """
    held_out = ~sets.pool
    test_images = images[np.flatnonzero(held_out)]
    result: dict[str, dict] = {}
    planned = sum(draws * len(_kinds(k)) for k in budgets if k <= len(sets.positives))
    bar = tqdm(total=planned, desc="few-positive detectors", disable=not progress)
    for k in budgets:
        if k > len(sets.positives):
            result[str(k)] = {"skipped": f"only {len(sets.positives)} real positives in the training pool"}
            continue
        per_draw: dict[str, list[dict]] = {"augmented": [], "real_only": [], "combined": []}
        synthetic = synthetic_for(k)
        for draw in range(draws):
            chosen = draw_positives(sets, k, draw, settings.seed)
            trained_with = settings if k else replace(settings, seed=settings.seed + draw)
            scores = {}
            for kind, with_synthetic in _kinds(k).items():
                extra = synthetic if with_synthetic else None
                folder = train_and_save(
                    detector_folder(work, k, draw, kind),
                    lambda: train_detector(images, chosen, extra, trained_with, progress=False),
                )
                scores[kind] = held_out_scores(folder, test_images, held_out, settings.device)
                bar.update()
            if "real_only" in scores:
                scores["combined"] = combine_scores(scores["augmented"], scores["real_only"])
            ranking = evaluate_ranking(truth, scores, held_out)["detectors"]
            for kind, entry in ranking.items():
                per_draw[kind].append({key: float(entry[key]) for key in SUMMARY_KEYS})
        too_few = f"not trained: fewer than {MIN_REAL_POSITIVES} real positives"
        result[str(k)] = {kind: _mean_over_draws(e) if e else too_few for kind, e in per_draw.items()}
        result[str(k)]["ranked_by"] = ranking_detector(k)
    bar.close()
    return result


def detector_folder(work: Path, k: int | str, draw: int, kind: str) -> Path:
    """Where the study keeps the ``kind`` detector of draw ``draw`` at budget ``k``."""
    return work / f"k{k}-draw{draw}-{kind}"


def held_out_scores(folder: Path, test_images: np.ndarray, held_out: np.ndarray, device: str) -> np.ndarray:
    """The saved detector's probability for each held-out galaxy, 0 for the rest of the catalog."""
    full = np.zeros(len(held_out))
    full[held_out] = Classifier.load(folder, device).predict_proba(test_images)[:, 0]
    return full


def _kinds(k: int) -> dict[str, bool]:
    """The detectors trained at budget ``k`` and whether each adds the synthetic set (real
    only needs enough positives)."""
    return {"augmented": True} | ({"real_only": False} if k >= MIN_REAL_POSITIVES else {})


def _mean_over_draws(entries: list[dict]) -> dict:
    out = {key: float(np.mean([e[key] for e in entries])) for key in SUMMARY_KEYS}
    out["draws"] = entries
    return out
