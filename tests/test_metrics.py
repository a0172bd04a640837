"""Realism, diversity, consistency and Pareto marking."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from evaluation_fakes import SMALL_WIDTHS, held_out_rows, real_gz1_cache, real_gz1_judge, toy_cache

from galaxysd.evaluation.classifier import Classifier, ClassifierConfig
from galaxysd.evaluation.judge import Judge
from galaxysd.evaluation.metrics import (
    CLOSEST_PAIR_IMAGES,
    MIN_REAL_IMAGES,
    closest_pair_pixels,
    consistency,
    frechet_distance,
    mark_pareto_fronts,
    mean_pairwise_distance,
    pareto_mask,
    relative_diversity,
    score_prompt,
    split_frechet,
)


def test_frechet_distance_of_a_set_with_itself_is_zero_and_grows_with_a_shift():
    features = np.random.default_rng(0).normal(size=(200, 16))
    assert frechet_distance(features, features) == pytest.approx(0.0, abs=1e-6)
    distances = [frechet_distance(features, features + shift) for shift in (0.5, 1.0, 2.0)]
    assert distances == pytest.approx([16 * 0.25, 16 * 1.0, 16 * 4.0], rel=1e-6)


def test_frechet_distance_is_stable_with_fewer_images_than_features():
    features = np.random.default_rng(1).normal(size=(10, 64))
    assert frechet_distance(features, features) == pytest.approx(0.0, abs=1e-6)
    assert np.isnan(frechet_distance(features[:1], features))


def test_frechet_distance_sees_a_change_of_spread():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(4000, 4)), 3 * rng.normal(size=(4000, 4))
    assert frechet_distance(a, b) == pytest.approx(4 * (1 + 9 - 2 * 3), rel=0.1)
    assert split_frechet(a) < 0.1 * frechet_distance(a, b)


def test_distances_need_enough_real_images_and_the_floor_matches_the_generated_count():
    rng = np.random.default_rng(3)
    real, generated = rng.normal(size=(40, 4)), rng.normal(size=(8, 4))
    presence = np.ones((8, 1), bool)
    scores = score_prompt(generated, presence, real, np.ones((40, 1), bool))
    assert np.isfinite(scores["frechet"]) and np.isfinite(scores["diversity"])
    assert scores["frechet_floor"] == pytest.approx(split_frechet(real, size=8))
    few = score_prompt(generated, presence, real[: MIN_REAL_IMAGES - 1], presence)
    assert np.isnan(few["frechet"]) and np.isnan(few["frechet_floor"])
    assert np.isnan(few["consistency_real"]) and np.isnan(few["diversity"])
    assert few["consistency"] == 1.0 and few["n_real"] == MIN_REAL_IMAGES - 1


def test_two_nearly_identical_images_among_the_first_16_are_caught():
    rng = np.random.default_rng(5)
    real, generated = rng.normal(size=(40, 4)), rng.normal(size=(24, 4))
    presence = np.ones((24, 1), bool)
    apart = score_prompt(generated, presence, real, np.ones((40, 1), bool))
    assert 0.02 < apart["closest_pair"] < 1 and 0.02 < apart["closest_pair_real"] < 1
    twins = generated.copy()
    twins[7] = twins[3] + 1e-4  # two seeds give (nearly) the same galaxy
    assert score_prompt(twins, presence, real, np.ones((40, 1), bool))["closest_pair"] < 1e-3
    twins[7], twins[CLOSEST_PAIR_IMAGES] = generated[7], twins[7]  # a twin beyond the first 16 is not looked at
    assert score_prompt(twins, presence, real, np.ones((40, 1), bool))["closest_pair"] == apart["closest_pair"]
    assert np.isnan(score_prompt(generated, presence, real[:5], presence[:5])["closest_pair"])
    flat_real = score_prompt(generated, presence, np.ones((40, 4)), np.ones((40, 1), bool))  # no real spread
    assert np.isnan(flat_real["closest_pair"]) and np.isnan(flat_real["diversity"])
    images = rng.integers(0, 256, size=(4, 8, 8, 3)).astype(np.uint8)
    assert closest_pair_pixels(images) > 50  # independent noise images differ by ~85 grey levels
    images[2] = images[0]
    assert closest_pair_pixels(images) == 0.0 and np.isnan(closest_pair_pixels(images[:1]))


def test_diversity_of_identical_images_is_zero():
    cache = toy_cache(16)
    classifier = Classifier(ClassifierConfig(image_size=32, widths=SMALL_WIDTHS, device="cpu"))
    judge = Judge(classifier)
    same = np.repeat(cache.images[:1], 8, axis=0)
    assert mean_pairwise_distance(judge.features(same)) == pytest.approx(0.0, abs=1e-5)
    real = judge.features(cache.images)
    assert relative_diversity(judge.features(same), real) == pytest.approx(0.0, abs=1e-5)
    assert relative_diversity(real, real) == pytest.approx(1.0)


def test_consistency_counts_images_with_every_tag_found():
    presence = np.array([[True, True], [True, False], [True, True], [False, False]])
    assert consistency(presence) == 0.5
    assert np.isnan(consistency(np.zeros((3, 0), bool)))


def test_pareto_marking_on_a_hand_made_set():
    # columns: Fréchet (lower is better), diversity (higher is better)
    points = np.array(
        [
            [1.0, 0.5],  # front: best realism
            [2.0, 0.9],  # front
            [3.0, 1.2],  # front: most diverse
            [2.5, 0.8],  # dominated by (2.0, 0.9)
            [3.0, 1.0],  # dominated by (3.0, 1.2)
            [1.0, 0.5],  # a tie with the first: both stay
            [np.nan, 9.0],
        ]
    )  # unmeasured: never on the front
    assert pareto_mask(points, (False, True)).tolist() == [True, True, True, False, False, True, False]


def test_pareto_fronts_are_marked_per_prompt():
    points = pd.DataFrame(
        {
            "prompt": ["A", "A", "B", "B"],
            "frechet": [1.0, 2.0, 5.0, 6.0],
            "diversity": [1.0, 0.5, 0.1, 0.2],
            "consistency": [0.5, 0.9, 0.3, 0.3],
        }
    )
    marked = mark_pareto_fronts(points)
    assert marked["pareto_realism_diversity"].tolist() == [True, False, True, True]
    assert marked["pareto_realism_consistency"].tolist() == [True, True, True, False]


def test_random_noise_is_far_less_real_than_real_galaxies(shared_data):
    cache, judge = real_gz1_cache(shared_data), real_gz1_judge(shared_data)
    real = judge.features(cache.batch(held_out_rows(shared_data)))
    noise_images = np.random.default_rng(0).integers(0, 256, (len(real), 64, 64, 3), np.uint8)
    noise = judge.features(noise_images)
    floor = split_frechet(real)
    assert frechet_distance(noise, real) > 20 * floor
    assert frechet_distance(judge.features(cache.batch(np.arange(len(cache)))), real) < 2 * floor
