"""Slider response: does raising one answer change the images, and does the judge see it?"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from galaxysd.evaluate import main as evaluate_main
from galaxysd.evaluation.judge import Judge
from galaxysd.evaluation.judge_trust import standard_look_check, trust_basis, trusted_tags
from galaxysd.evaluation.tag_response import (
    ResponseSettings,
    base_weights,
    labelled_answers,
    response_table,
    seed_difference,
)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_RUN = REPO / "assets" / "default-run"


def fake_generate(weights, n, seed, steps, guidance, sampler):
    """Seeded noise; an edge-on weight brightens the centre, a merger weight the whole image."""
    rng = np.random.default_rng(seed)
    images = rng.normal(80, 20, (n, 16, 16, 3))
    images[:, 6:10, 6:10] += 60 * weights.get("edge-on galaxy", 0.0)
    images += 100 * weights.get("merger", 0.0)
    return np.clip(images, 0, 255).astype(np.uint8)


class CentreJudge:
    """A judge whose p(edge-on) is the centre's brightness; trusted for edge-on only."""

    tags = ("edge-on galaxy", "spiral galaxy")
    train_ids = ()

    def __init__(self, report=None):
        self.report = report or {"per_tag": {"edge-on galaxy": {"auc": 0.95}, "spiral galaxy": {"auc": 0.6}}}

    def predict_tags(self, images):
        centre = images[:, 6:10, 6:10].mean(axis=(1, 2, 3)) / 255.0
        return pd.DataFrame({"edge-on galaxy": centre, "spiral galaxy": np.full(len(images), 0.5)})


def test_a_slider_works_by_the_judge_where_trusted_and_by_pixels_elsewhere():
    settings = ResponseSettings(seeds=8)
    table = response_table(
        fake_generate, CentreJudge(), ["edge-on galaxy", "spiral galaxy", "merger"], "sdss", settings, progress=False
    ).set_index("tag")
    edge_on, spiral, merger = (table.loc[t] for t in ("edge-on galaxy", "spiral galaxy", "merger"))
    assert edge_on["measured_by"] == "judge" and edge_on["works"]
    assert edge_on["judge_delta_low"] > 0 and edge_on["judge_delta"] == pytest.approx(90 / 255, rel=0.1)
    assert spiral["measured_by"] == "pixels" and not spiral["works"]  # the judge is not trusted; no pixel change
    assert spiral["pixel_ratio"] == 0
    assert merger["measured_by"] == "pixels" and merger["works"] and merger["pixel_ratio"] > 1
    assert not merger["judged"]
    assert edge_on["prompt"] == "sdss, features or disk-shaped, {edge-on galaxy:0 -> 1.5}"


def test_base_prompts_follow_the_tree_and_answers_come_from_the_data_report():
    assert base_weights("2 spiral arms", "demo") == {
        "demo": 1.0,
        "spiral galaxy": 1.0,
        "not edge-on": 1.0,
        "features or disk-shaped": 1.0,
    }
    report = pd.DataFrame(
        {
            "domain": ["sdss", "sdss", "sdss", "gz2cyan", "sdss"],
            "tag": ["smooth", "merger", "bar-shaped structure in the galaxy center", "ring", "merger"],
            "galaxies": [3949, 12, 23, 40, 9],
        }
    )
    assert labelled_answers(report, "sdss") == ["smooth", "bar-shaped structure in the galaxy center", "merger"]
    assert labelled_answers(report, "gz2cyan") == ["ring"]
    lanes = pd.DataFrame([{"domain": "sdss", "tag": "dust lane", "galaxies": 3900, "provenance": "simulated"}])
    simulated = pd.concat([report.assign(provenance="votes"), lanes], ignore_index=True)
    assert "dust lane" not in labelled_answers(simulated, "sdss")  # simulated lanes are not volunteers' labels
    assert seed_difference(np.zeros((3, 4, 4, 3), np.uint8)) == 0.0


def test_the_trust_gate_prefers_the_standard_look_check():
    judge = CentreJudge(
        {
            "per_tag": {"edge-on galaxy": {"auc": 0.95}, "spiral galaxy": {"auc": 0.95}},
            "per_source": {"gz1": {"per_tag": {"edge-on galaxy": {"auc": 0.9}, "spiral galaxy": {"auc": 0.7}}}},
        }
    )
    assert trust_basis(judge.report)[0] == "held-out gz1 galaxies"
    assert trusted_tags(judge) == {"edge-on galaxy"}
    judge.report["standard_look"] = {"per_tag": {"edge-on galaxy": {"auc": None}, "spiral galaxy": {"auc": 0.85}}}
    assert trusted_tags(judge) == {"spiral galaxy"}
    judge.report = {}
    assert trusted_tags(judge) == {"edge-on galaxy", "spiral galaxy"}  # no held-out report at all: as is


def test_the_check_scores_a_judge_on_labelled_galaxies():
    rng = np.random.default_rng(0)
    flags = rng.random(60) < 0.5
    images = rng.normal(80, 5, (60, 16, 16, 3))
    images[flags, 6:10, 6:10] += 80
    catalog = pd.DataFrame(
        {
            "id": [f"g{i}" for i in range(60)],
            "t01_smooth_or_features_a02_features_or_disk_debiased": 1.0,
            "t02_edgeon_a04_yes_debiased": flags.astype(float),
            "t02_edgeon_a05_no_debiased": (~flags).astype(float),
        }
    )
    check = standard_look_check(CentreJudge(), np.clip(images, 0, 255).astype(np.uint8), catalog)
    assert check["per_tag"]["edge-on galaxy"]["auc"] == 1.0
    assert check["per_tag"]["edge-on galaxy"]["n_test_positive"] == int(flags.sum())
    assert check["per_tag"]["spiral galaxy"]["auc"] is None  # not labelled: too few


def test_the_shipped_model_answers_its_roundness_and_disk_sliders(tmp_path):
    """The response job on the shipped run: the judge's probability rises, interval above zero."""
    code = evaluate_main(
        [
            "response",
            "--run",
            str(DEFAULT_RUN),
            "--tags",
            "completely round galaxy,not edge-on",
            "--seeds",
            "8",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    table = pd.read_csv(tmp_path / "tag_response.csv").set_index("tag")
    for tag in ("completely round galaxy", "not edge-on"):
        assert table.loc[tag, "judge_trusted"] and table.loc[tag, "judge_delta_low"] > 0
        assert table.loc[tag, "works"] and table.loc[tag, "measured_by"] == "judge"


def test_the_response_job_can_read_a_slider_at_0_as_real_galaxies_answer(tmp_path):
    """With --fill-open-questions the off images draw their roundness from real galaxies."""

    def response(*extra):
        out = tmp_path / ("filled" if extra else "typed")
        args = ["response", "--run", str(DEFAULT_RUN), "--tags", "in-between round galaxy", "--seeds", "4"]
        assert evaluate_main([*args, "--out", str(out), *extra]) == 0
        return pd.read_csv(out / "tag_response.csv").iloc[0]

    typed, filled = response(), response("--fill-open-questions")
    assert not typed["fill_open_questions"] and filled["fill_open_questions"]
    assert filled["pixel_change"] != pytest.approx(typed["pixel_change"], rel=1e-3)  # other images at 0
    assert filled["judge_p_on"] == pytest.approx(typed["judge_p_on"], abs=1e-6)  # 1.5 answers it in full


def test_judge_check_writes_the_gate_into_the_report(shared_data, tmp_path):
    judge_dir = tmp_path / "judge"
    shutil.copytree(DEFAULT_RUN / "eval" / "judge", judge_dir)
    spec = f"gz1:{shared_data / 'gz1-sdss'}?split=holdout&holdout=0.05"
    assert (
        evaluate_main(["judge-check", "--judge", str(judge_dir), "--catalog", spec, "--cache-dir", str(tmp_path)]) == 0
    )
    report = json.loads((judge_dir / "report.json").read_text())
    check = report["standard_look"]
    assert check["catalog"] == spec and check["n_images"] > 200
    assert check["per_tag"]["smooth"]["auc"] > 0.85  # the standard-look classes it does well
    judge = Judge.load(judge_dir)
    assert trust_basis(judge.report)[0] == "standard-look check"
    assert {"smooth", "edge-on galaxy"} <= trusted_tags(judge)
    assert "ring" not in trusted_tags(judge)  # GZ1 labels no rings: never trusted on the standard look
