"""Hand-computed cases that pin the morphology formulas where a mutation run found them loose.

Each test checks behaviour with numbers worked out by hand (in the comments): the GZ2 tree
built by ``_q``, Hart16 class strings, vote-fraction edge cases and the prompt syntax's
error messages. All fast: no model, no data files. (Metrics and ranking:
test_formula_mutants.py.)
"""

import re

import pytest

from galaxysd import morphology as m
from galaxysd.gz2_classes import gz2_class_to_tags

NAN = float("nan")
SMOOTH = m.fraction_column(m.answer("smooth"))
FEATURES = m.fraction_column(m.answer("features or disk-shaped"))
STAR = m.fraction_column(m.answer("star or artifact"))
NOT_EDGE_ON = m.fraction_column(m.answer("not edge-on"))
ROUND = m.fraction_column(m.answer("completely round galaxy"))

# --- the GZ2 tree ---------------------------------------------------------------------------


def test_q_builds_hart16_columns_and_kaggle_ids_numbered_from_one():
    q = m._q("t99_test", "Which one?", 12, "smooth", [("a50_first", "first", ("uno",)), ("a51_second", "second", ())])
    assert q == m.Question(
        task="t99_test",
        text="Which one?",
        answers=(
            m.Answer(tag="first", column="t99_test_a50_first", kaggle="Class12.1", parent="smooth", aliases=("uno",)),
            m.Answer(tag="second", column="t99_test_a51_second", kaggle="Class12.2", parent="smooth", aliases=()),
        ),
    )
    assert q.parent == "smooth" and q.answers[1].task == "t99_test" and q.answers[1].code == "a51"
    assert m._q("t98_top", "Top?", 1, None, [("a01_x", "x", ())]).parent is None


def test_tree_kaggle_ids_follow_the_galaxy_challenge_numbering():
    answers_per_class = [3, 2, 2, 2, 4, 2, 3, 7, 3, 3, 6]  # Class1.1-1.3, Class2.1-2.2, ...
    expected = [f"Class{c}.{i}" for c, n in enumerate(answers_per_class, start=1) for i in range(1, n + 1)]
    assert [a.kaggle for a in m.ANSWERS] == expected
    arms = m.TREE[10]
    assert [a.column for a in arms.answers][4:] == ["t11_arms_number_a36_more_than_4", "t11_arms_number_a37_cant_tell"]
    assert m.answer("more than 4 spiral arms").kaggle == "Class11.5"


# --- gz2_class strings ----------------------------------------------------------------------

FEATURED, FACE_ON = "features or disk-shaped", "not edge-on"


@pytest.mark.parametrize(
    "code, tags",
    [
        ("Ei", ["smooth", "in-between round galaxy"]),
        ("Er", ["smooth", "completely round galaxy"]),
        ("Ec", ["smooth", "cigar-shaped galaxy"]),
        ("Ser", [FEATURED, "edge-on galaxy", "rounded bulge"]),
        ("Seb", [FEATURED, "edge-on galaxy", "boxy bulge"]),
        ("Sen", [FEATURED, "edge-on galaxy", "edge-on no bulge"]),
        (
            "SBb(r)",
            [FEATURED, FACE_ON, "bar-shaped structure in the galaxy center", "obvious bulge prominence"]
            + ["no spiral arms", "odd feature", "ring"],
        ),
        (
            "Sc2m",
            [FEATURED, FACE_ON, "no bar", "just noticeable bulge prominence"]
            + ["spiral galaxy", "medium wound spiral arms", "2 spiral arms"],
        ),
        (
            "Sd?t",
            [FEATURED, FACE_ON, "no bar", "no bulge", "spiral galaxy", "tightly wound spiral arms"]
            + ["can't tell spiral arm count"],
        ),
        (
            "Sa1l(u)",
            [FEATURED, FACE_ON, "no bar", "dominant bulge prominence", "spiral galaxy", "loosely wound spiral arms"]
            + ["1 spiral arm", "odd feature", "dust lane"],
        ),
        ("Ei(m)", ["smooth", "in-between round galaxy", "odd feature", "merger"]),
        ("A", ["star or artifact"]),
    ],
)
def test_gz2_class_decodes_to_exactly_its_tags_with_weight_one(code, tags):
    assert gz2_class_to_tags(code) == dict.fromkeys(tags, 1.0)


@pytest.mark.parametrize("code", ["Sd+?t", "Sx", "E", "Ser(q)", ""])
def test_gz2_class_rejects_strings_outside_the_hart16_grammar(code):
    with pytest.raises(ValueError, match="cannot decode gz2_class"):
        gz2_class_to_tags(code)


# --- top_level_tag ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "weights, expected",
    [
        ({}, None),
        ({"smooth": 0.0, "features or disk-shaped": 0.0, "merger": 1.0}, None),  # zero is absent
        ({"smooth": 0.9, "star or artifact": 0.1}, "smooth"),  # by weight, not by name
        ({"features or disk-shaped": 0.6, "smooth": 0.3, "merger": 1.0}, "features or disk-shaped"),
        ({"star or artifact": 0.5}, "star or artifact"),  # the other t01 answers missing
        ({"smooth": 1.3, "features or disk-shaped": 1.1}, "smooth"),  # prompt weights above 1
        ({"edge-on galaxy": 1.0, "not edge-on": 1.0}, None),  # only t01 answers count
    ],
)
def test_top_level_tag_is_the_strongest_t01_answer(weights, expected):
    assert m.top_level_tag(weights) == expected


# --- vote fractions -------------------------------------------------------------------------


def test_cumulative_fractions_multiply_down_the_tree_with_debiased_columns_by_default():
    out = m.cumulative_fractions({SMOOTH: 0.4, FEATURES: 0.5, NOT_EDGE_ON: 0.5, ROUND: 0.25})
    assert list(out) == list(m.ANSWER_TAGS)
    assert out["smooth"] == 0.4 and out["features or disk-shaped"] == 0.5
    assert out["not edge-on"] == 0.25  # 0.5 * 0.5
    assert out["completely round galaxy"] == pytest.approx(0.1)  # 0.25 * 0.4
    assert out["spiral galaxy"] == 0.0 and out["star or artifact"] == 0.0


def test_cumulative_fractions_count_none_nan_and_inf_as_zero():
    out = m.cumulative_fractions({SMOOTH: None, FEATURES: NAN, STAR: float("inf"), ROUND: 1.0})
    assert out["smooth"] == 0.0 and out["features or disk-shaped"] == 0.0 and out["star or artifact"] == 0.0
    assert out["completely round galaxy"] == 0.0  # its parent "smooth" is 0
    assert m.cumulative_fractions({SMOOTH: -float("inf"), FEATURES: 2.0})["smooth"] == 0.0


def test_other_column_suffixes_are_read_when_asked_for():
    row = {"t01_smooth_or_features_a01_smooth_fraction": 0.7, SMOOTH: 0.1}
    assert m.cumulative_fractions(row, suffix="fraction")["smooth"] == 0.7
    assert m.vote_fractions_to_weights(row, suffix="fraction") == {"smooth": 0.7}


def test_vote_fraction_weights_are_rounded_to_four_decimals():
    weights = m.vote_fractions_to_weights({SMOOTH: 0.123456, FEATURES: 0.876544}, threshold=0.1)
    assert weights == {"smooth": 0.1235, "features or disk-shaped": 0.8765}


# --- weights, domains and the prompt syntax ---------------------------------------------------------


def test_weight_errors_name_the_canonical_tag_and_the_bad_value():
    with pytest.raises(ValueError, match=re.escape("weight of 'merger' must be a number, got 'lots'")):
        m.validate_weight("merger", "lots")
    with pytest.raises(ValueError, match=re.escape("weight of 'merger' must be within [0, 3], got 5")):
        m.validate_weights({"merging": 5})
    with pytest.raises(ValueError, match=re.escape("weight of 'merger' must be within [0, 3], got 9")):
        m.parse_prompt("sdss, {merging:9}")


def test_unknown_domain_tag_lists_the_known_ones():
    message = "unknown survey/domain tag 'sdsx'; known: sdss, demo, decals, hsc, gz2cyan"
    with pytest.raises(ValueError, match=re.escape(message)):
        m.domain_tag("sdsx")
    assert m.domain_tag(" HSC ") == "hsc"


def test_prompt_must_be_text():
    with pytest.raises(ValueError, match="prompt must be text, got int"):
        m.parse_prompt(5)


def test_a_second_colon_in_a_span_is_a_stray_colon():
    # rsplit once: inner "dust:lane", weight 1.2; the ':' left in the tag is rejected.
    with pytest.raises(ValueError, match="stray ':'"):
        m.parse_prompt("sdss, {dust:lane:1.2}")


def test_upper_case_prompts_are_read_case_insensitively():
    assert m.parse_prompt("SDSS, BOXY BULGE, {Dust Lane:0.5}") == {"sdss": 1.0, "boxy bulge": 1.0, "dust lane": 0.5}


def test_a_trailing_galaxy_word_is_dropped_after_a_span():
    assert m.parse_prompt("{dust lane:1.3} galaxy") == {"dust lane": 1.3}
    assert m.parse_prompt("{boxy bulge} galaxy") == {"boxy bulge": 1.1}


def test_format_prompt_writes_weight_one_bare_and_others_in_braces():
    weights = {"merger": 1.2, "sdss": 1.0, "smooth": 2.0, "dust": 1.0}
    assert m.format_prompt(weights) == "sdss, {smooth:2.0}, {merger:1.2}, dust lane"
