"""Weights above 1 as guidance along that answer (galaxysd.model.tag_guidance and the pipeline)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from galaxysd.evaluate import main as evaluate_main
from galaxysd.model.generate_job import GenerateJob
from galaxysd.model.tag_guidance import (
    DEFAULT_TAG_GUIDANCE,
    check_tag_guidance,
    passes_per_step,
    split_boosts,
    without_answer,
)
from galaxysd.science.synthetic_sets import SynthesisSettings

DEFAULT_RUN = Path(__file__).resolve().parents[1] / "assets" / "default-run"


def test_weights_up_to_one_are_left_alone():
    prompts = [{"sdss": 1.0, "smooth": 1.0, "completely round galaxy": 0.6}]
    clipped, boosts = split_boosts(prompts, DEFAULT_TAG_GUIDANCE)
    assert clipped == prompts and boosts == []
    assert passes_per_step(prompts, DEFAULT_TAG_GUIDANCE) == 0


def test_a_boosted_answer_is_clipped_and_removed_with_what_lies_below_it():
    prompt = {"sdss": 1.0, "features or disk-shaped": 1.5, "not edge-on": 1.0, "spiral galaxy": 1.0, "bar": 0.5}
    clipped, boosts = split_boosts([prompt], 4.0)
    assert clipped == [{**prompt, "features or disk-shaped": 1.0}]
    assert len(boosts) == 1 and boosts[0].coefficient == [pytest.approx(2.0)]
    assert boosts[0].without == [{"sdss": 1.0}]  # every answer of the disk branch goes with it


def test_a_boosted_child_keeps_its_parents():
    prompt = {"sdss": 1.0, "odd feature": 1.0, "merger": 1.5}
    assert without_answer(prompt, "merger") == {"sdss": 1.0, "odd feature": 1.0}


def test_one_pass_per_boosted_answer_and_zero_coefficients_where_an_image_has_fewer():
    prompts = [
        {"sdss": 1.0, "smooth": 1.3, "dust lane": 2.0},
        {"sdss": 1.0, "smooth": 1.0},
        {"sdss": 1.0, "odd feature": 1.0, "merger": 1.25},
    ]
    clipped, boosts = split_boosts(prompts, 2.0)
    assert len(boosts) == passes_per_step(prompts, 2.0) == 2
    assert clipped[0] == {"sdss": 1.0, "smooth": 1.0, "dust lane": 1.0}
    first, second = boosts
    assert first.coefficient == pytest.approx([2.0, 0.0, 0.5])  # dust lane (sorted), none, merger
    assert second.coefficient == pytest.approx([0.6, 0.0, 0.0])  # smooth, none, none
    assert first.without[1] == clipped[1] and first.without[2] == {"sdss": 1.0, "odd feature": 1.0}
    assert second.without[0] == {"sdss": 1.0, "dust lane": 1.0}


def test_gain_zero_keeps_the_extrapolated_weights():
    prompts = [{"sdss": 1.0, "merger": 1.5, "odd feature": 1.0}]
    assert split_boosts(prompts, 0.0) == (prompts, [])


@pytest.mark.parametrize("value", [-1.0, math.nan, math.inf, 21.0, "strong", None])
def test_bad_gains_are_a_clear_error(value):
    with pytest.raises(ValueError, match="tag_guidance"):
        check_tag_guidance(value)


def test_jobs_refuse_a_bad_gain_before_any_work():
    with pytest.raises(ValueError, match="tag_guidance"):
        GenerateJob.checked(["sdss, smooth"], 2, tag_guidance=-2)
    with pytest.raises(ValueError, match="tag_guidance"):
        SynthesisSettings(tag_guidance=float("nan"))
    assert GenerateJob.checked(["sdss, smooth"], 2).to_dict()["tag_guidance"] == DEFAULT_TAG_GUIDANCE


def _pixels(pipe, prompt, gain, seed=4, n=3, **kwargs):
    return pipe(prompt, num_images=n, seed=seed, steps=4, guidance_scale=1.0, tag_guidance=gain, **kwargs).arrays


def test_the_gain_does_not_touch_prompts_without_boosts(tiny_pipe):
    prompt = "sdss, smooth, {completely round galaxy:0.8}"
    np.testing.assert_array_equal(_pixels(tiny_pipe, prompt, 0.0), _pixels(tiny_pipe, prompt, 6.0))


def test_the_boost_moves_images_further_the_larger_the_gain(tiny_pipe):
    at_one = _pixels(tiny_pipe, "sdss, edge-on galaxy", 4.0).astype(float)
    boosted = "sdss, {edge-on galaxy:1.5}"
    distances = [np.abs(_pixels(tiny_pipe, boosted, g).astype(float) - at_one).mean() for g in (1.0, 4.0, 12.0)]
    assert 0.5 < distances[0] < distances[1] < distances[2], distances
    extrapolated = np.abs(_pixels(tiny_pipe, boosted, 0.0).astype(float) - at_one).mean()
    assert extrapolated > 0.5  # gain 0 is the embedding extrapolation, not weight 1


def test_boosts_batched_or_not_and_mixed_batches_agree(tiny_pipe):
    prompts = ["sdss, {edge-on galaxy:1.5}, {smooth:1.2}", "sdss, smooth", "sdss, odd feature, {merger:2}"]
    batched = tiny_pipe(prompts, num_images=3, seed=7, steps=4, guidance_scale=2.0).arrays.astype(int)
    separate = tiny_pipe(prompts, num_images=3, seed=7, steps=4, guidance_scale=2.0, batched_guidance=False)
    assert np.abs(batched - separate.arrays).max() <= 1
    for i, prompt in enumerate(prompts):  # an image depends on its own prompt and seed only
        alone = tiny_pipe(prompt, num_images=1, seed=7 + i, steps=4, guidance_scale=2.0).arrays[0]
        assert np.abs(batched[i] - alone).max() <= 1
    assert separate.settings["tag_guidance"] == DEFAULT_TAG_GUIDANCE


def test_the_boost_strengthens_the_shipped_models_edge_on_slider(tmp_path):
    """The response job at gains 0 and 1 on the shipped run (8 seeds): the gain is recorded and
    the judge's edge-on change grows (16 seeds: +0.27 -> +0.44, README)."""
    deltas = {}
    for gain in (0.0, 1.0):
        out = tmp_path / f"gain-{gain:g}"
        argv = ["response", "--run", str(DEFAULT_RUN), "--tags", "edge-on galaxy", "--seeds", "8"]
        assert evaluate_main(argv + ["--tag-guidance", str(gain), "--out", str(out)]) == 0
        table = pd.read_csv(out / "tag_response.csv")
        assert table["tag_guidance"].tolist() == [gain]
        deltas[gain] = float(table["judge_delta"].iloc[0])
    assert deltas[1.0] > deltas[0.0] + 0.05, deltas
    assert evaluate_main(["response", "--run", str(DEFAULT_RUN), "--tag-guidance", "-3", "--out", str(tmp_path)]) != 0
