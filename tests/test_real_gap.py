"""Real gaps: how far the judge moves between real galaxies without and with an answer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from galaxysd.evaluate import main as evaluate_main
from galaxysd.evaluation.real_gap import real_gaps, with_real_gaps
from tests.test_tag_response import CentreJudge

REPO = Path(__file__).resolve().parents[1]
DEFAULT_RUN = REPO / "assets" / "default-run"


def disks(n_edge_on: int, n_face_on: int) -> tuple[np.ndarray, pd.DataFrame]:
    """Disk galaxies: edge-on ones have a bright centre (which CentreJudge reads as edge-on)."""
    rng = np.random.default_rng(1)
    flags = np.r_[np.ones(n_edge_on, bool), np.zeros(n_face_on, bool)]
    images = rng.normal(80, 5, (len(flags), 16, 16, 3))
    images[flags, 6:10, 6:10] += 80
    catalog = pd.DataFrame(
        {
            "id": [f"g{i}" for i in range(len(flags))],
            "t01_smooth_or_features_a02_features_or_disk_debiased": 1.0,
            "t02_edgeon_a04_yes_debiased": flags.astype(float),
            "t02_edgeon_a05_no_debiased": (~flags).astype(float),
        }
    )
    return np.clip(images, 0, 255).astype(np.uint8), catalog


def test_the_gap_is_the_judge_mean_on_positives_minus_on_the_base_morphology():
    images, catalog = disks(25, 35)
    gaps = real_gaps(CentreJudge(), images, catalog, ["edge-on galaxy", "spiral galaxy", "merger"]).set_index("tag")
    assert list(gaps.index) == ["edge-on galaxy", "spiral galaxy"]  # merger: the judge has no output for it
    p = CentreJudge().predict_tags(images)["edge-on galaxy"].to_numpy()
    edge_on = gaps.loc["edge-on galaxy"]
    assert edge_on["real_base_n"] == 60 and edge_on["real_answer_n"] == 25  # base: every disk
    assert edge_on["real_p_base"] == pytest.approx(p.mean())
    assert edge_on["real_p_answer"] == pytest.approx(p[:25].mean())
    assert edge_on["real_delta"] == pytest.approx(p[:25].mean() - p.mean()) and edge_on["real_delta"] > 0.1
    assert gaps.loc["spiral galaxy", "real_answer_n"] == 0 and np.isnan(gaps.loc["spiral galaxy", "real_delta"])


def test_too_few_positives_or_judge_training_galaxies_give_no_gap():
    images, catalog = disks(10, 50)
    assert np.isnan(real_gaps(CentreJudge(), images, catalog, ["edge-on galaxy"])["real_delta"].iloc[0])
    judge = CentreJudge()
    judge.train_ids = tuple(f"g{i}" for i in range(20))  # the judge saw most edge-on ones: they are left out
    images, catalog = disks(30, 30)
    gaps = real_gaps(judge, images, catalog, ["edge-on galaxy"]).iloc[0]
    assert gaps["real_answer_n"] == 10 and gaps["real_base_n"] == 40 and np.isnan(gaps["real_delta"])
    with pytest.raises(ValueError, match="images but"):
        real_gaps(judge, images[:5], catalog, ["edge-on galaxy"])


def test_the_share_of_the_real_gap_is_only_given_where_the_gap_is_positive():
    table = pd.DataFrame({"tag": ["a", "b", "c"], "judge_delta": [0.05, 0.2, 0.1]})
    gaps = pd.DataFrame({"tag": ["a", "b"], "real_delta": [0.1, -0.02]})
    merged = with_real_gaps(table, gaps).set_index("tag")
    assert merged.loc["a", "share_of_real_gap"] == pytest.approx(0.5)
    assert np.isnan(merged.loc["b", "share_of_real_gap"]) and np.isnan(merged.loc["c", "share_of_real_gap"])


def test_the_response_job_adds_real_gaps_from_held_out_galaxies(shared_data, tmp_path):
    spec = f"gz1:{shared_data / 'gz1-sdss'}?split=holdout&holdout=0.05"
    args = ["response", "--run", str(DEFAULT_RUN), "--tags", "features or disk-shaped", "--seeds", "4"]
    assert evaluate_main([*args, "--real", spec, "--cache-dir", str(tmp_path), "--out", str(tmp_path)]) == 0
    row = pd.read_csv(tmp_path / "tag_response.csv").iloc[0]
    assert row["real_answer_n"] >= 20 and row["real_base_n"] > row["real_answer_n"]  # base: every galaxy
    assert 0.3 < row["real_delta"] < 1  # disks score far higher than the average galaxy
    assert row["share_of_real_gap"] == pytest.approx(row["judge_delta"] / row["real_delta"])
