"""The training job: loss goes down, exact resume after a kill, run directory, bad input."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from galaxysd import morphology
from galaxysd.data.demo import render_demo_survey
from galaxysd.model.answer_prior import PRIOR_FILE, AnswerPrior
from galaxysd.model.saving import load_pipeline
from galaxysd.runs import REPO_ROOT
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
    values = dict(
        run_dir=str(tmp_path / "run"),
        cache_dir=str(tmp_path / "cache"),
        data=[DataSource(f"demo:{demo_dir}", "demo")],
        model="tiny",
        batch_size=8,
        learning_rate=2e-3,
        warmup_steps=5,
        max_steps=20,
        checkpoint_every=10,
        sample_every=1000,
        log_every=5,
        sample_steps=2,
        sample_prompts=["demo, smooth", "demo, edge-on galaxy"],
        workers=1,
        threads=1,
        min_snr_gamma=5.0,
    )
    values.update(overrides)
    return TrainConfig(**values)


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--max-steps", "5"], "no training data"),
        (["--data", "demo:/nonexistent@demo", "--batch-size", "0"], "batch_size"),
        (["--data", "demo:/nonexistent@demo", "--model", "tiny", "--max-steps", "2"], "nonexistent"),
        (["--config", "/nonexistent.yaml"], "does not exist"),
    ],
)
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


def test_cosine_schedule_warms_up_then_decays_to_a_tenth():
    from galaxysd.training.trainer import LR_FLOOR, lr_multiplier

    curve = [lr_multiplier(s, 10, 110, "cosine") for s in range(110)]
    assert curve[0] == pytest.approx(0.1) and curve[9] == pytest.approx(1.0)
    assert curve[10] == pytest.approx(1.0) and curve[60] == pytest.approx(0.55)
    assert all(a >= b for a, b in zip(curve[10:], curve[11:]))
    assert lr_multiplier(110, 10, 110, "cosine") == pytest.approx(LR_FLOOR)
    assert lr_multiplier(50, 10, 110, "constant") == 1.0
    # with a time budget the schedule follows the larger of step and time progress
    assert lr_multiplier(20, 10, 10_000, "cosine", time_fraction=1.0) == pytest.approx(LR_FLOOR)


@pytest.mark.slow
def test_killed_cosine_run_resumed_ends_with_identical_weights(tmp_path, demo_dir, monkeypatch):
    from galaxysd.training.trainer import lr_multiplier

    options = dict(lr_schedule="cosine", balanced_sampling=True, balance_by="pairs", tag_dropout_mode="tree")
    reference = train(tiny_config(tmp_path / "a", demo_dir, **options), progress=False)
    log = [json.loads(line) for line in (reference / "train_log.jsonl").read_text().splitlines()]
    assert log[-1]["lr"] == pytest.approx(2e-3 * 0.1)  # the lr logged after the last step: the floor
    assert log[1]["lr"] == pytest.approx(2e-3 * lr_multiplier(10, 5, 20, "cosine"))

    real_update = train_module.ema_update
    calls = {"n": 0}

    def dying_update(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 15:
            raise KeyboardInterrupt("killed")
        return real_update(*args, **kwargs)

    config = tiny_config(tmp_path / "b", demo_dir, **options)
    monkeypatch.setattr(train_module, "ema_update", dying_update)
    with pytest.raises(KeyboardInterrupt):
        train(config, progress=False)
    monkeypatch.setattr(train_module, "ema_update", real_update)
    resumed = train(config, resume="latest", progress=False)
    a = load_file(checkpoint_dirs(reference)[-1] / "ema.safetensors")
    b = load_file(checkpoint_dirs(resumed)[-1] / "ema.safetensors")
    assert all(torch.equal(a[key], b[key]) for key in a)


def test_balanced_sampling_draws_rare_tags_more_often_and_is_deterministic():
    from galaxysd.training.batches import TrainingSet, balanced_draw_weights

    tags = ["sdss", "smooth", "bar"]
    conditions = np.zeros((100, 3), np.float32)
    conditions[:, 0] = 1.0
    conditions[:90, 1] = 1.0  # 90 common galaxies
    conditions[90:, 2] = 1.0  # 10 barred ones
    weights = balanced_draw_weights(conditions, tags)
    assert weights.sum() == pytest.approx(1.0)
    assert weights[95] / weights[0] == pytest.approx(np.sqrt(0.9 / 0.1))
    images = np.arange(100, dtype=np.uint8)[:, None, None, None].repeat(2, 1).repeat(2, 2).repeat(3, 3)
    plain = TrainingSet([images], [conditions], np.ones(1), ["x"])
    balanced = TrainingSet([images], [conditions], np.ones(1), ["x"], [weights])

    def bar_share(data, steps=range(50)):
        return np.mean([sample_batch(data, 64, step_generator(0, s))[1][:, 2].mean().item() for s in steps])

    assert bar_share(plain) < 0.15 and bar_share(balanced) > 0.2  # 0.10 -> 0.25 expected
    first = sample_batch(balanced, 16, step_generator(4, 7))
    again = sample_batch(balanced, 16, step_generator(4, 7))
    other = sample_batch(balanced, 16, step_generator(4, 8))
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    assert not torch.equal(first[0], other[0])


@pytest.mark.parametrize(
    "preset,size,channels", [("cpu-default", 16, 48), ("cpu-unshuffle2", 32, 12), ("cpu-wide", 16, 48)]
)
def test_presets_build_a_unet_with_the_right_shape(preset, size, channels):
    from galaxysd.model.saving import build_tag_pipeline
    from galaxysd.model.unet_presets import PRESETS

    spec = PRESETS[preset]
    assert (spec.latent_size, spec.latent_channels) == (size, channels)
    pipe = build_tag_pipeline(spec)
    cond = pipe.tag_encoder.encode([{"sdss": 1.0, "bar": 1.0}] * 2)
    with torch.no_grad():
        out = pipe.unet(
            torch.randn(2, channels, size, size),
            torch.tensor([10, 500]),
            encoder_hidden_states=cond.context,
            class_labels=cond.class_vector,
        ).sample
    assert out.shape == (2, channels, size, size)


def test_a_warm_start_begins_from_a_saved_model_and_refuses_another_design(tmp_path, demo_dir):
    first = train(tiny_config(tmp_path / "a", demo_dir, max_steps=10), progress=False)
    saved = load_pipeline(first / "model", device="cpu")
    config = tiny_config(tmp_path / "b", demo_dir, init_from=str(first / "model"))
    warm = build_pipeline(config.validate())
    for name in ("unet", "tag_encoder"):
        mine, theirs = getattr(warm, name).state_dict(), getattr(saved, name).state_dict()
        assert all(torch.equal(mine[k], theirs[k].float()) for k in mine), name
    cold = build_pipeline(tiny_config(tmp_path / "c", demo_dir))
    assert not torch.equal(cold.unet.conv_in.weight, warm.unet.conv_in.weight)
    with pytest.raises(ValueError, match="not a cpu-unshuffle2 model"):
        build_pipeline(tiny_config(tmp_path / "d", demo_dir, model="cpu-unshuffle2", init_from=str(first / "model")))
    with pytest.raises(ValueError, match="not a saved model folder"):
        tiny_config(tmp_path / "e", demo_dir, init_from=str(tmp_path)).validate()


def test_the_job_makes_a_missing_demo_survey_then_trains(tmp_path, capsys):
    demo = tmp_path / "made-on-demand"
    argv = ["--data", f"demo:{demo}@demo", "--model", "tiny", "--max-steps", "2", "--batch-size", "4"]
    argv += ["--run-dir", str(tmp_path / "run"), "--cache-dir", str(tmp_path / "cache"), "--threads", "1"]
    argv += ["--sample-every", "1000", "--make-missing-demo", "24"]
    assert main(argv) == 0, capsys.readouterr().err
    assert (demo / "catalog.csv").is_file() and len(list((demo / "images").glob("*.png"))) == 24
    assert (tmp_path / "run" / "model" / "model_index.json").is_file()
    report = pd.read_csv(tmp_path / "run" / "data_report.csv")
    assert set(report["domain"]) == {"demo"} and report["galaxies"].max() <= 24
    prior = AnswerPrior.load(tmp_path / "run" / PRIOR_FILE)  # the real labels, for fill_open_questions
    assert prior.domains == {"demo"} and int(prior.table["count"].sum()) == 24
    assert load_pipeline(tmp_path / "run" / "model", device="cpu").answer_prior is not None


def test_a_new_run_that_fails_or_is_cancelled_before_a_checkpoint_leaves_nothing(tmp_path, demo_dir, monkeypatch):
    empty = tmp_path / "empty-catalog"
    empty.mkdir()
    config = tiny_config(tmp_path / "a", demo_dir, data=[DataSource(f"demo:{empty}", "demo")])
    with pytest.raises((ValueError, OSError)):
        train(config, progress=False)
    assert not (tmp_path / "a" / "run").exists()

    def cancelled(*args, **kwargs):
        raise KeyboardInterrupt("cancelled")

    monkeypatch.setattr(train_module, "ema_update", cancelled)
    config = tiny_config(tmp_path / "b", demo_dir)
    with pytest.raises(KeyboardInterrupt):
        train(config, progress=False)
    assert not (tmp_path / "b" / "run").exists()
    existing = tmp_path / "c" / "run"
    existing.mkdir(parents=True)
    (existing / "notes.txt").write_text("mine")
    with pytest.raises(KeyboardInterrupt):
        train(tiny_config(tmp_path / "c", demo_dir), progress=False)
    assert (existing / "notes.txt").read_text() == "mine"  # a folder that was there stays


@pytest.mark.slow
def test_a_cancelled_training_process_removes_its_new_run_folder(tmp_path, demo_dir):
    run = tmp_path / "run"
    command = [sys.executable, "-m", "galaxysd.train", "--data", f"demo:{demo_dir}@demo", "--model", "tiny"]
    command += ["--run-dir", str(run), "--cache-dir", str(tmp_path / "cache"), "--threads", "1"]
    command += ["--max-steps", "100000", "--checkpoint-every", "100000", "--batch-size", "4"]
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (run / "train_log.jsonl").is_file() and time.time() < deadline and process.poll() is None:
        time.sleep(0.2)
    assert (run / "config.yaml").is_file(), "training did not start"
    process.send_signal(signal.SIGTERM)  # what the app's Cancel sends
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "interrupted" in err
    assert not run.exists()


def test_a_warm_start_takes_a_model_saved_before_a_survey_tag_was_added(tmp_path, demo_dir, monkeypatch):
    from galaxysd.model.saving import build_tag_pipeline, save_pipeline
    from galaxysd.model.unet_presets import spec_from

    older_tags = tuple(t for t in morphology.ALL_TAGS if t != "gz2cyan")
    monkeypatch.setattr(morphology, "ALL_TAGS", older_tags)
    old = build_tag_pipeline(spec_from("tiny"))
    with torch.no_grad():
        old.unet.class_embedding.linear_1.weight.normal_()
    save_pipeline(old, tmp_path / "old")
    monkeypatch.undo()
    warm = build_pipeline(tiny_config(tmp_path / "b", demo_dir, init_from=str(tmp_path / "old")).validate())
    tags = list(warm.tag_encoder.tags)
    assert "gz2cyan" in tags and len(tags) == len(older_tags) + 1
    new_emb, old_emb = warm.tag_encoder.tag_embedding, old.tag_encoder.tag_embedding
    for tag in ("sdss", "smooth", "dust lane"):
        assert torch.equal(new_emb[tags.index(tag)], old_emb[older_tags.index(tag)])
    assert torch.equal(new_emb[tags.index("gz2cyan")], old_emb[older_tags.index("sdss")])  # starts as the sdss look
    new_cols, old_cols = warm.unet.class_embedding.linear_1.weight, old.unet.class_embedding.linear_1.weight
    assert torch.equal(new_cols[:, tags.index("merger")], old_cols[:, older_tags.index("merger")])
    assert torch.all(new_cols[:, tags.index("gz2cyan")] == 0)
    # the same prompt gives nearly the same prediction before and after the warm start (the new
    # tag adds one more null token for cross-attention to spread over)
    prompt = [{"sdss": 1.0, "spiral galaxy": 1.0}]
    size = warm.unet.config.sample_size
    x, t = torch.randn(1, warm.unet.config.in_channels, size, size), torch.tensor([300])
    with torch.no_grad():
        a, b = (
            p.unet(
                x,
                t,
                encoder_hidden_states=p.tag_encoder.encode(prompt).context,
                class_labels=p.tag_encoder.encode(prompt).class_vector,
            ).sample
            for p in (old, warm)
        )
    assert (a - b).abs().max() < 0.01 * a.abs().max()
