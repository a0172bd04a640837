"""Derived labels: shape measurement, calibration against votes, the gate, provenance, the job."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from galaxysd.data.derived_labels import MIN_AUC, derive_labels, fit_question
from galaxysd.data.labelling_job import join_derived_labels, run_labelling
from galaxysd.data.loaders import load_catalog_spec
from galaxysd.data.shape_measure import measure_paths, measure_shape
from galaxysd.morphology import answer, fraction_column
from galaxysd.training.batches import PROVENANCE, TrainingSet, provenance_codes
from galaxysd.training.data_report import data_report, provenance_mix

ROUND, BETWEEN, CIGAR = (fraction_column(answer(t)) for t in ("completely round", "in-between", "cigar-shaped"))
SMOOTH = fraction_column(answer("smooth"))


def elliptical_galaxy(axis_ratio: float, size: int = 96, angle: float = 0.6, noise: float = 2.0, seed: int = 0):
    """A Gaussian galaxy of the given b/a on a noisy sky, as an RGB uint8 image."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:size, :size] - (size - 1) / 2
    u = x * np.cos(angle) + y * np.sin(angle)
    v = -x * np.sin(angle) + y * np.cos(angle)
    sigma = size / 10
    light = 200 * np.exp(-0.5 * ((u / sigma) ** 2 + (v / (sigma * axis_ratio)) ** 2))
    plane = np.clip(light + 20 + rng.normal(0, noise, light.shape), 0, 255)
    return np.repeat(plane[..., None], 3, axis=2).astype(np.uint8)


@pytest.mark.parametrize("axis_ratio", [1.0, 0.7, 0.4])
def test_the_measured_axis_ratio_is_that_of_the_galaxy(axis_ratio):
    measured = measure_shape(elliptical_galaxy(axis_ratio).astype(float))
    assert measured["failure"] == ""
    assert measured["axis_ratio"] == pytest.approx(axis_ratio, abs=0.08)
    assert 1.5 < measured["concentration"] < 4.0
    assert 0 < measured["r50_frac"] < measured["r90_frac"] < 0.5


def test_blank_and_unreadable_images_are_counted_failures_not_crashes(tmp_path):
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((64, 64, 3), 30, np.uint8)).save(blank)
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"not a jpeg")
    good = tmp_path / "good.png"
    Image.fromarray(elliptical_galaxy(0.5)).save(good)
    table = measure_paths([blank, corrupt, tmp_path / "missing.png", good], progress=False)
    assert table["failure"].tolist() == ["no source", "unreadable image", "unreadable image", ""]
    assert table["axis_ratio"].isna().tolist() == [True, True, True, False]


def calibration_table(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """Voted galaxies whose roundness votes follow the axis ratio, with noise."""
    rng = np.random.default_rng(seed)
    q = rng.uniform(0.15, 1.0, n)
    logits = np.column_stack([8 * (q - 0.75), np.zeros(n), 10 * (0.3 - q)]) + rng.normal(0, 0.7, (n, 3))
    votes = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    table = pd.DataFrame({ROUND: votes[:, 0], BETWEEN: votes[:, 1], CIGAR: votes[:, 2], SMOOTH: 1.0})
    table["axis_ratio"] = q
    table["t07_rounded_votes"] = 20
    table["look"] = np.where(np.arange(n) < 40, "sdss", "gz2cyan")
    return table


def test_a_question_whose_votes_follow_the_measurement_passes_the_gate():
    fit = fit_question(calibration_table(), "t07_rounded")
    report = fit.report.set_index("answer")
    assert report.loc["completely round galaxy", "auc_held_out"] > 0.9
    assert report.loc["cigar-shaped galaxy", "auc_held_out"] > 0.9
    assert report["mean_abs_error"].max() < 0.2 and report["calibration_error"].max() < 0.05
    assert report["standard_look_galaxies"].eq(40).all()
    assert set(fit.passing) >= {"completely round galaxy", "cigar-shaped galaxy"}


def test_a_question_the_measurement_cannot_tell_is_not_used():
    table = calibration_table()
    table["axis_ratio"] = np.random.default_rng(5).permutation(table["axis_ratio"].to_numpy())  # no relation
    fit = fit_question(table, "t07_rounded")
    assert (fit.report["auc_held_out"] < MIN_AUC).all() and fit.passing == []
    catalog = pd.DataFrame({"id": ["a"], SMOOTH: [1.0]})
    labels = derive_labels(catalog, pd.DataFrame({"axis_ratio": [0.3]}), [fit])
    assert ROUND not in labels and labels["derived_answers"].tolist() == [""]


def test_too_few_voted_galaxies_give_an_unused_question_not_an_error():
    fit = fit_question(calibration_table(n=12), "t07_rounded")
    assert fit.model is None and fit.passing == [] and fit.report["galaxies"].eq(12).all()


def test_derived_answers_fill_only_unvoted_galaxies_that_reach_the_question(tmp_path):
    fit = fit_question(calibration_table(), "t07_rounded")
    catalog = pd.DataFrame(
        {
            "id": ["smooth-unvoted", "smooth-voted", "spiral", "unmeasured"],
            SMOOTH: [1.0, 1.0, 0.0, 1.0],
            ROUND: [np.nan, 0.9, np.nan, np.nan],
        }
    )
    measured = pd.DataFrame({"axis_ratio": [0.2, 0.2, 0.2, np.nan]})
    labels = derive_labels(catalog, measured, [fit])
    assert labels["derived_answers"].astype(bool).tolist() == [True, False, False, False]
    assert labels.loc[0, CIGAR] > labels.loc[0, ROUND]  # b/a 0.2 reads as cigar-shaped
    path = tmp_path / "derived.csv"
    labels.to_csv(path, index=False)
    joined = join_derived_labels(catalog, path)
    assert joined.loc[1, ROUND] == 0.9  # votes are never overwritten
    assert joined["label_provenance"].tolist() == ["votes+derived", "votes", "votes", "votes"]
    with pytest.raises(ValueError, match="does not exist"):
        join_derived_labels(catalog, tmp_path / "nope.csv")


def test_the_data_report_gives_each_answer_its_provenance_mix():
    tags = ["demo", "smooth", "completely round galaxy", "merger", "odd feature"]
    catalog = pd.DataFrame(
        {
            "derived_answers": ["completely round galaxy", "", "completely round galaxy"],
            "catalogue_evidence": ["", "darg_mergers", ""],
        }
    )
    codes = provenance_codes(catalog, tags)
    assert codes[:, 2].tolist() == [1, 0, 1] and codes[:, 3].tolist() == [0, 2, 0] and codes[:, 4].tolist() == [0, 2, 0]
    conditions = np.array([[1, 1, 1, 0, 0], [1, 0, 0, 1, 1], [1, 1, 1, 0, 0]], np.float32)
    data = TrainingSet([np.zeros((3, 4, 4, 3), np.uint8)], [conditions], np.ones(1), ["x"], None, [codes])
    report = data_report(data, tags, ["demo"]).set_index("tag")
    assert report.loc["completely round galaxy", "provenance"] == "derived"
    assert report.loc["smooth", "provenance"] == "votes"
    assert report.loc["merger", "provenance"] == "catalogue"
    assert provenance_mix(np.array([0, 0, 0, 1])) == "votes 75%, derived 25%"
    assert provenance_mix(np.array([], np.uint8)) == "" and PROVENANCE[0] == "votes"


def test_the_labelling_job_on_the_shared_samples_derives_roundness_above_the_bar(shared_data, tmp_path):
    gz1 = f"gz1:{shared_data / 'gz1-sdss'}?split=holdout"
    result = run_labelling(gz1, f"gz2:{shared_data / 'gz2-sample'}", tmp_path / "labels")
    report = result.report.set_index("answer")
    for tag in ("completely round galaxy", "in-between round galaxy", "cigar-shaped galaxy"):
        assert report.loc[tag, "auc_held_out"] >= MIN_AUC and report.loc[tag, "used"], tag
        assert report.loc[tag, "galaxies"] >= 200
    assert not report.loc["obvious bulge prominence", "used"]  # concentration of a stretched JPEG: below the bar
    assert report["standard_look_galaxies"].dropna().eq(0).all()  # none of the 22 GZ1-in-Hart16 is held out
    assert result.failures == {} or sum(result.failures.values()) < 10
    for name in ("measurements.csv", "label_report.csv", "derived_labels.csv"):
        assert (tmp_path / "labels" / name).is_file()
    catalog = load_catalog_spec(f"{gz1}&labels={tmp_path / 'labels' / 'derived_labels.csv'}")
    elliptical = catalog["gz1_label"] == "elliptical"
    assert catalog.loc[elliptical, ROUND].notna().all() and catalog.loc[~elliptical, ROUND].isna().all()
    assert (catalog.loc[elliptical, "label_provenance"] == "votes+derived").all()
    assert np.allclose(catalog.loc[elliptical, [ROUND, BETWEEN, CIGAR]].sum(axis=1), 1.0)
    plain = load_catalog_spec(gz1)
    assert plain[SMOOTH].equals(catalog[SMOOTH])  # the votes are untouched
    again = run_labelling(gz1, f"gz2:{shared_data / 'gz2-sample'}", tmp_path / "labels")  # measured once
    assert again.labels.equals(result.labels)
