"""Shipping a run as the default keeps the model it was warm-started from (galaxysd.training.shipping)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from galaxysd.training import shipping


def _fake_run(path: Path, run_dir: str, weights: bytes, init_from: str | None) -> Path:
    """A run folder with a model (index + weights bytes), a config, a log and a data report."""
    (path / "model" / "unet").mkdir(parents=True)
    (path / "model" / "model_index.json").write_text('{"_class_name": "GalaxyPipeline"}')
    (path / "model" / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(weights)
    config = f"run_dir: {run_dir}\nmodel: cpu-default\ninit_from: {init_from or 'null'}\nlearning_rate: 0.0001\n"
    (path / "config.yaml").write_text(config)
    (path / "train_log.jsonl").write_text('{"step": 1}\n')
    (path / "data_report.csv").write_text("catalog,images\n")
    return path


@pytest.fixture
def default(tmp_path):
    return _fake_run(tmp_path / "default-run", "runs/stage-3", b"stage three weights", None)


def test_run_warm_started_from_default_keeps_outgoing_model_and_repoints_init_from(tmp_path, default):
    candidates = tmp_path / "candidates"
    outgoing_config = (default / "config.yaml").read_text()
    run = _fake_run(tmp_path / "stage-4", "runs/stage-4", b"stage four weights", str(default / "model"))
    shipped = shipping.prepare_shipped_config(run, default, candidates)

    kept = candidates / "stage-3"
    assert shipped.kept_outgoing == kept
    weights = kept / "model" / "unet" / "diffusion_pytorch_model.safetensors"
    assert weights.read_bytes() == b"stage three weights"
    assert (kept / "config.yaml").read_text() == outgoing_config
    assert (kept / "train_log.jsonl").is_file() and (kept / "data_report.csv").is_file()
    written = (default / "config.yaml").read_text()
    assert yaml.safe_load(written)["init_from"] == str(kept / "model")
    # every other line is the run's own, unchanged
    original = (run / "config.yaml").read_text().splitlines()
    assert [line for line in written.splitlines() if not line.startswith("init_from")] == [
        line for line in original if not line.startswith("init_from")
    ]
    assert not list(candidates.glob(".*partial"))


def test_run_started_elsewhere_ships_its_config_unchanged_and_keeps_nothing(tmp_path, default):
    candidates = tmp_path / "candidates"
    elsewhere = _fake_run(tmp_path / "older", "runs/older", b"older weights", None)
    run = _fake_run(tmp_path / "stage-4", "runs/stage-4", b"stage four weights", str(elsewhere / "model"))
    shipped = shipping.prepare_shipped_config(run, default, candidates)
    assert shipped.kept_outgoing is None
    assert (default / "config.yaml").read_bytes() == (run / "config.yaml").read_bytes()
    assert not candidates.exists()


def test_shipping_the_same_run_twice_keeps_the_first_outgoing_model(tmp_path, default):
    candidates = tmp_path / "candidates"
    run = _fake_run(tmp_path / "stage-4", "runs/stage-4", b"stage four weights", str(default / "model"))
    shipping.prepare_shipped_config(run, default, candidates)
    # what ship_run.sh does next: the run's model replaces the default's
    for file in ("model/unet/diffusion_pytorch_model.safetensors",):
        (default / file).write_bytes((run / file).read_bytes())
    again = shipping.prepare_shipped_config(run, default, candidates)
    assert again.kept_outgoing is None
    assert yaml.safe_load((default / "config.yaml").read_text())["init_from"] == str(candidates / "stage-3" / "model")
    assert sorted(p.name for p in candidates.iterdir()) == ["stage-3"]
    kept = candidates / "stage-3" / "model" / "unet" / "diffusion_pytorch_model.safetensors"
    assert kept.read_bytes() == b"stage three weights"


def test_an_identical_kept_copy_is_reused_and_a_different_one_is_never_overwritten(tmp_path, default, capsys):
    candidates = tmp_path / "candidates"
    assert shipping.keep_outgoing_default(default, candidates) == candidates / "stage-3"
    assert shipping.keep_outgoing_default(default, candidates) == candidates / "stage-3"

    clash = tmp_path / "clash"
    _fake_run(clash / "stage-3", "runs/stage-3", b"some other weights", None)
    run = _fake_run(tmp_path / "stage-4", "runs/stage-4", b"stage four weights", str(default / "model"))
    before = (default / "config.yaml").read_text()
    code = shipping.main([str(run), "--default", str(default), "--candidates", str(clash)])
    assert code == 1
    assert "already exists with a different model" in capsys.readouterr().err
    weights = clash / "stage-3" / "model" / "unet" / "diffusion_pytorch_model.safetensors"
    assert weights.read_bytes() == b"some other weights"
    assert (default / "config.yaml").read_text() == before


def test_a_folder_without_config_is_a_clear_error(tmp_path, default, capsys):
    code = shipping.main([str(tmp_path / "nothing-here"), "--default", str(default)])
    assert code == 1
    assert "has no config.yaml" in capsys.readouterr().err


def test_keep_outgoing_keeps_the_default_a_rival_lineage_replaces(tmp_path, default):
    candidates = tmp_path / "candidates"
    elsewhere = _fake_run(tmp_path / "rival", "runs/rival-3", b"rival stage three", None)
    run = _fake_run(tmp_path / "rival-4", "runs/rival-4", b"rival stage four", str(elsewhere / "model"))
    shipped = shipping.prepare_shipped_config(run, default, candidates, keep_outgoing=True)
    assert shipped.kept_outgoing == candidates / "stage-3"
    kept = candidates / "stage-3" / "model" / "unet" / "diffusion_pytorch_model.safetensors"
    assert kept.read_bytes() == b"stage three weights"
    # the run's own lineage is untouched: its config ships unchanged
    assert (default / "config.yaml").read_bytes() == (run / "config.yaml").read_bytes()
    # shipping the same run again keeps nothing more (the default now is that run)
    again = shipping.prepare_shipped_config(run, default, candidates, keep_outgoing=True)
    assert again.kept_outgoing is None
    assert sorted(p.name for p in candidates.iterdir()) == ["stage-3"]
