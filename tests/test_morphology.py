"""The GZ2 vocabulary: tree shape, prompt syntax, vote fractions, gz2_class decoding."""

from __future__ import annotations

import math
import random

import numpy as np
import pandas as pd
import pytest

from galaxysd import morphology as m
from galaxysd.data.conditions import condition_matrix
from galaxysd.gz2_classes import gz2_class_to_tags


def test_tree_has_eleven_tasks_and_thirty_seven_answers():
    assert len(m.TREE) == 11
    assert len(m.ANSWERS) == 37
    codes = {a.code for a in m.ANSWERS}
    assert "a35" not in codes and {"a01", "a34", "a36", "a38"} <= codes
    assert len(set(m.ANSWER_TAGS)) == 37
    assert [q.task for q in m.TREE][:2] == ["t01_smooth_or_features", "t02_edgeon"]


def test_answers_carry_paper_wording_hart16_and_kaggle_columns():
    dust = m.answer("dust lane")
    assert dust.column == "t08_odd_feature_a38_dust_lane" and dust.kaggle == "Class8.7"
    assert dust.parent == "odd feature" and dust.task == "t08_odd_feature"
    for text in [
        "smooth",
        "features or disk-shaped",
        "edge-on galaxy",
        "bar-shaped structure in the galaxy center",
        "tightly wound spiral arms",
        "2 spiral arms",
        "obvious bulge prominence",
        "in-between round galaxy",
        "merger",
        "ring",
    ]:
        assert text in m.ANSWER_TAGS
    assert m.answer("star or artifact").task == "t01_smooth_or_features"
    assert m.question_of("lens or arc").task == "t08_odd_feature"
    assert m.answer("4 spiral arms").kaggle == "Class11.4"


def test_every_parent_is_an_earlier_answer():
    seen = set()
    for ans in m.ANSWERS:
        assert ans.parent is None or ans.parent in seen
        seen.add(ans.tag)


def test_paper_prompts_parse_to_expected_tags():
    spiral = m.parse_prompt("sdss, spiral galaxy, obvious bulge prominence, tightly wound spiral arms, 2 spiral arms")
    assert spiral == {
        "sdss": 1.0,
        "spiral galaxy": 1.0,
        "obvious bulge prominence": 1.0,
        "tightly wound spiral arms": 1.0,
        "2 spiral arms": 1.0,
    }
    dusty = m.parse_prompt("sdss, {completely round:1.3} galaxy, {dust lane:1.3}")
    assert dusty == {"sdss": 1.0, "completely round galaxy": 1.3, "dust lane": 1.3}


def test_round_brackets_and_bare_emphasis():
    assert m.parse_prompt("sdss, (dust lane:0.7), {merger}") == {"sdss": 1.0, "dust lane": 0.7, "merger": 1.1}


def test_format_then_parse_round_trips_random_weights():
    rng = random.Random(0)
    for _ in range(200):
        tags = rng.sample(m.ALL_TAGS, rng.randint(1, 8))
        weights = {t: rng.choice([1.0, 0.0, 3.0, rng.uniform(0, 3)]) for t in tags}
        assert m.parse_prompt(m.format_prompt(weights)) == weights


@pytest.mark.parametrize(
    "bad, needle",
    [
        ("sdss, spirl galaxy", "spiral galaxy"),
        ("sdss, {dust lane:9}", "within [0, 3]"),
        ("sdss, {dust lane:nan}", "finite"),
        ("sdss, {dust lane:inf}", "finite"),
        ("sdss, {dust lane:abc}", "not a number"),
        ("sdss, {dust lane:1.2", "unbalanced"),
    ],
)
def test_bad_prompts_raise_clear_errors(bad, needle):
    with pytest.raises(ValueError, match=needle.replace("[", r"\[").replace("]", r"\]")):
        m.parse_prompt(bad)


def test_unknown_tag_names_nearest_known_tags():
    with pytest.raises(ValueError) as info:
        m.canonical_tag("dust lame")
    assert "dust lane" in str(info.value)


def test_weights_follow_the_tree_and_drop_weak_answers():
    row = {
        m.fraction_column(m.answer(t)): v
        for t, v in {
            "smooth": 0.1,
            "features or disk-shaped": 0.9,
            "not edge-on": 0.8,
            "edge-on galaxy": 0.2,
            "spiral galaxy": 0.9,
            "2 spiral arms": 0.5,
            "odd feature": 0.6,
            "dust lane": 0.9,
            "ring": 0.1,
        }.items()
    }
    weights = m.vote_fractions_to_weights(row, domain="sdss")
    assert weights["sdss"] == 1.0
    assert weights["spiral galaxy"] == pytest.approx(0.9 * 0.8 * 0.9, abs=1e-4)
    assert weights["2 spiral arms"] == pytest.approx(0.9 * 0.8 * 0.9 * 0.5, abs=1e-4)
    assert weights["dust lane"] == pytest.approx(0.54, abs=1e-4)
    assert "smooth" not in weights and "ring" not in weights


def test_nan_vote_fractions_count_as_zero():
    row = {
        m.fraction_column(m.answer("smooth")): float("nan"),
        m.fraction_column(m.answer("features or disk-shaped")): 1.0,
    }
    assert m.vote_fractions_to_weights(row) == {"features or disk-shaped": 1.0}


def test_vectorised_condition_matrix_matches_per_row_weights():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.uniform(0, 1, (50, 37)), columns=m.FRACTION_COLUMNS)
    frame.iloc[3, 5] = np.nan
    matrix = condition_matrix(frame, m.ALL_TAGS, domain="demo")
    for i in range(len(frame)):
        expected = m.vote_fractions_to_weights(frame.iloc[i].to_dict(), domain="demo")
        got = {t: float(w) for t, w in zip(m.ALL_TAGS, matrix[i]) if w > 0}
        assert got.keys() == expected.keys()
        for tag in got:
            assert got[tag] == pytest.approx(expected[tag], abs=2e-4)


@pytest.mark.parametrize(
    "code, present",
    [
        ("Ei", {"smooth", "in-between round galaxy"}),
        ("Ser", {"edge-on galaxy", "rounded bulge"}),
        ("SBb(r)", {"bar-shaped structure in the galaxy center", "obvious bulge prominence", "ring"}),
        ("Sc2m", {"spiral galaxy", "just noticeable bulge prominence", "2 spiral arms", "medium wound spiral arms"}),
        ("Sb+t(u)", {"more than 4 spiral arms", "tightly wound spiral arms", "dust lane"}),
        ("A", {"star or artifact"}),
    ],
)
def test_gz2_class_decodes(code, present):
    assert present <= set(gz2_class_to_tags(code))


def test_gz2_class_rejects_garbage():
    with pytest.raises(ValueError, match="cannot decode"):
        gz2_class_to_tags("Qx9")


@pytest.mark.slow
def test_gz2_class_agrees_with_vote_fractions_on_real_sample(shared_data):
    table = pd.read_csv(shared_data / "gz2-sample" / "gz2_hart16_excerpt.csv")
    agree = total = 0
    for _, row in table.iterrows():
        fractions = m.cumulative_fractions(row.to_dict())
        top = max(fractions[a.tag] for a in m.TREE[0].answers)
        if top < 0.8:  # only confident classifications
            continue
        total += 1
        agree += m.top_level_tag(gz2_class_to_tags(row["gz2_class"])) == m.top_level_tag(
            m.vote_fractions_to_weights(row.to_dict())
        )
    assert total > 300
    assert agree / total >= 0.95


def test_validate_weight_rejects_non_numbers():
    with pytest.raises(ValueError):
        m.validate_weight("merger", "lots")
    assert math.isclose(m.validate_weight("merger", "1.5"), 1.5)


def test_missing_parents_walks_up_the_tree_in_tree_order():
    assert m.missing_parents({"sdss": 1.0, "spiral galaxy": 1.0}) == ("features or disk-shaped", "not edge-on")
    assert m.missing_parents({"smooth": 1.0, "dust lane": 1.3}) == ("odd feature",)
    full = {"sdss": 1.0, "features or disk-shaped": 1.0, "not edge-on": 1.0, "spiral galaxy": 1.0, "2 spiral arms": 0.8}
    assert m.missing_parents(full) == ()
    assert m.missing_parents({"spiral galaxy": 0.0}) == ()  # a zero weight asks for nothing
    with pytest.raises(ValueError, match="unknown morphology tag"):
        m.missing_parents({"blobby galaxy": 1.0})


def test_with_parents_adds_the_missing_answers_at_their_childrens_weight_up_to_one():
    assert m.with_parents({"sdss": 1.0, "spiral galaxy": 0.8}) == {
        "sdss": 1.0,
        "spiral galaxy": 0.8,
        "features or disk-shaped": 0.8,
        "not edge-on": 0.8,
    }
    # the largest child decides, capped at 1: a cumulative fraction is never above its parent's
    both = m.with_parents({"spiral galaxy": 0.6, "bar-shaped structure in the galaxy center": 0.9})
    assert both["features or disk-shaped"] == both["not edge-on"] == 0.9
    assert m.with_parents({"smooth": 1.0, "dust lane": 1.3}) == {"smooth": 1.0, "dust lane": 1.3, "odd feature": 1.0}
    assert m.with_parents({"odd feature": 0.4, "dust lane": 1.3})["odd feature"] == 0.4  # given weights are kept
    full = {"smooth": 1.0, "cigar-shaped galaxy": 1.5}
    assert m.with_parents(full) == full
