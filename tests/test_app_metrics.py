"""The Metrics page through ``streamlit.testing``: the slider table, the judge's trust gate
and the warning for result files scored with another judge."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from app_pages import open_page, problems
from app_runs import bare_copy

pytestmark = pytest.mark.slow  # renders pages end to end


def test_the_metrics_page_shows_which_sliders_work(tiny_run, app_env, tmp_path):
    run = bare_copy(tiny_run, tmp_path / "response")
    (run / "eval").mkdir()
    table = pd.DataFrame(
        {
            "tag": ["edge-on galaxy", "ring"],
            "pixel_ratio": [0.6, 0.2],
            "judged": [True, False],
            "judge_trusted": [True, False],
            "judge_delta": [0.24, float("nan")],
            "judge_delta_low": [0.07, float("nan")],
            "judge_delta_high": [0.44, float("nan")],
            "works": [True, False],
            "measured_by": ["judge", "pixels"],
        }
    )
    table.to_csv(run / "eval" / "tag_response.csv", index=False)
    app_env(run)
    at = open_page("metrics")
    assert not problems(at), problems(at)
    assert any("1 of 2 answers" in caption.value for caption in at.caption)
    shown = next(frame.value for frame in at.dataframe if "answer" in frame.value)
    assert shown["judge p change [95% CI]"].tolist() == ["+0.240 [+0.070, +0.440]", ""]
    assert shown["works"].tolist() == ["yes", "no"]
    assert "real galaxies' p change" not in shown  # written only by ``response --real``

    table.assign(real_delta=[0.28, float("nan")]).to_csv(run / "eval" / "tag_response.csv", index=False)
    at = open_page("metrics")
    shown = next(frame.value for frame in at.dataframe if "answer" in frame.value)
    assert shown["real galaxies' p change"].tolist() == ["+0.280", ""]
    assert "answer boost" not in shown  # tables from before the answer boost do not say

    table.assign(tag_guidance=4.0).to_csv(run / "eval" / "tag_response.csv", index=False)
    at = open_page("metrics")
    shown = next(frame.value for frame in at.dataframe if "answer" in frame.value)
    assert shown["answer boost"].tolist() == [4.0, 4.0] and list(shown.columns)[-1] == "works"


def test_the_metrics_page_shows_the_judge_gate_and_warns_of_files_scored_with_another_judge(
    tiny_run, app_env, tmp_path
):
    run = bare_copy(tiny_run, tmp_path / "gate")
    judge = run / "eval" / "judge"
    judge.mkdir(parents=True)
    (judge / "model.safetensors").write_bytes(b"this judge")
    report = {
        "tags": ["smooth", "in-between round galaxy", "merger"],
        "standard_look": {
            "per_tag": {
                "smooth": {"auc": 0.97, "n_test_positive": 696},
                "in-between round galaxy": {"auc": 0.79, "n_test_positive": 399},
                "merger": {"auc": None, "n_test_positive": 19},
            }
        },
    }
    (judge / "report.json").write_text(json.dumps(report))
    (run / "eval" / "curves.json").write_text(json.dumps({"settings": {}, "judge_weights": "0123456789abcdef"}))
    app_env(run)
    at = open_page("metrics")
    assert not problems(at), problems(at)
    assert any("Which answers the judge judges (1 of 3)" in e.label for e in at.expander)
    gate = next(frame.value for frame in at.dataframe if "judged" in frame.value)
    assert gate["judged"].tolist() == ["yes", "no", "no"] and gate["AUC"].tolist()[:2] == [0.97, 0.79]
    assert any("curves.json was scored with another judge" in w.value for w in at.warning)


def test_the_metrics_page_shows_the_prompts_scored_in_another_survey_look(tiny_run, app_env, tmp_path):
    shipped = json.loads((Path(__file__).parents[1] / "assets" / "default-run" / "eval" / "metrics.json").read_text())
    run = bare_copy(tiny_run, tmp_path / "looks")
    (run / "eval" / "demo").mkdir(parents=True)
    (run / "eval" / "parts").mkdir()  # work in progress, not a look
    (run / "eval" / "metrics.json").write_text(json.dumps(shipped))
    demo = {**shipped, "summary": {**shipped["summary"], "diversity": 1.234}}
    (run / "eval" / "demo" / "metrics.json").write_text(json.dumps(demo))
    app_env(run)
    at = open_page("metrics")
    assert not problems(at), problems(at)
    labels = [e.label for e in at.expander]
    assert "Per prompt in the demo look" in labels and not any("parts" in label for label in labels)
    assert any("diversity 1.23 of real" in caption.value for caption in at.caption)
