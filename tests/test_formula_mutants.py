"""Hand-computed cases that pin the metric formulas where a mutation run found them loose.

Each test checks behaviour with numbers worked out by hand (in the comments): ranking
metrics with ties, the bootstrap's index ranges, intervals and gains, and the feature
metrics at their size limits. All fast: no model, no data files. (Morphology:
test_morphology_mutants.py.)
"""

import re

import numpy as np
import pandas as pd
import pytest

from galaxysd.evaluation import metrics
from galaxysd.science import detection_metrics as dm
from galaxysd.science.detection_metrics import (
    BootstrapPlan,
    average_precision,
    bootstrap_difference,
    bootstrap_scores,
    precision_at_k,
    recall_at_k,
)

try:  # scikit-learn is an optional (science) dependency
    from sklearn.metrics import average_precision_score
except ImportError:  # pragma: no cover
    average_precision_score = None

NAN = float("nan")

# --- feature metrics ------------------------------------------------------------------------


def test_frechet_distance_needs_two_rows_per_set():
    a, b = np.array([[0.0], [2.0]]), np.array([[1.0], [3.0]])
    # means 1 and 2, both variances 2 (ddof 1): 1 + 2 + 2 - 2 * sqrt(2 * 2) = 1
    assert metrics.frechet_distance(a, b) == pytest.approx(1.0)
    assert np.isnan(metrics.frechet_distance(a[:1], b)) and np.isnan(metrics.frechet_distance(a, b[:1]))


def test_frechet_distance_of_float32_features_is_computed_in_float64():
    rng = np.random.default_rng(0)
    a = (rng.normal(size=(500, 4)) + 1000).astype(np.float32)
    b = (rng.normal(size=(500, 4)) + 1000.05).astype(np.float32)
    expected = metrics.frechet_distance(a.astype(np.float64), b.astype(np.float64))
    assert metrics.frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)


def test_real_floor_needs_four_rows_and_splits_in_half_by_default(monkeypatch):
    sizes = []
    monkeypatch.setattr(metrics, "frechet_distance", lambda a, b: sizes.append((len(a), len(b))) or 0.0)
    assert metrics.split_frechet(np.zeros((4, 2)), repeats=2) == 0.0
    assert sizes == [(2, 2)] * 2
    assert np.isnan(metrics.split_frechet(np.zeros((3, 2))))
    sizes.clear()
    metrics.split_frechet(np.zeros((40, 3)))
    assert sizes == [(20, 20)] * metrics.SPLIT_REPEATS


@pytest.mark.parametrize(
    "presence, expected",
    [
        ([[True, True]], 1.0),  # a single image
        ([[True, False], [True, True], [False, False], [True, True]], 0.5),
        ([True, False], NAN),  # not (images, tags)
        (np.zeros((0, 2), bool), NAN),
        (np.zeros((3, 0), bool), NAN),
    ],
)
def test_consistency_is_the_fraction_of_images_with_every_tag(presence, expected):
    value = metrics.consistency(presence)
    assert value == expected or (np.isnan(expected) and np.isnan(value))


def test_pareto_mask_by_hand_and_its_shape_check():
    values = [[1, 5], [2, 6], [0.5, 4], [2, 5], [1, 5], [NAN, 9]]  # lower x, higher y is better
    # (2, 5) is dominated by (1, 5); the two (1, 5) tie and both stay; the NaN row never counts.
    assert metrics.pareto_mask(values, (False, True)).tolist() == [True, True, True, False, True, False]
    assert metrics.pareto_mask([[1.0, None], [0.5, 0.5]], (True, True)).tolist() == [False, True]  # None is NaN
    with pytest.raises(ValueError, match=re.escape("values must be (N, 2), got (2, 3)")):
        metrics.pareto_mask(np.zeros((2, 3)), (True, False))


def _prompt_sets(n_real):
    rng = np.random.default_rng(4)
    gen, real = rng.normal(size=(5, 2)), rng.normal(size=(n_real, 2)) + 0.5
    gen_presence = np.array([[1, 1], [1, 0], [1, 1], [0, 0], [1, 1]], bool)  # 3 of 5
    real_presence = np.array([[1, 1]] * 7 + [[0, 1]] * (n_real - 7), bool)  # 7 of n_real
    return gen, gen_presence, real, real_presence


def test_score_prompt_with_exactly_the_minimum_of_real_images():
    gen, gen_presence, real, real_presence = _prompt_sets(metrics.MIN_REAL_IMAGES)
    scores = metrics.score_prompt(gen, gen_presence, real, real_presence, seed=3)
    assert scores == {
        "n_generated": 5,
        "n_real": 10,
        "consistency": 0.6,
        "consistency_real": 0.7,
        "frechet": metrics.frechet_distance(gen, real),
        "frechet_floor": metrics.split_frechet(real, 5, 3),
        "diversity": metrics.relative_diversity(gen, real),
        "pairwise_distance": metrics.mean_pairwise_distance(gen),
        "pairwise_distance_real": metrics.mean_pairwise_distance(real),
        "closest_pair": metrics.closest_pair_distance(gen) / metrics.mean_pairwise_distance(real),
        "closest_pair_real": metrics.closest_pair_distance(real) / metrics.mean_pairwise_distance(real),
    }
    assert scores["frechet_floor"] != metrics.split_frechet(real, 5, 0)  # the seed is passed on
    few = metrics.score_prompt(*_prompt_sets(metrics.MIN_REAL_IMAGES - 1))
    judged_on_real = ("consistency_real", "frechet", "frechet_floor", "diversity", "closest_pair", "closest_pair_real")
    assert all(np.isnan(few[k]) for k in judged_on_real)
    assert few["consistency"] == 0.6 and np.isfinite(few["pairwise_distance_real"])


def test_mark_pareto_fronts_gives_bool_columns_and_leaves_rows_without_a_group_off():
    points = pd.DataFrame(
        {
            "prompt": ["a", "a", "a", None],
            "frechet": [1.0, 2.0, 3.0, 0.1],
            "diversity": [0.5, 0.9, 0.4, 2.0],
            "consistency": [0.2, 0.1, 0.3, 1.0],
        }
    )
    marked = metrics.mark_pareto_fronts(points)
    assert marked["pareto_realism_diversity"].dtype == bool
    assert marked["pareto_realism_diversity"].tolist() == [True, True, False, False]
    assert marked["pareto_realism_consistency"].tolist() == [True, False, True, False]


# --- classifier scores and the bootstrap ------------------------------------------------------------


def test_bootstrap_plan_draws_every_index_from_zero_and_is_reproducible():
    plan = BootstrapPlan.draw(3, 2, replicates=200, seed=5)
    assert plan.items.shape == (200, 3) and plan.seeds.shape == (200, 2)
    assert set(plan.items.ravel()) == {0, 1, 2} and set(plan.seeds.ravel()) == {0, 1}
    again = BootstrapPlan.draw(3, 2, replicates=200, seed=5)
    assert (again.items == plan.items).all() and (again.seeds == plan.seeds).all()
    assert (BootstrapPlan.draw(3, 2, replicates=200, seed=6).items != plan.items).any()


LABELS4 = np.array([1, 1, 0, 0])
# seed 0: yes at 0 and 2 (0.5 is on the threshold): TP 1, FP 1, FN 1 -> purity = completeness = f1 = 1/2
# seed 1: yes at 0 and 1: TP 2, FP 0, FN 0 -> all 1
OURS = np.array([[0.5, 0.2, 0.5, 0.1], [0.9, 0.8, 0.1, 0.1]])
# both seeds say yes to all: TP 2, FP 2, FN 0 -> purity 1/2, completeness 1, f1 4/6
BASELINE = np.full((2, 4), 0.9)


def test_bootstrap_scores_by_hand_with_a_fixed_plan():
    # replicate 1: all four galaxies, seed 0 -> 1/2 each; replicate 2: galaxies 0, 0, 1, 1 (all true), seed 0:
    # yes, yes, no, no -> purity 1, completeness 1/2, f1 2*2 / (4 + 0 + 2) = 2/3.
    plan = BootstrapPlan(items=np.array([[0, 1, 2, 3], [0, 0, 1, 1]]), seeds=np.array([[0], [0]]))
    out = bootstrap_scores(LABELS4, OURS, plan)
    assert out["purity"] == out["completeness"] == out["f1"] == 0.75  # seed mean of 1/2 and 1
    # percentiles 2.5 / 97.5 of two values u < v: u + 0.025 (v - u) and u + 0.975 (v - u)
    assert out["purity_low"] == pytest.approx(0.5125) and out["purity_high"] == pytest.approx(0.9875)
    assert out["completeness_low"] == out["completeness_high"] == 0.5
    assert out["f1_low"] == pytest.approx(0.5 + 0.025 / 6) and out["f1_high"] == pytest.approx(0.5 + 0.975 / 6)


def test_bootstrap_purity_is_nan_when_the_classifier_never_says_yes():
    plan = BootstrapPlan(items=np.array([[0, 1, 2, 3]]), seeds=np.array([[0]]))
    out = bootstrap_scores(LABELS4, np.full((2, 4), 0.1), plan)
    assert np.isnan(out["purity"]) and np.isnan(out["purity_low"]) and np.isnan(out["purity_high"])
    assert out["completeness"] == 0.0 and out["completeness_low"] == 0.0


def test_the_interval_needs_at_least_half_of_the_replicates_finite():
    # galaxies 1, 1, 1, 1 under seed 0 are all "no": purity NaN in that replicate
    half = BootstrapPlan(items=np.array([[0, 1, 2, 3], [1, 1, 1, 1]]), seeds=np.array([[0], [0]]))
    out = bootstrap_scores(LABELS4, OURS, half)
    assert out["purity_low"] == out["purity_high"] == 0.5
    third = BootstrapPlan(items=np.array([[0, 1, 2, 3], [1, 1, 1, 1], [3, 3, 3, 3]]), seeds=np.array([[0], [0], [0]]))
    out = bootstrap_scores(LABELS4, OURS, third)
    assert np.isnan(out["purity_low"]) and np.isnan(out["purity_high"])


def test_interval_is_the_central_95_percent():
    assert dm._interval(np.arange(101.0)) == (2.5, 97.5)
    assert dm._interval(np.array([1.0, NAN])) == (1.0, 1.0)
    low, high = dm._interval(np.array([1.0, NAN, NAN]))
    assert np.isnan(low) and np.isnan(high)


def test_bootstrap_difference_gain_is_ours_minus_the_baseline():
    plan = BootstrapPlan(items=np.array([[0, 1, 2, 3]]), seeds=np.array([[0]]))
    gain = bootstrap_difference(LABELS4, OURS, BASELINE, plan)
    assert gain["purity_gain"] == pytest.approx(0.75 - 0.5)
    assert gain["completeness_gain"] == pytest.approx(0.75 - 1.0)  # a loss is negative
    assert gain["f1_gain"] == pytest.approx(0.75 - 2 / 3)
    # the one replicate uses seed 0 for both: purity 1/2 - 1/2, completeness 1/2 - 1
    assert gain["purity_gain_low"] == gain["purity_gain_high"] == 0.0
    assert gain["completeness_gain_low"] == gain["completeness_gain_high"] == -0.5


# --- ranking metrics ------------------------------------------------------------------------

TRUTH5, SCORES5 = np.array([0, 1, 0, 1, 1]), np.array([0.9, 0.8, 0.7, 0.6, 0.1])


def test_average_precision_by_hand():
    # true objects at ranks 2, 4 and 5: precisions 1/2, 2/4, 3/5
    assert average_precision(TRUTH5, SCORES5) == pytest.approx((1 / 2 + 2 / 4 + 3 / 5) / 3)
    assert average_precision([1, 0, 0], [0.2, 0.9, 0.5]) == pytest.approx(1 / 3)  # found last
    assert average_precision([1, 1, 0], [0.3, 0.2, 0.1]) == 1.0
    assert np.isnan(average_precision([0, 0, 0], [0.3, 0.2, 0.1]))


@pytest.mark.skipif(average_precision_score is None, reason="needs scikit-learn")
def test_average_precision_matches_sklearn_for_distinct_scores():
    rng = np.random.default_rng(7)
    truth, scores = rng.random(50) < 0.3, rng.random(50)  # distinct scores: the same definition
    assert average_precision(truth, scores) == pytest.approx(average_precision_score(truth, scores))


def test_precision_and_recall_at_k_beyond_the_list_and_at_zero():
    assert precision_at_k(TRUTH5, SCORES5, 10) == pytest.approx(3 / 5)  # every object
    assert recall_at_k(TRUTH5, SCORES5, 10) == 1.0
    assert recall_at_k(TRUTH5, SCORES5, 1) == 0.0
    assert np.isnan(precision_at_k(TRUTH5, SCORES5, 0))
    assert np.isnan(recall_at_k([0, 0, 0], [0.3, 0.2, 0.1], 2))


def test_tied_scores_keep_the_input_order():
    # 41 objects: one top score (index 20, true), the rest tied; the first five tied objects are true.
    scores = np.array([0.5] * 20 + [0.9] + [0.5] * 20)
    truth = np.zeros(41, bool)
    truth[[20, 0, 1, 2, 3, 4]] = True
    # stable order: 20, 0, 1, 2, ... so the six true objects take ranks 1 to 6
    assert precision_at_k(truth, scores, 6) == 1.0
    assert recall_at_k(truth, scores, 6) == 1.0
    assert average_precision(truth, scores) == 1.0
    assert precision_at_k(truth, scores, 8) == pytest.approx(6 / 8)
    small = np.array([1, 0, 1, 0]), np.array([0.5, 0.5, 0.5, 0.9])  # stable order: 3, 0, 1, 2
    assert precision_at_k(*small, 2) == 0.5 and recall_at_k(*small, 2) == 0.5
    assert average_precision(*small) == pytest.approx((1 / 2 + 2 / 4) / 2)
