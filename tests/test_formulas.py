"""Core formulas pinned by hand-computed cases: purity and completeness, the paired bootstrap of
a gain, the real-vs-real floor at the generated-set size, Fréchet distance in closed form,
recall@k, the prompt parser's edge cases and vote fractions outside [0, 1]."""

import numpy as np
import pytest

from galaxysd import morphology as m
from galaxysd.evaluation import metrics
from galaxysd.science.detection_metrics import (
    BootstrapPlan,
    bootstrap_difference,
    classification_scores,
    precision_at_k,
    recall_at_k,
)

# 8 galaxies: predicted positive where p >= 0.5 (two sit exactly on the threshold).
LABELS = np.array([1, 1, 1, 0, 0, 0, 0, 1])
PROBS = np.array([0.9, 0.6, 0.2, 0.7, 0.1, 0.5, 0.4, 0.5])  # TP 0,1,7; FP 3,5; FN 2


def test_purity_completeness_f1_by_hand():
    scores = classification_scores(LABELS, PROBS)
    assert scores["purity"] == pytest.approx(3 / 5)  # TP / (TP + FP)
    assert scores["completeness"] == pytest.approx(3 / 4)  # TP / (TP + FN)
    assert scores["f1"] == pytest.approx(2 * 0.6 * 0.75 / (0.6 + 0.75))


def test_the_decision_threshold_is_inclusive():
    on_threshold = classification_scores(np.array([1, 0]), np.array([0.5, 0.49]))
    assert on_threshold["completeness"] == 1.0 and on_threshold["purity"] == 1.0


def _direct_paired_interval(labels, ours, theirs, plan):
    """Gain per replicate computed the slow way: the same galaxies and seeds for both."""
    gains = []
    for items, seeds in zip(plan.items, plan.seeds):
        a = np.mean([classification_scores(labels[items], ours[s][items])["f1"] for s in seeds])
        b = np.mean([classification_scores(labels[items], theirs[s][items])["f1"] for s in seeds])
        gains.append(a - b)
    return np.percentile(gains, [2.5, 97.5])


def test_paired_bootstrap_interval_matches_a_direct_computation_and_is_narrower_than_unpaired():
    rng = np.random.default_rng(3)
    labels = (rng.random(60) < 0.4).astype(int)
    base = np.clip(labels * 0.6 + rng.normal(0, 0.25, (2, 60)), 0, 1)  # 2 seeds x 60 galaxies
    better = base.copy()
    flip = np.flatnonzero(labels == 1)[:5]
    better[:, flip] = 0.95  # the same galaxies, five more found: a small, consistent gain
    plan = BootstrapPlan.draw(60, 2, replicates=300, seed=1)
    gain = bootstrap_difference(labels, better, base, plan)
    low, high = _direct_paired_interval(labels, better, base, plan)
    assert gain["f1_gain_low"] == pytest.approx(low) and gain["f1_gain_high"] == pytest.approx(high)
    # Unpaired: each condition resampled independently (a second plan for the baseline).
    other = BootstrapPlan.draw(60, 2, replicates=300, seed=2)
    f1 = lambda probs, p: np.array(  # noqa: E731
        [np.mean([classification_scores(labels[i], probs[s][i])["f1"] for s in ss]) for i, ss in zip(p.items, p.seeds)]
    )
    unpaired = np.percentile(f1(better, plan) - f1(base, other), [2.5, 97.5])
    assert (high - low) < 0.8 * (unpaired[1] - unpaired[0])
    assert gain["f1_gain_low"] >= 0 > unpaired[0]  # paired, a gain never seen as a loss; unpaired, it is


def test_real_floor_splits_at_the_generated_set_size(monkeypatch):
    sizes = []
    monkeypatch.setattr(metrics, "frechet_distance", lambda a, b: sizes.append((len(a), len(b))) or 0.0)
    metrics.split_frechet(np.zeros((40, 3)), size=8, repeats=3)
    assert sizes == [(8, 32)] * 3
    sizes.clear()
    metrics.split_frechet(np.zeros((40, 3)), size=30, repeats=1)  # at most half the set
    assert sizes == [(20, 20)]


def test_frechet_distance_of_two_gaussians_in_closed_form():
    a = np.array([[1, 0], [-1, 0], [0, 1], [0, -1]], dtype=float)  # mean 0, cov (2/3) I
    b = 3 * a + np.array([2.0, 0.0])  # mean (2, 0), cov 6 I
    var_a, var_b = 2 / 3, 6.0
    expected = 4.0 + 2 * (np.sqrt(var_a) - np.sqrt(var_b)) ** 2
    assert metrics.frechet_distance(a, b) == pytest.approx(expected)
    assert metrics.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)


def test_recall_and_precision_at_k_by_hand():
    truth = np.array([0, 1, 0, 1, 1])
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.1])
    assert recall_at_k(truth, scores, 2) == pytest.approx(1 / 3)
    assert recall_at_k(truth, scores, 4) == pytest.approx(2 / 3)
    assert recall_at_k(truth, scores, 5) == 1.0
    assert precision_at_k(truth, scores, 4) == pytest.approx(2 / 4)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("sdss, {merger:1.2} galaxy", {"sdss": 1.0, "merger": 1.2}),
        ("{completely round:1.3} galaxy, {dust lane:1.3}", {"completely round galaxy": 1.3, "dust lane": 1.3}),
        ("sdss,, bar", {"sdss": 1.0, "bar-shaped structure in the galaxy center": 1.0}),
    ],
)
def test_prompt_parser_reads_spans_with_words_around_them(text, expected):
    assert m.parse_prompt(text) == expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("sdss, {bar:1.2} {merger:1.1}", "more than one weighted span"),
        ("sdss, {bar:1.2", "unbalanced brackets"),
        ("sdss, {bar:1.2}x", "unknown morphology tag"),
        ("sdss, {bar:}", "is not a number"),
        ("sdss, {:1.2}", "empty tag"),
    ],
)
def test_prompt_parser_rejects_malformed_segments(text, message):
    with pytest.raises(ValueError, match=message):
        m.parse_prompt(text)


SMOOTH, FEATURES = m.fraction_column(m.answer("smooth")), m.fraction_column(m.answer("features or disk-shaped"))


def test_vote_fractions_exactly_at_the_threshold_are_kept():
    assert m.vote_fractions_to_weights({SMOOTH: 0.3, FEATURES: 0.7}, threshold=0.3) == {
        "smooth": 0.3,
        "features or disk-shaped": 0.7,
    }
    assert "smooth" not in m.vote_fractions_to_weights({SMOOTH: 0.2999, FEATURES: 0.7001}, threshold=0.3)


def test_vote_fractions_outside_0_1_are_clamped_and_nan_dropped():
    assert m.vote_fractions_to_weights({SMOOTH: 0.3, FEATURES: 1.4}, threshold=0.3)["features or disk-shaped"] == 1.0
    assert m.vote_fractions_to_weights({SMOOTH: float("nan"), FEATURES: -0.2}, threshold=0.3) == {}
