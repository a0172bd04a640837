"""The training job: loss goes down, exact resume after a kill, run directory, bad input."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from galaxysd import morphology
from galaxysd.data.demo import render_demo_survey
from galaxysd.model.saving import load_pipeline
from galaxysd.training import trainer as train_module
from galaxysd.training.batches import DataSource, load_training_set, sample_batch, step_generator
from galaxysd.training.checkpoints import checkpoint_dirs
from galaxysd.training.config import TrainConfig
from galaxysd.training.trainer import build_pipeline, main, train, training_loss


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    render_demo_survey(96, out, size=16, seed=3, workers=1, progress=False)
    return out


def tiny_config(tmp_path, demo_dir, **overrides) -> TrainConfig:
    values = dict(run_dir=str(tmp_path / "run"), cache_dir=str(tmp_path / "cache"),
                  data=[DataSource(f"demo:{demo_dir}", "demo")], model="tiny", batch_size=8,
                  learning_rate=2e-3, warmup_steps=5, max_steps=20, checkpoint_every=10, sample_every=1000,
                  log_every=5, sample_steps=2, sample_prompts=["demo, smooth", "demo, edge-on galaxy"],
                  workers=1, threads=1, min_snr_gamma=5.0)
    values.update(overrides)
    return TrainConfig(**values)


def test_fifty_steps_lower_the_loss_on_a_fixed_batch(tmp_path, demo_dir):
    config = tiny_config(tmp_path, demo_dir, max_steps=50, checkpoint_every=50)
    tags = list(morphology.ALL_TAGS)
    data = load_training_set(config.data, tmp_path / "cache", 16, tags, config.threshold, workers=1)
    pixels, vectors = sample_batch(data, 32, step_generator(123, 0))

    def fixed_batch_loss(pipe):
        with torch.no_grad():
            return training_loss(pipe, config, pixels, vectors, torch.Generator().manual_seed(7), tags).item()

    torch.manual_seed(config.seed)
    before = fixed_batch_loss(build_pipeline(config))
    run = train(config, progress=False)
    torch.manual_seed(config.seed)
    trained = build_pipeline(config)
    weights = load_file(checkpoint_dirs(run)[-1] / "weights.safetensors")
    trained.unet.load_state_dict({k[5:]: v for k, v in weights.items() if k.startswith("unet.")})
    trained.tag_encoder.load_state_dict({k[12:]: v for k, v in weights.items() if k.startswith("tag_encoder.")})
    after = fixed_batch_loss(trained)
    assert after < 0.8 * before


def test_run_directory_contract(tmp_path, demo_dir):
    run = train(tiny_config(tmp_path, demo_dir), progress=False)
    assert (run / "config.yaml").is_file() and (run / "model" / "model_index.json").is_file()
    log = [json.loads(line) for line in (run / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [5, 10, 15, 20]
    assert {"loss", "lr", "images_per_s", "elapsed_s"} <= set(log[0])
    assert list((run / "samples").glob("step_*.png"))
    assert [p.name for p in checkpoint_dirs(run)] == ["step_0000010", "step_0000020"]
    out = load_pipeline(run / "model", device="cpu")("demo, smooth", num_images=2, steps=2)
    assert out.arrays.shape == (2, 16, 16, 3)


def test_killed_run_resumed_ends_with_identical_weights(tmp_path, demo_dir, monkeypatch):
    reference = train(tiny_config(tmp_path / "a", demo_dir), progress=False)

    calls = {"n": 0}
    real_update = train_module.ema_update

    def dying_update(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 15:  # after the step-10 checkpoint, before step 20
            raise KeyboardInterrupt("killed")
        return real_update(*args, **kwargs)

    config = tiny_config(tmp_path / "b", demo_dir)
    monkeypatch.setattr(train_module, "ema_update", dying_update)
    with pytest.raises(KeyboardInterrupt):
        train(config, progress=False)
    monkeypatch.setattr(train_module, "ema_update", real_update)
    assert [p.name for p in checkpoint_dirs(config.run_dir)] == ["step_0000010"]
    resumed = train(config, resume="latest", progress=False)

    for name in ("weights.safetensors", "ema.safetensors"):
        a = load_file(checkpoint_dirs(reference)[-1] / name)
        b = load_file(checkpoint_dirs(resumed)[-1] / name)
        assert a.keys() == b.keys()
        for key in a:
            assert torch.equal(a[key], b[key]), key
    steps = [json.loads(line)["step"] for line in (resumed / "train_log.jsonl").read_text().splitlines()]
    assert steps == [5, 10, 15, 20]  # the log of the killed attempt was truncated, not duplicated


def test_time_budget_stops_cleanly_with_a_model(tmp_path, demo_dir):
    run = train(tiny_config(tmp_path, demo_dir, max_steps=100_000, time_budget_minutes=0.0), progress=False)
    assert (run / "model" / "model_index.json").is_file()
    assert len(checkpoint_dirs(run)) == 1


def test_orientation_augmentation_preserves_pixels():
    from galaxysd.training.batches import augment_orientation

    x = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).reshape(2, 3, 4, 4)
    y = augment_orientation(x, torch.Generator().manual_seed(0))
    for a, b in zip(x, y):
        assert torch.equal(a.flatten().sort().values, b.flatten().sort().values)


@pytest.mark.parametrize("argv, needle", [
    (["--max-steps", "5"], "no training data"),
    (["--data", "demo:/nonexistent@demo", "--batch-size", "0"], "batch_size"),
    (["--data", "demo:/nonexistent@demo", "--model", "tiny", "--max-steps", "2"], "nonexistent"),
    (["--config", "/nonexistent.yaml"], "does not exist"),
])
def test_cli_bad_input_is_one_line_and_exit_1(tmp_path, argv, needle, capsys):
    code = main([*argv, "--run-dir", str(tmp_path / "run"), "--cache-dir", str(tmp_path / "cache")])
    assert code == 1
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_existing_checkpoints_need_resume(tmp_path, demo_dir):
    config = tiny_config(tmp_path, demo_dir, max_steps=10)
    train(config, progress=False)
    with pytest.raises(ValueError, match="--resume latest"):
        train(config, progress=False)


def test_unknown_config_keys_are_rejected(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("batch_sise: 3\n")
    with pytest.raises(ValueError, match="batch_sise"):
        TrainConfig.from_yaml(path)


def test_demo_domain_conditions_are_set(tmp_path, demo_dir):
    tags = list(morphology.ALL_TAGS)
    data = load_training_set([DataSource(f"demo:{demo_dir}", "demo")], tmp_path / "c", 16, tags, 0.3, workers=1)
    vectors = data.conditions[0]
    assert np.all(vectors[:, tags.index("demo")] == 1.0) and np.all(vectors[:, tags.index("sdss")] == 0.0)
    assert vectors.shape == (96, len(tags)) and vectors.max() <= 1.0
