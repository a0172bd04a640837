"""Purity, completeness and ranking metrics for binary classifiers, with bootstrap intervals.

Purity is precision, TP / (TP + FP); completeness is recall, TP / (TP + FN); F1 is their
harmonic mean. A classifier says "yes" at probability >= 0.5. Purity of a classifier that
says "yes" to nothing is undefined (NaN).

Intervals come from a paired bootstrap over test galaxies and training seeds at once: each
replicate draws the held-out galaxies and the seeds with replacement and averages the metric
over the drawn seeds. Drawing the same galaxies and seeds for two conditions gives the
interval of their difference (:func:`bootstrap_difference`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DECISION_THRESHOLD = 0.5
METRICS = ("purity", "completeness", "f1")


def _counts(labels: np.ndarray, predicted: np.ndarray) -> tuple[np.ndarray, ...]:
    """TP, FP, FN along the last axis (labels and predictions broadcast)."""
    tp = (predicted & labels).sum(axis=-1)
    fp = (predicted & ~labels).sum(axis=-1)
    fn = (~predicted & labels).sum(axis=-1)
    return tp, fp, fn


def scores_from_counts(tp, fp, fn) -> dict[str, np.ndarray]:
    """Purity, completeness and F1 from confusion counts (NaN where undefined)."""
    tp, fp, fn = (np.asarray(x, dtype=np.float64) for x in (tp, fp, fn))
    with np.errstate(invalid="ignore", divide="ignore"):
        purity = tp / (tp + fp)
        completeness = tp / (tp + fn)
        f1 = 2 * tp / (2 * tp + fp + fn)
    return {"purity": purity, "completeness": completeness, "f1": f1}


def classification_scores(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    """Purity, completeness, F1 of one classifier's probabilities against 0/1 labels."""
    labels = np.asarray(labels).astype(bool)
    predicted = np.asarray(probabilities) >= DECISION_THRESHOLD
    return {k: float(v) for k, v in scores_from_counts(*_counts(labels, predicted)).items()}


@dataclass(frozen=True)
class BootstrapPlan:
    """Which test galaxies and seeds each bootstrap replicate draws (shared across conditions)."""

    items: np.ndarray  # (B, n_test) indices
    seeds: np.ndarray  # (B, n_seeds) indices

    @classmethod
    def draw(cls, n_test: int, n_seeds: int, replicates: int = 1000, seed: int = 0) -> "BootstrapPlan":
        """Draw ``replicates`` resamplings of ``n_test`` galaxies and ``n_seeds`` seeds."""
        rng = np.random.default_rng(seed)
        return cls(rng.integers(0, n_test, (replicates, n_test)), rng.integers(0, n_seeds, (replicates, n_seeds)))


def _replicate_scores(labels: np.ndarray, probabilities: np.ndarray, plan: BootstrapPlan) -> dict[str, np.ndarray]:
    """Seed-averaged metrics of each replicate, shape (B,)."""
    labels = np.asarray(labels).astype(bool)
    predicted = np.asarray(probabilities) >= DECISION_THRESHOLD  # (S, n)
    drawn_labels = labels[plan.items]  # (B, n)
    out = {k: np.zeros(len(plan.items)) for k in METRICS}
    for column in range(plan.seeds.shape[1]):
        chosen = predicted[plan.seeds[:, column][:, None], plan.items]  # (B, n)
        scores = scores_from_counts(*_counts(drawn_labels, chosen))
        for k in METRICS:
            out[k] += scores[k] / plan.seeds.shape[1]
    return out


def _interval(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if len(finite) < 0.5 * len(values):
        return float("nan"), float("nan")
    low, high = np.percentile(finite, [2.5, 97.5])
    return float(low), float(high)


def bootstrap_scores(labels: np.ndarray, probabilities: np.ndarray, plan: BootstrapPlan) -> dict[str, float]:
    """Seed-mean purity/completeness/F1 of ``probabilities`` (seeds x galaxies) and their
    95% bootstrap intervals: keys ``purity``, ``purity_low``, ``purity_high``, ..."""
    probabilities = np.atleast_2d(probabilities)
    per_seed = [classification_scores(labels, p) for p in probabilities]
    replicates = _replicate_scores(labels, probabilities, plan)
    out: dict[str, float] = {}
    for k in METRICS:
        values = np.array([s[k] for s in per_seed])
        out[k] = float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")
        out[f"{k}_low"], out[f"{k}_high"] = _interval(replicates[k])
    return out


def bootstrap_difference(
    labels: np.ndarray, probabilities: np.ndarray, baseline: np.ndarray, plan: BootstrapPlan
) -> dict[str, float]:
    """Metric of ``probabilities`` minus that of ``baseline`` (both seeds x galaxies), with a
    paired 95% interval: keys ``f1_gain``, ``f1_gain_low``, ``f1_gain_high``, ..."""
    ours = _replicate_scores(labels, np.atleast_2d(probabilities), plan)
    theirs = _replicate_scores(labels, np.atleast_2d(baseline), plan)
    point = bootstrap_scores(labels, probabilities, plan)
    reference = bootstrap_scores(labels, baseline, plan)
    out: dict[str, float] = {}
    for k in METRICS:
        out[f"{k}_gain"] = point[k] - reference[k]
        out[f"{k}_gain_low"], out[f"{k}_gain_high"] = _interval(ours[k] - theirs[k])
    return out


def recall_at_k(truth: np.ndarray, scores: np.ndarray, k: int) -> float:
    """Fraction of the true objects found among the ``k`` highest scores."""
    truth = np.asarray(truth).astype(bool)
    if not truth.any():
        return float("nan")
    top = np.argsort(-np.asarray(scores), kind="stable")[:k]
    return float(truth[top].sum() / truth.sum())


def precision_at_k(truth: np.ndarray, scores: np.ndarray, k: int) -> float:
    """Fraction of the ``k`` highest-scoring objects that are true ones."""
    top = np.argsort(-np.asarray(scores), kind="stable")[:k]
    return float(np.asarray(truth).astype(bool)[top].mean()) if len(top) else float("nan")


def average_precision(truth: np.ndarray, scores: np.ndarray) -> float:
    """Mean of the precision at the rank of each true object (area under purity-completeness)."""
    truth = np.asarray(truth).astype(bool)
    if not truth.any():
        return float("nan")
    order = np.argsort(-np.asarray(scores), kind="stable")
    hits = truth[order]
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float(precision[hits].mean())
