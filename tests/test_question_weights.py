"""Slider weights that keep a GZ2 question consistent, following the decision tree; survey looks."""

from __future__ import annotations

from pathlib import Path

import pytest

from galaxysd.question_weights import set_answer
from galaxysd.surveys import SURVEY_LOOKS, survey_look

BAR, NO_BAR = "bar-shaped structure in the galaxy center", "no bar"
DISK = {"sdss": 1.0, "features or disk-shaped": 1.0, "not edge-on": 1.0}


def test_raising_one_answer_past_one_clears_its_contradiction():
    weights = set_answer({**DISK, "spiral galaxy": 1.0}, "edge-on galaxy", 1.5)
    assert weights == {"sdss": 1.0, "features or disk-shaped": 1.0, "spiral galaxy": 1.0, "edge-on galaxy": 1.5}


def test_the_other_answers_shrink_to_leave_room_like_vote_fractions():
    weights = set_answer({**DISK, NO_BAR: 1.0}, BAR, 0.3)
    assert weights[BAR] == 0.3 and weights[NO_BAR] == 0.7
    # two siblings share the room in proportion: 0.6 and 0.2 scaled to fit 1 - 0.6 = 0.4
    weights = set_answer({"smooth": 0.6, "features or disk-shaped": 0.2}, "star or artifact", 0.6)
    assert weights == {"smooth": 0.3, "features or disk-shaped": 0.1, "star or artifact": 0.6}


def test_siblings_only_shrink_never_grow():
    weights = set_answer({"smooth": 0.3, "features or disk-shaped": 0.7}, "features or disk-shaped", 0.2)
    assert weights == {"smooth": 0.3, "features or disk-shaped": 0.2}
    assert set_answer({"features or disk-shaped": 1.0}, "features or disk-shaped", 0.4) == {
        "features or disk-shaped": 0.4
    }


def test_raising_an_answer_raises_the_answers_its_question_hangs_under():
    weights = set_answer({"sdss": 1.0, "smooth": 1.0}, BAR, 0.8)
    assert weights[BAR] == 0.8
    assert weights["not edge-on"] == 0.8 and weights["features or disk-shaped"] == 0.8
    assert weights["smooth"] == pytest.approx(0.2)  # its question's room after the disk answer
    # an emphasised answer needs its parents only at full weight, not emphasised
    weights = set_answer({"sdss": 1.0}, "dust lane", 1.3)
    assert weights == {"sdss": 1.0, "dust lane": 1.3, "odd feature": 1.0}


def test_setting_an_answer_to_zero_clears_the_questions_below_it():
    weights = set_answer({**DISK, "spiral galaxy": 1.0, "2 spiral arms": 1.2, BAR: 0.5}, "features or disk-shaped", 0)
    assert weights == {"sdss": 1.0}
    weights = set_answer({**DISK, "spiral galaxy": 1.0, "2 spiral arms": 1.2}, "spiral galaxy", 0)
    assert weights == DISK


def test_domain_tags_and_unrelated_questions_stay():
    weights = set_answer({"demo": 1.0, "merger": 1.0, "odd feature": 1.0, **DISK}, "edge-on galaxy", 0.5)
    assert weights["demo"] == 1.0 and weights["merger"] == 1.0 and weights["edge-on galaxy"] == 0.5


@pytest.mark.parametrize("value", [-0.5, 3.5, float("nan")])
def test_bad_weights_and_tags_are_refused(value):
    with pytest.raises(ValueError, match="weight"):
        set_answer({}, "smooth", value)
    with pytest.raises(ValueError, match="unknown morphology tag"):
        set_answer({}, "spirall galaxyy", 1.0)


def test_every_survey_tag_says_what_it_looks_like_in_the_readme():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for tag, look in SURVEY_LOOKS.items():
        assert f"| `{tag}` | {look} |" in readme
    assert "standard SDSS" in survey_look("sdss") and survey_look("nonsense") == ""
