"""GZ2 answers derived from measured shapes for galaxies that have only coarse labels.

Galaxy Zoo 1 says whether a galaxy is smooth, a spiral, edge-on or a merger, but not how
round a smooth galaxy is or how big a spiral's bulge is. For each question of
:data:`DERIVED_QUESTIONS`, a multinomial logistic regression maps shape measurements
(:mod:`galaxysd.data.shape_measure`) to the question's vote fractions. It is fitted on
galaxies with real GZ2 votes (the ``gz2-sample`` excerpt and the GZ1 galaxies that are also
Hart16 rows, the only voted galaxies in the standard SDSS look), weighting each answer by
its vote fraction (soft labels), and checked out of fold (5 folds):

* AUC of each answer: predicted fraction against "most volunteers chose it" (fraction >= 0.5);
* calibration: mean absolute error of the predicted fraction, and the expected calibration
  error over 5 quantile bins;
* the same AUC on the standard-look galaxies alone, where they have both classes.

Only answers with a held-out AUC of at least :data:`MIN_AUC` are written as labels, and only
where the catalog has no fraction for them and the galaxy reaches the question (its parent
answer is the galaxy's known answer).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from galaxysd.morphology import TREE, Question, cumulative_fractions, fraction_column

MIN_AUC = 0.8
MIN_QUESTION_VOTES = 5  # a calibration galaxy needs this many votes on the question
MIN_REACH = 0.5  # ... and this share of volunteers reaching it
FOLDS = 5
MIN_CALIBRATION_GALAXIES = 20
#: question -> the measurements its answers are derived from
DERIVED_QUESTIONS: dict[str, tuple[str, ...]] = {
    "t07_rounded": ("axis_ratio",),
    "t02_edgeon": ("axis_ratio", "concentration"),
    "t05_bulge_prominence": ("concentration", "r50_frac", "axis_ratio"),
    "t09_bulge_shape": ("axis_ratio", "concentration"),
}


def question(task: str) -> Question:
    """The GZ2 question of a Hart16 task name (``t07_rounded``)."""
    return next(q for q in TREE if q.task == task)


def _features(table: pd.DataFrame, names: tuple[str, ...]) -> np.ndarray:
    values = table[list(names)].to_numpy(dtype=float)
    return np.column_stack([values, values**2])  # a little curvature: roundness is not linear in b/a


def _fit(features: np.ndarray, fractions: np.ndarray) -> object:
    """Soft-label multinomial regression: each galaxy once per answer, weighted by its fraction."""
    answers = fractions.shape[1]
    x = np.repeat(features, answers, axis=0)
    y = np.tile(np.arange(answers), len(features))
    w = fractions.reshape(-1)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
    model.fit(x[w > 0], y[w > 0], logisticregression__sample_weight=w[w > 0])
    return model


def _predict(model, features: np.ndarray, answers: int) -> np.ndarray:
    out = np.zeros((len(features), answers))
    out[:, model.classes_] = model.predict_proba(features)
    return out


def _auc(target: np.ndarray, score: np.ndarray) -> float:
    return float(roc_auc_score(target, score)) if 0 < target.sum() < len(target) else float("nan")


def _calibration_error(predicted: np.ndarray, voted: np.ndarray, bins: int = 5) -> float:
    order = np.argsort(predicted)
    error = 0.0
    for part in np.array_split(order, bins):
        if len(part):
            error += len(part) * abs(predicted[part].mean() - voted[part].mean())
    return float(error / len(predicted))


@dataclass
class QuestionFit:
    """A fitted question: its model, and the held-out report rows of its answers."""

    task: str
    measurements: tuple[str, ...]
    model: object | None  # None: too few calibration galaxies
    report: pd.DataFrame

    @property
    def passing(self) -> list[str]:
        """Answers (tags) whose held-out AUC reaches :data:`MIN_AUC`."""
        return self.report.loc[self.report["used"], "answer"].tolist()


def calibration_rows(calibration: pd.DataFrame, task: str) -> pd.DataFrame:
    """Calibration galaxies that answer ``task`` well enough: measured, at least
    :data:`MIN_QUESTION_VOTES` votes on it, reached by :data:`MIN_REACH` of volunteers."""
    q = question(task)
    columns = [fraction_column(a) for a in q.answers]
    measured = calibration[list(DERIVED_QUESTIONS[task])].notna().all(axis=1)
    votes = calibration.get(f"{task}_votes", pd.Series(np.inf, calibration.index)).fillna(0)
    reach = calibration.apply(lambda row: cumulative_fractions(row).get(q.parent, 1.0) if q.parent else 1.0, axis=1)
    fractions = calibration[columns].apply(pd.to_numeric, errors="coerce")
    usable = measured & (votes >= MIN_QUESTION_VOTES) & (reach >= MIN_REACH) & fractions.notna().all(axis=1)
    return calibration[usable]


def fit_question(calibration: pd.DataFrame, task: str, seed: int = 0) -> QuestionFit:
    """Fit one question on the calibration galaxies and report its held-out agreement.

    ``calibration`` holds the measurements, the Hart16 fraction columns, ``{task}_votes``
    and ``look`` (``"sdss"`` for the standard look). With fewer than
    :data:`MIN_CALIBRATION_GALAXIES` usable rows the fit has no model and its answers are
    reported unused.
    """
    q = question(task)
    rows = calibration_rows(calibration, task)
    names = DERIVED_QUESTIONS[task]
    if len(rows) < MIN_CALIBRATION_GALAXIES:
        report = pd.DataFrame(
            {
                "question": task,
                "answer": [a.tag for a in q.answers],
                "measurements": "+".join(names),
                "galaxies": len(rows),
            }
        )
        report["used"] = False
        return QuestionFit(task, names, None, report)
    features = _features(rows, names)
    fractions = rows[[fraction_column(a) for a in q.answers]].to_numpy(dtype=float)
    fractions = fractions / np.clip(fractions.sum(axis=1, keepdims=True), 1e-9, None)
    held_out = np.zeros_like(fractions)
    for train, test in KFold(FOLDS, shuffle=True, random_state=seed).split(features):
        held_out[test] = _predict(_fit(features[train], fractions[train]), features[test], len(q.answers))
    standard = (rows["look"] == "sdss").to_numpy()
    report = []
    for k, ans in enumerate(q.answers):
        target = fractions[:, k] >= 0.5
        auc = _auc(target, held_out[:, k])
        report.append(
            {
                "question": task,
                "answer": ans.tag,
                "measurements": "+".join(names),
                "galaxies": len(rows),
                "positives": int(target.sum()),
                "auc_held_out": auc,
                "mean_abs_error": float(np.abs(held_out[:, k] - fractions[:, k]).mean()),
                "calibration_error": _calibration_error(held_out[:, k], fractions[:, k]),
                "standard_look_galaxies": int(standard.sum()),
                "standard_look_positives": int(target[standard].sum()),
                "auc_standard_look": _auc(target[standard], held_out[standard, k]),
                "used": bool(np.isfinite(auc) and auc >= MIN_AUC),
            }
        )
    return QuestionFit(task, names, _fit(features, fractions), pd.DataFrame(report))


def derive_labels(catalog: pd.DataFrame, measurements: pd.DataFrame, fits: list[QuestionFit]) -> pd.DataFrame:
    """Derived fractions for ``catalog`` (rows aligned with ``measurements``): one column per
    passing answer, filled only where the catalog has no value for the question and the
    galaxy's known answers reach it; ``derived_answers`` lists what was filled."""
    out = pd.DataFrame({"id": catalog["id"].astype(str).to_numpy()})
    filled = [[] for _ in range(len(catalog))]
    for fit in fits:
        q = question(fit.task)
        passing = set(fit.passing)
        if not passing or fit.model is None:
            continue
        columns = [fraction_column(a) for a in q.answers]
        known = catalog.reindex(columns=columns).apply(pd.to_numeric, errors="coerce").notna().any(axis=1).to_numpy()
        reach = (
            catalog.apply(lambda row: cumulative_fractions(row).get(q.parent, 0.0), axis=1).to_numpy()
            if q.parent
            else np.ones(len(catalog))
        )
        measured = measurements[list(fit.measurements)].notna().all(axis=1).to_numpy()
        target = measured & ~known & (reach >= MIN_REACH)
        predicted = np.full((len(catalog), len(q.answers)), np.nan)
        if target.any():
            predicted[target] = _predict(fit.model, _features(measurements[target], fit.measurements), len(q.answers))
        for k, ans in enumerate(q.answers):
            if ans.tag in passing:
                out[fraction_column(ans)] = predicted[:, k]
                for i in np.flatnonzero(target):
                    filled[i].append(ans.tag)
    out["derived_answers"] = ["; ".join(tags) for tags in filled]
    return out
