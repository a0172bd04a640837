"""The classifier and the judge: training, saving, tag targets, and sanity on real galaxies."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from evaluation_fakes import SMALL_WIDTHS, held_out_rows, real_gz1_cache, real_gz1_judge, toy_cache, toy_judge

from galaxysd.evaluation.classifier import Classifier, ClassifierConfig, random_dihedral, train_classifier
from galaxysd.evaluation.judge import Judge, JudgeConfig, calibrate_thresholds, train_judge
from galaxysd.evaluation.metrics import consistency
from galaxysd.evaluation.prompts import cumulative_table, matching_rows


def _tiny_config(**overrides) -> ClassifierConfig:
    values = dict(
        num_outputs=1, image_size=32, widths=SMALL_WIDTHS, epochs=6, batch_size=16, device="cpu", learning_rate=5e-3
    )
    return ClassifierConfig(**{**values, **overrides})


def test_tiny_classifier_training_lowers_loss_and_separates_classes():
    cache = toy_cache(64)
    edge_on = cache.catalog["t02_edgeon_a04_yes_debiased"].to_numpy()
    classifier = train_classifier(cache.images, edge_on, _tiny_config(), progress=False)
    losses = [h["loss"] for h in classifier.history]
    assert losses[-1] < 0.7 * losses[0]
    probabilities = classifier.predict_proba(cache.images)[:, 0]
    assert ((probabilities >= 0.5) == (edge_on == 1)).mean() > 0.85


def test_classifier_saves_and_reloads_identically(tmp_path):
    cache = toy_cache(32)
    targets = np.stack(
        [cache.catalog["t02_edgeon_a04_yes_debiased"], np.full(32, np.nan)], axis=1
    )  # an all-unknown output trains nothing
    config = _tiny_config(num_outputs=2, output_names=("edge", "unknown"), epochs=2, loss="focal")
    classifier = train_classifier(cache.images, targets, config, progress=False)
    classifier.save(tmp_path / "clf")
    assert sorted(p.name for p in (tmp_path / "clf").iterdir()) == ["config.json", "model.safetensors"]
    loaded = Classifier.load(tmp_path / "clf", device="cpu")
    assert loaded.config == classifier.config
    np.testing.assert_array_equal(loaded.predict_proba(cache.images), classifier.predict_proba(cache.images))
    np.testing.assert_array_equal(loaded.features(cache.images), classifier.features(cache.images))
    assert loaded.features(cache.images).shape == (32, SMALL_WIDTHS[-1])


def test_training_is_seeded():
    cache = toy_cache(32)
    targets = cache.catalog["t02_edgeon_a04_yes_debiased"].to_numpy()
    runs = [train_classifier(cache.images, targets, _tiny_config(epochs=1), progress=False) for _ in range(2)]
    np.testing.assert_array_equal(runs[0].predict_proba(cache.images), runs[1].predict_proba(cache.images))


def test_random_dihedral_only_rotates_and_flips():
    import torch

    batch = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).reshape(2, 3, 4, 4)
    out = random_dihedral(batch, torch.Generator().manual_seed(1))
    for original, turned in zip(batch, out):
        variants = [torch.rot90(original, k, dims=(1, 2)) for k in range(4)]
        variants += [torch.flip(v, dims=(2,)) for v in variants]
        assert any(torch.equal(turned, v) for v in variants)


def test_bad_images_are_rejected_with_a_clear_message():
    with pytest.raises(ValueError, match="uint8 images"):
        train_classifier(np.zeros((4, 8, 8), np.uint8), np.zeros(4), _tiny_config())


def test_cumulative_table_keeps_unknown_labels_unknown_but_zero_under_absent_parent():
    catalog = pd.DataFrame(
        {
            "t01_smooth_or_features_a01_smooth_debiased": [1.0, 0.0, 0.2],
            "t01_smooth_or_features_a02_features_or_disk_debiased": [0.0, 1.0, 0.8],
            "t02_edgeon_a05_no_debiased": [np.nan, 1.0, 0.5],
            "t04_spiral_a08_spiral_debiased": [np.nan, np.nan, 1.0],
        }
    )
    table = cumulative_table(catalog)
    assert table["spiral galaxy"].tolist()[0] == 0.0  # smooth: no disk, so no spiral
    assert np.isnan(table["spiral galaxy"].tolist()[1])  # a disk, spiral question unanswered
    assert table["spiral galaxy"].tolist()[2] == pytest.approx(0.4)
    bar = table["bar-shaped structure in the galaxy center"].tolist()
    assert bar[0] == 0.0 and np.isnan(bar[1:]).all()
    assert list(matching_rows(catalog, ("smooth",))) == [0]


def test_judge_learns_the_tags_its_labels_allow_and_round_trips(tmp_path):
    cache = toy_cache(64)
    judge = toy_judge(cache)
    assert {"smooth", "edge-on galaxy", "completely round galaxy"} <= set(judge.tags)
    assert "spiral galaxy" not in judge.tags
    assert "spiral galaxy" in judge.report["dropped_tags"]
    assert judge.report["per_tag"]["edge-on galaxy"]["n_test"] > 0
    assert judge.report["n_non_galaxy_train"] == round(0.1 * judge.report["n_train"])
    assert len(judge.train_ids) == judge.report["n_train"] + judge.report["n_calibration"]
    assert set(judge.thresholds) == set(judge.tags)
    judge.save(tmp_path / "judge")
    loaded = Judge.load(tmp_path / "judge", device="cpu")
    assert loaded.tags == judge.tags and loaded.train_ids == judge.train_ids
    assert loaded.thresholds == pytest.approx(judge.thresholds)
    pd.testing.assert_frame_equal(loaded.predict_tags(cache.images), judge.predict_tags(cache.images))
    assert loaded.report["tags"] == list(judge.tags)


def test_thresholds_are_calibrated_for_the_best_balanced_accuracy():
    probabilities = np.array([[0.05], [0.1], [0.2], [0.3], [0.35], [0.9], [0.5]])
    hard = pd.DataFrame({"ring": [0, 0, 0, 1, 1, 1, np.nan]})
    assert calibrate_thresholds(probabilities, hard, min_examples=3).tolist() == [0.3]
    assert calibrate_thresholds(probabilities, hard).tolist() == [0.5]  # too few examples


def test_judge_refuses_a_catalog_without_usable_labels():
    cache = toy_cache(16)
    cache.catalog.loc[:, cache.catalog.columns[1:]] = np.nan
    with pytest.raises(ValueError, match="allow no judge tag"):
        train_judge(cache, JudgeConfig(epochs=1, widths=SMALL_WIDTHS, device="cpu"), progress=False)


@pytest.mark.slow
def test_real_judge_finds_smooth_edge_on_and_spiral_far_above_chance(shared_data):
    cache, judge = real_gz1_cache(shared_data), real_gz1_judge(shared_data)
    rows = held_out_rows(shared_data)
    catalog = cache.catalog.iloc[rows].reset_index(drop=True)
    probabilities = judge.predict_tags(cache.batch(rows))
    prompts = {
        "smooth": ("smooth",),
        "edge-on": ("features or disk-shaped", "edge-on galaxy"),
        "spiral": ("features or disk-shaped", "not edge-on", "spiral galaxy"),
    }
    for name, tags in prompts.items():
        judged = judge.judged(tags)
        assert judged, f"judge has no output for {name}"
        of_morphology = np.zeros(len(catalog), bool)
        of_morphology[matching_rows(catalog, tags)] = True
        found = judge.presence(probabilities, judged).all(axis=1)
        in_real = consistency(judge.presence(probabilities[of_morphology], judged))
        in_others = found[~of_morphology].mean()
        assert in_real >= 0.55, (name, in_real)  # three balanced classes: chance is ~1/3
        assert in_real - in_others >= 0.3, (name, in_real, in_others)
    noise = np.random.default_rng(0).integers(0, 256, (32, 64, 64, 3), np.uint8)
    assert judge.presence(judge.predict_tags(noise), judge.tags).any(axis=1).mean() < 0.2


def test_a_look_augmentation_changes_colours_but_keeps_the_shape():
    import torch

    from galaxysd.evaluation.look_augment import random_look

    y, x = np.mgrid[:32, :32] - 15.5
    disk = np.exp(-0.5 * ((x / 8.0) ** 2 + (y / 2.5) ** 2))  # a thin horizontal disk
    batch = torch.from_numpy(np.repeat(disk[None, None], 3, axis=1).repeat(16, axis=0)).float() * 1.6 - 0.8
    first = random_look(batch, torch.Generator().manual_seed(0))
    again = random_look(batch, torch.Generator().manual_seed(0))
    assert torch.equal(first, again) and first.shape == batch.shape
    assert first.min() >= -1 and first.max() <= 1
    assert (first - batch).abs().mean() > 0.02  # the look changed
    assert first.mean(dim=(1, 2, 3)).std() > 0.01  # differently per image
    light = (first.mean(dim=1) + 1).numpy()  # still brighter along x than along y in every image
    light = light - np.median(light, axis=(1, 2), keepdims=True)
    light = np.clip(light, 0, None)
    spread_x = (light * x**2).sum(axis=(1, 2)) / light.sum(axis=(1, 2))
    spread_y = (light * y**2).sum(axis=(1, 2)) / light.sum(axis=(1, 2))
    assert (spread_x > 2 * spread_y).all()


def test_the_judge_reports_held_out_agreement_per_source():
    cache = toy_cache(64)
    cache.catalog["source"] = np.where(np.arange(64) % 2, "gz1", "gz2")
    judge = train_judge(
        cache, JudgeConfig(epochs=2, widths=SMALL_WIDTHS, device="cpu", look_augment=True), progress=False
    )
    per_source = judge.report["per_source"]
    assert set(per_source) == {"gz1", "gz2"}
    assert sum(part["n_test"] for part in per_source.values()) == judge.report["n_test"]
    assert set(per_source["gz1"]["per_tag"]) == set(judge.tags)
    assert judge.report["config"]["look_augment"] is True
