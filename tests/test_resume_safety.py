"""Resume that cannot silently mix runs: changed settings are refused (or forced and recorded),
a resume without a checkpoint keeps the log, and a half-written checkpoint is never used."""

from __future__ import annotations

import pytest
import yaml
from test_train import demo_dir, tiny_config  # noqa: F401 (demo_dir is a fixture)

from galaxysd.training import checkpoints as ckpt
from galaxysd.training.batches import DataSource
from galaxysd.training.checkpoints import checkpoint_dirs
from galaxysd.training.config import TrainConfig
from galaxysd.training.resume import resume_differences
from galaxysd.training.trainer import main, train


@pytest.mark.parametrize(
    "change, needle",
    [
        ({"seed": 1}, "seed: 0 -> 1"),
        ({"batch_size": 4}, "batch_size: 8 -> 4"),
        ({"prediction_type": "epsilon"}, "prediction_type: 'v_prediction' -> 'epsilon'"),
    ],
)
def test_resume_with_changed_settings_is_refused_naming_the_difference(tmp_path, demo_dir, change, needle):  # noqa: F811
    train(tiny_config(tmp_path, demo_dir, max_steps=10), progress=False)
    changed = tiny_config(tmp_path, demo_dir, max_steps=20, **change)
    with pytest.raises(ValueError, match="cannot resume") as refused:
        train(changed, resume="latest", progress=False)
    assert needle in str(refused.value) and "--force" in str(refused.value)
    assert [p.name for p in checkpoint_dirs(changed.run_dir)] == ["step_0000010"]  # nothing was written


def test_force_resumes_and_records_what_changed(tmp_path, demo_dir):  # noqa: F811
    train(tiny_config(tmp_path, demo_dir, max_steps=10), progress=False)
    run = train(tiny_config(tmp_path, demo_dir, max_steps=20, seed=5), resume="latest", progress=False, force=True)
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["forced_resume"] == ["seed: 0 -> 5"]
    assert [p.name for p in checkpoint_dirs(run)][-1] == "step_0000020"


def test_differences_cover_data_and_model():
    config = TrainConfig(data=[DataSource("demo:x", "demo")], model="tiny")
    saved = {
        **config.to_dict(),
        "data": [{"catalog": "demo:y", "domain": "demo", "weight": 1.0}],
        "model": "cpu-default",
    }
    found = resume_differences(saved, config)
    assert [d.split(":")[0] for d in found] == ["data", "model"]


def test_resume_latest_without_a_checkpoint_keeps_the_log(tmp_path, demo_dir, capsys):  # noqa: F811
    config = tiny_config(tmp_path, demo_dir)
    run = tmp_path / "run"
    run.mkdir()
    log = run / "train_log.jsonl"
    log.write_text('{"step": 5, "loss": 0.2}\n{"step": 10, "loss": 0.1}\n')
    with pytest.raises(ValueError, match="no checkpoint"):
        train(config, resume="latest", progress=False)
    assert log.read_text() == '{"step": 5, "loss": 0.2}\n{"step": 10, "loss": 0.1}\n'
    argv = ["--run-dir", str(run), "--data", f"demo:{demo_dir}@demo", "--model", "tiny", "--resume", "latest"]
    assert main(argv) == 1
    assert "no checkpoint" in capsys.readouterr().err
    assert log.read_text().count("\n") == 2


def test_a_kill_during_a_checkpoint_write_leaves_the_previous_one_in_use(tmp_path, demo_dir, monkeypatch):  # noqa: F811
    config = tiny_config(tmp_path, demo_dir, max_steps=20)
    real_save = ckpt.save_file
    calls = {"n": 0}

    def dying_save(tensors, path, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:  # the first file of the step-20 checkpoint
            raise KeyboardInterrupt("killed while writing")
        return real_save(tensors, path, *args, **kwargs)

    monkeypatch.setattr(ckpt, "save_file", dying_save)
    with pytest.raises(KeyboardInterrupt):
        train(config, progress=False)
    monkeypatch.setattr(ckpt, "save_file", real_save)
    half = list((tmp_path / "run" / "checkpoints").glob(".tmp_step_*"))
    assert half, "the interrupted write left its temporary folder"
    assert [p.name for p in checkpoint_dirs(config.run_dir)] == ["step_0000010"]
    resumed = train(config, resume="latest", progress=False)
    assert [p.name for p in checkpoint_dirs(resumed)] == ["step_0000010", "step_0000020"]
