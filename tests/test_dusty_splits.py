"""benchmarks/dusty_splits.py: item 5's numbers per split of the survey and on average."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[1] / "benchmarks" / "dusty_splits.py"


def _module():
    spec = importlib.util.spec_from_file_location("dusty_splits", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _demo_eval(recall: float, ap0: float, ap3: tuple, ap7: tuple, ap_all: tuple, n_true: int = 23) -> dict:
    def pair(augmented, real, combined=None):
        entry = {"augmented": {"average_precision": augmented}, "real_only": {"average_precision": real}}
        return entry | ({"combined": {"average_precision": combined}} if combined is not None else {})

    return {
        "demo:.data/demo-10k": {
            "n_true": n_true,
            "few_real_positives": {
                "0": {"augmented": {"recall_at_200": recall, "average_precision": ap0}, "real_only": "not trained"},
                "3": pair(*ap3),
                "7": pair(*ap7),
            },
            "detectors": pair(*ap_all),
        }
    }


def test_a_split_row_reads_each_budget_and_the_mean_row_averages_the_splits():
    splits = _module()
    rows = [
        splits.split_row(_demo_eval(0.9, 0.7, (0.6, 0.5), (0.8, 0.7), (0.9, 0.95)), seed=0),
        splits.split_row(_demo_eval(0.7, 0.3, (0.4, 0.7, 0.75), (0.6, 0.8), (0.8, 0.85), n_true=26), seed=1),
    ]
    assert rows[1] == {
        "seed": 1,
        "held_out_true": 26,
        "synthetic_only_recall_at_200": 0.7,
        "synthetic_only_ap": 0.3,
        "ap_3_augmented": 0.4,
        "ap_3_real_only": 0.7,
        "ap_3_combined": 0.75,  # searches that rank by both detectors report it; older ones do not
        "ap_7_augmented": 0.6,
        "ap_7_real_only": 0.8,
        "ap_all_augmented": 0.8,
        "ap_all_real_only": 0.85,
    }
    table = splits.split_table(rows)
    mean = table.iloc[-1]
    assert list(table["seed"]) == [0, 1, "mean"]
    assert mean["synthetic_only_recall_at_200"] == pytest.approx(0.8)
    assert mean["ap_3_augmented"] == pytest.approx(0.5) and mean["ap_3_real_only"] == pytest.approx(0.6)
    assert mean["held_out_true"] == pytest.approx(24.5)


def test_a_folder_without_a_model_is_refused_before_any_search(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        _module().main([str(tmp_path), "--out", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    assert "is not a run folder" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_label_reused_with_other_settings_gets_its_own_folder(tmp_path):
    splits, run = _module(), tmp_path / "run"
    (run / "model").mkdir(parents=True)
    base = splits.work_folder(tmp_path / "out", "x", run, "demo:.data/demo-10k", [])
    assert base == splits.work_folder(tmp_path / "out", "x", run, "demo:.data/demo-10k", [])
    assert base.parent == tmp_path / "out" / "x"
    others = {
        splits.work_folder(tmp_path / "out", "x", run, "demo:.data/demo-10k", ["--prompt", "smooth, dust lane"]),
        splits.work_folder(tmp_path / "out", "x", run, "demo:elsewhere", []),
        splits.work_folder(tmp_path / "out", "x", tmp_path, "demo:.data/demo-10k", []),
    }
    assert base not in others and len(others) == 3
