"""GZ2 vote fractions for demo galaxies, derived from their truth as volunteers would vote.

Every question gets fractions for every galaxy (also questions volunteers would not reach:
an elliptical's arm-count votes are "can't tell"-heavy), so the tree's cumulative product
does the gating, as with Hart16 tables. For each question the truth gives a sharp answer
distribution (ordinal answers leak a little to their neighbours); it is blended with a
confused distribution by how visible the feature is (``truth_clarity`` times e.g. "bars
are hard to see in inclined disks"), and 40 volunteers are drawn from it (multinomial), so
fractions are multiples of 1/40 and sum to 1 within each question.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from galaxysd.morphology import TREE, fraction_column

VOLUNTEERS = 40


def _one_hot(index: np.ndarray, k: int, leak: float = 0.0) -> np.ndarray:
    """Rows with 1 at ``index``; ``leak`` of it moved to each ordinal neighbour."""
    rows = np.arange(len(index))
    out = np.zeros((len(index), k))
    out[rows, index] = 1.0
    if leak:
        for step in (-1, 1):
            neighbour = index + step
            inside = (neighbour >= 0) & (neighbour < k)
            out[rows[inside], neighbour[inside]] += leak
            out[rows[inside], index[inside]] -= leak
    return out


def _blend(sharp: np.ndarray, confused, visibility: np.ndarray) -> np.ndarray:
    """Mix the truth's answer with a confused one by how visible the feature is."""
    v = np.clip(visibility, 0.0, 1.0)[:, None]
    return v * sharp + (1 - v) * np.broadcast_to(np.asarray(confused, dtype=float), sharp.shape)


def _task_probabilities(t: pd.DataFrame) -> dict[str, np.ndarray]:
    """Expected answer probabilities per Hart16 task (rows: galaxies, columns: TREE answers)."""
    kind = t["truth_type"].to_numpy()
    star, elliptical, spiral = kind == "star", kind == "elliptical", kind == "spiral"
    disk = (kind == "lenticular") | spiral
    clarity = t["truth_clarity"].to_numpy(dtype=float)
    inclination = t["truth_inclination"].fillna(0.0).to_numpy(dtype=float)
    q = t["truth_axis_ratio"].to_numpy(dtype=float)
    bulge = t["truth_bulge_fraction"].to_numpy(dtype=float)
    arms = t["truth_n_arms"].to_numpy(dtype=int)
    bar, ring = t["truth_bar"].to_numpy(dtype=bool), t["truth_ring"].to_numpy(dtype=bool)
    dust, merger = t["truth_dust_lane"].to_numpy(dtype=bool), t["truth_merger"].to_numpy(dtype=bool)
    edge_on = 1 / (1 + np.exp(-(inclination - 78.0) / 3.5)) * disk
    face_visibility = clarity * np.clip((80.0 - inclination) / 30.0, 0.0, 1.0)
    shape_visibility = 0.5 + 0.5 * clarity  # elongation shows even in faint galaxies
    odd_visibility = 0.4 + 0.6 * clarity  # so do dust lanes, tails and rings, if less

    features = np.select(
        [star, elliptical, spiral],
        [0.05, 0.08 + 0.3 * merger, 0.97],
        0.35 + 0.5 * (inclination > 70) + 0.15 * (bar | ring),
    )
    smooth_features_star = np.stack([(1 - features) * ~star + 0.05 * star, features, np.where(star, 0.9, 0.01)], axis=1)
    smooth_features_star /= smooth_features_star.sum(axis=1, keepdims=True)
    bulge_class = np.digitize(bulge, [0.05, 0.2, 0.45])
    round_class = np.digitize(-q, [-0.8, -0.45])  # 0 round, 1 in-between, 2 cigar
    odd_class = np.select([dust, merger, ring], [6, 5, 0], 4)
    winding_class = t["truth_winding"].map({"tight": 0, "medium": 1, "loose": 2}).fillna(1).to_numpy(dtype=int)
    edge_bulge = np.select([bulge > 0.25, (bulge > 0.08) & bar, bulge > 0.08], [0, 1, 0], 2)
    odd_sharp = np.where(
        merger[:, None] & ~dust[:, None], [[0.0, 0.0, 0.3, 0.05, 0.0, 0.65, 0.0]], _one_hot(odd_class, 7)
    )
    arm_class = np.clip(arms, 1, 5) - 1
    cigar_edge = 0.6 / (1 + np.exp(-(0.35 - q) / 0.06)) * elliptical
    return {
        "t01_smooth_or_features": _blend(
            smooth_features_star, [0.55, 0.43, 0.02], np.where(star, 0.9, clarity)
        ),  # a point source is plain
        "t02_edgeon": _blend(
            np.stack([edge_on + cigar_edge, 1 - edge_on - cigar_edge], axis=1), [0.3, 0.7], shape_visibility
        ),
        "t03_bar": _blend(np.where(bar[:, None], [[0.85, 0.15]], [[0.06, 0.94]]), [0.3, 0.7], face_visibility),
        "t04_spiral": _blend(np.where(arms[:, None] > 0, [[0.95, 0.05]], [[0.08, 0.92]]), [0.5, 0.5], face_visibility),
        "t05_bulge_prominence": _blend(_one_hot(bulge_class, 4, leak=0.12), [0.15, 0.35, 0.35, 0.15], clarity),
        "t06_odd": _blend(
            np.where((dust | merger | ring)[:, None], [[0.85, 0.15]], [[0.08, 0.92]]), [0.3, 0.7], odd_visibility
        ),
        "t07_rounded": _blend(_one_hot(round_class, 3, leak=0.1), [0.35, 0.5, 0.15], shape_visibility),
        "t08_odd_feature": _blend(odd_sharp, [0.1, 0.05, 0.2, 0.15, 0.35, 0.1, 0.05], odd_visibility),
        "t09_bulge_shape": _blend(_one_hot(edge_bulge, 3, leak=0.1), [0.5, 0.2, 0.3], clarity),
        "t10_arms_winding": _blend(_one_hot(winding_class, 3, leak=0.12), [0.3, 0.45, 0.25], face_visibility * spiral),
        "t11_arms_number": _blend(
            np.hstack([_one_hot(arm_class, 5, leak=0.1) * 0.93, np.full((len(t), 1), 0.07)]),
            [0.05, 0.3, 0.1, 0.05, 0.05, 0.45],
            face_visibility * spiral,
        ),
    }


def truth_to_vote_fractions(truth: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """The 37 debiased vote-fraction columns (``morphology.FRACTION_COLUMNS``) for demo truth.

    ``truth`` has the ``truth_*`` columns of :func:`galaxysd.data.demo.sample_truth`.
    """
    rng = np.random.default_rng([seed, 2])
    probabilities = _task_probabilities(truth.reset_index(drop=True))
    columns = {}
    for question in TREE:
        p = probabilities[question.task]
        p = p / p.sum(axis=1, keepdims=True)
        counts = rng.multinomial(VOLUNTEERS, p)
        for k, ans in enumerate(question.answers):
            columns[fraction_column(ans)] = counts[:, k] / VOLUNTEERS
    return pd.DataFrame(columns, index=truth.index)
