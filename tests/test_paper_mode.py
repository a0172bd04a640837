"""Paper mode: a local Stable Diffusion folder fine-tuned (full or LoRA) with weighted CLIP prompts.

The Stable Diffusion parts are tiny stand-ins built here (CLIP text encoder, a BPE tokenizer
from a vocabulary written here, VAE, UNet, scheduler), saved the way a real SD 1.5 folder is.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from diffusers import AutoencoderKL, DDPMScheduler, PNDMScheduler, UNet2DConditionModel
from safetensors.torch import load_file
from transformers import CLIPTextConfig, CLIPTextModel
from transformers.convert_slow_tokenizer import bytes_to_unicode

from galaxysd import morphology
from galaxysd.data.demo import render_demo_survey
from galaxysd.model.encoders import WeightedCLIPEncoder
from galaxysd.model.paper_mode import load_pretrained_pipeline
from galaxysd.model.saving import load_pipeline
from galaxysd.training.batches import DataSource
from galaxysd.training.checkpoints import checkpoint_dirs
from galaxysd.training.config import TrainConfig
from galaxysd.training.trainer import main, train

pytestmark = pytest.mark.slow  # trains, renders or runs jobs end to end

REPO_ROOT = Path(__file__).resolve().parents[1]
MAX_TOKENS = 77
SD_SCHEDULE = {"beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear"}


def final_norm(text_encoder: CLIPTextModel) -> torch.nn.LayerNorm:
    return next(m for name, m in text_encoder.named_modules() if name.endswith("final_layer_norm"))


def write_bpe_tokenizer(folder) -> int:
    """A CLIP BPE tokenizer: every byte, plus merges that build each prompt word left to right."""
    folder.mkdir(parents=True)
    chars = list(bytes_to_unicode().values())
    vocab, merges = chars + [c + "</w>" for c in chars], []
    words = sorted({word for tag in morphology.ALL_TAGS for word in tag.split()})
    for word in words:
        pieces = list(word[:-1]) + [word[-1] + "</w>"]
        built = pieces[0]
        for piece in pieces[1:]:
            merges.append(f"{built} {piece}")
            built += piece
            vocab.append(built)
    vocab = list(dict.fromkeys(vocab)) + ["<|startoftext|>", "<|endoftext|>"]
    (folder / "vocab.json").write_text(json.dumps({token: i for i, token in enumerate(vocab)}))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(dict.fromkeys(merges)) + "\n")
    (folder / "tokenizer_config.json").write_text(json.dumps({"model_max_length": MAX_TOKENS}))
    return len(vocab)


def write_tiny_stable_diffusion(root) -> None:
    """The five parts of a Stable Diffusion 1.5 folder, tiny, weights as safetensors."""
    torch.manual_seed(0)
    vocab_size = write_bpe_tokenizer(root / "tokenizer")
    text = CLIPTextConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=MAX_TOKENS,
        bos_token_id=vocab_size - 2,
        eos_token_id=vocab_size - 1,
        pad_token_id=vocab_size - 1,
    )
    text_encoder = CLIPTextModel(text)
    with torch.no_grad():  # a trained CLIP's outputs have a non-zero mean; a fresh final LayerNorm's do not
        final_norm(text_encoder).bias.uniform_(0.0, 1.0)
    text_encoder.save_pretrained(root / "text_encoder", safe_serialization=True)
    AutoencoderKL(
        block_out_channels=(8, 16),
        down_block_types=("DownEncoderBlock2D",) * 2,
        up_block_types=("UpDecoderBlock2D",) * 2,
        latent_channels=4,
        norm_num_groups=8,
        sample_size=16,
    ).save_pretrained(root / "vae", safe_serialization=True)
    UNet2DConditionModel(
        sample_size=8,
        in_channels=4,
        out_channels=4,
        block_out_channels=(16, 32),
        layers_per_block=1,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=32,
        attention_head_dim=8,
        norm_num_groups=8,
    ).save_pretrained(root / "unet", safe_serialization=True)
    PNDMScheduler(**SD_SCHEDULE, skip_prk_steps=True, steps_offset=1, set_alpha_to_one=False).save_pretrained(
        root / "scheduler"
    )


@pytest.fixture(scope="module")
def sd_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("sd15")
    write_tiny_stable_diffusion(root)
    return root


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    render_demo_survey(48, out, size=16, seed=5, workers=1, progress=False)
    return out


@pytest.fixture(scope="module")
def pipe(sd_dir):
    return load_pretrained_pipeline(sd_dir)


def paper_config(tmp_path, sd_dir, demo_dir, **overrides) -> TrainConfig:
    values = dict(
        run_dir=str(tmp_path / "run"),
        cache_dir=str(tmp_path / "cache"),
        pretrained=str(sd_dir),
        data=[DataSource(f"demo:{demo_dir}", "demo")],
        batch_size=4,
        learning_rate=1e-3,
        warmup_steps=0,
        max_steps=5,
        checkpoint_every=5,
        sample_every=1000,
        log_every=1,
        sample_steps=2,
        sample_prompts=["demo, smooth", "demo, spiral galaxy"],
        workers=1,
        threads=1,
    )
    values.update(overrides)
    return TrainConfig(**values)


def frozen_module(sd_dir, name):
    loader = {"unet": UNet2DConditionModel, "vae": AutoencoderKL}.get(name, CLIPTextModel)
    return loader.from_pretrained(sd_dir / name, use_safetensors=True).state_dict()


# ----------------------------------------------------------------- prompts and weighting
def test_prompt_text_is_the_papers_style_whatever_the_tag_order(pipe):
    encoder = WeightedCLIPEncoder(pipe.tokenizer, pipe.text_encoder)
    ids, weights = encoder.tokens({"obvious bulge": 1.0, "spiral galaxy": 1.0, "sdss": 1.0})
    expected = pipe.tokenizer(
        "sdss, spiral galaxy, obvious bulge prominence", padding="max_length", max_length=MAX_TOKENS, truncation=True
    ).input_ids
    assert ids == expected and len(ids) == MAX_TOKENS
    assert weights == [1.0] * MAX_TOKENS

    ids, weights = encoder.tokens(morphology.parse_prompt("sdss, smooth, {dust lane:1.3}"))
    dust = pipe.tokenizer("dust lane", add_special_tokens=False).input_ids
    assert ids == pipe.tokenizer("sdss, smooth, dust lane", padding="max_length", max_length=MAX_TOKENS).input_ids
    start = ids.index(dust[0])
    assert weights[start : start + len(dust)] == [1.3] * len(dust)
    assert sum(w != 1.0 for w in weights) == len(dust)


def test_weight_two_changes_the_embedding_and_keeps_its_mean(pipe):
    prompts = [{"sdss": 1.0, "smooth": 1.0, "dust lane": 1.0}, {"sdss": 1.0, "smooth": 1.0, "dust lane": 2.0}]
    with torch.no_grad():
        plain, weighted = pipe.encode(prompts).context
        ids, token_weights = WeightedCLIPEncoder(pipe.tokenizer, pipe.text_encoder).tokens(prompts[1])
        hidden = pipe.text_encoder(torch.tensor([ids]))[0][0]
    assert torch.equal(plain, hidden)  # weight 1 everywhere: the text encoder's own output
    assert (weighted - plain).abs().max() > 1e-2
    assert weighted.mean().item() == pytest.approx(plain.mean().item(), rel=1e-5, abs=1e-7)
    scaled = hidden * torch.tensor(token_weights)[:, None]
    assert torch.allclose(weighted, scaled * hidden.mean() / scaled.mean(), atol=1e-6)


def test_rescale_never_flips_an_embedding_whose_mean_is_zero(pipe):
    centred = copy.deepcopy(pipe.text_encoder)
    with torch.no_grad():
        final_norm(centred).bias.zero_()  # every token's outputs average to 0
        context = WeightedCLIPEncoder(pipe.tokenizer, centred).encode([{"sdss": 1.0, "dust lane": 2.0}]).context[0]
        ids, token_weights = WeightedCLIPEncoder(pipe.tokenizer, centred).tokens({"sdss": 1.0, "dust lane": 2.0})
        hidden = centred(torch.tensor([ids]))[0][0]
    assert torch.allclose(context, hidden * torch.tensor(token_weights)[:, None], atol=1e-6)  # factor 1


def test_unknown_tag_is_a_clear_error(pipe):
    with pytest.raises(ValueError, match="unknown morphology tag"):
        pipe.encode([{"spiral galaxx": 1.0}])


# ----------------------------------------------------------------- loading a folder
def test_pretrained_folder_becomes_a_paper_mode_pipeline(pipe):
    assert pipe.paper_mode and pipe.config.image_size == 16  # UNet sample size 8 x VAE factor 2
    assert isinstance(pipe.scheduler, DDPMScheduler)
    assert pipe.scheduler.config.prediction_type == "epsilon"
    assert pipe.scheduler.config.beta_schedule == "scaled_linear"
    assert pipe.scheduler.betas[-1].item() == pytest.approx(0.012, rel=1e-4)
    out = pipe("sdss, smooth, completely round galaxy", num_images=2, steps=3, sampler="euler_a", guidance_scale=6.5)
    assert out.arrays.shape == (2, 16, 16, 3) and out.arrays.dtype == np.uint8
    dusty = pipe("sdss, smooth, {dust lane:1.3}", num_images=1, steps=2, sampler="euler_a")
    assert dusty.prompts[0] == {"sdss": 1.0, "smooth": 1.0, "dust lane": 1.3}  # the paper's text, as typed
    assert dusty.settings["complete_tree"] is False


def test_image_size_sets_the_latent_grid(sd_dir):
    pipe = load_pretrained_pipeline(sd_dir, image_size=12)
    assert pipe.latent_shape() == (4, 6, 6)
    assert pipe("sdss, merger", num_images=1, steps=2).arrays.shape == (1, 12, 12, 3)
    with pytest.raises(ValueError, match="multiple of 2"):
        load_pretrained_pipeline(sd_dir, image_size=13)


def test_missing_parts_and_pickle_weights_are_clear_errors(sd_dir, demo_dir, tmp_path, capsys):
    no_text = tmp_path / "no_text"
    shutil.copytree(sd_dir, no_text)
    shutil.rmtree(no_text / "text_encoder")
    with pytest.raises(FileNotFoundError, match="text_encoder/ is missing"):
        load_pretrained_pipeline(no_text)
    code = main(
        [
            "--pretrained",
            str(no_text),
            "--data",
            f"demo:{demo_dir}@demo",
            "--max-steps",
            "5",
            "--run-dir",
            str(tmp_path / "run"),
            "--cache-dir",
            str(tmp_path / "cache"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 1 and "text_encoder/ is missing" in err and "Traceback" not in err
    assert not (tmp_path / "run" / "model").exists()

    pickled = tmp_path / "pickled"
    shutil.copytree(sd_dir, pickled)
    weights = pickled / "unet" / "diffusion_pytorch_model.safetensors"
    weights.rename(weights.with_suffix(".bin"))
    with pytest.raises(ValueError, match="only pickle weights .*diffusion_pytorch_model.bin"):
        load_pretrained_pipeline(pickled)

    both = tmp_path / "both"
    shutil.copytree(sd_dir, both)
    (both / "vae" / "diffusion_pytorch_model.bin").write_bytes(b"never unpickled")
    assert load_pretrained_pipeline(both).vae is not None  # the safetensors file is used


# ----------------------------------------------------------------- training
def test_full_fine_tune_trains_five_steps_and_the_run_samples(sd_dir, demo_dir, tmp_path):
    config_file = tmp_path / "paper.yaml"
    config_file.write_text(
        yaml.safe_dump(
            {
                "cache_dir": str(tmp_path / "cache"),
                "learning_rate": 1e-3,
                "warmup_steps": 0,
                "batch_size": 4,
                "checkpoint_every": 5,
                "log_every": 1,
                "sample_steps": 2,
                "sample_sampler": "euler_a",
                "sample_prompts": ["sdss, smooth", "demo, spiral galaxy"],
                "workers": 1,
                "threads": 1,
            }
        )
    )
    run = tmp_path / "run"
    assert (
        main(
            [
                "--config",
                str(config_file),
                "--pretrained",
                str(sd_dir),
                "--data",
                f"demo:{demo_dir}@demo",
                "--max-steps",
                "5",
                "--train-text-encoder",
                "--run-dir",
                str(run),
            ]
        )
        == 0
    )

    log = [json.loads(line) for line in (run / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3, 4, 5] and all(np.isfinite(r["loss"]) for r in log)
    assert yaml.safe_load((run / "config.yaml").read_text())["prediction_type"] == "epsilon"
    checkpoint = checkpoint_dirs(run)[-1]
    ema = load_file(checkpoint / "ema.safetensors")
    assert {key.split(".")[0] for key in ema} == {"unet", "text_encoder"}

    pipe = load_pipeline(run / "model", device="cpu")
    assert pipe.paper_mode and pipe.vae is not None and pipe.tokenizer is not None
    for name, changed in (("unet", True), ("text_encoder", True), ("vae", False)):
        before, after = frozen_module(sd_dir, name), getattr(pipe, name).state_dict()
        differs = any(not torch.equal(before[k], after[k]) for k in before)
        assert differs == changed, name
    out = pipe(
        "sdss, spiral galaxy, obvious bulge prominence",
        num_images=2,
        seed=3,
        steps=3,
        sampler="euler_a",
        guidance_scale=6.5,
    )
    assert out.arrays.shape == (2, 16, 16, 3) and out.arrays.std() > 0
    again = pipe(
        "sdss, spiral galaxy, obvious bulge prominence",
        num_images=2,
        seed=3,
        steps=3,
        sampler="euler_a",
        guidance_scale=6.5,
    )
    assert np.array_equal(out.arrays, again.arrays)
    with torch.no_grad():
        noise = pipe.initial_noise([0, 1])
        prediction = pipe.unet(noise, 500, encoder_hidden_states=pipe.encode([{"sdss": 1.0}] * 2).context).sample
    assert torch.isfinite(prediction).all()


def test_lora_trains_only_the_adapters_and_saves_a_merged_unet(sd_dir, demo_dir, tmp_path):
    run = train(paper_config(tmp_path, sd_dir, demo_dir, lora_rank=4), progress=False)

    weights = load_file(checkpoint_dirs(run)[-1] / "weights.safetensors")
    ema = load_file(checkpoint_dirs(run)[-1] / "ema.safetensors")
    assert weights.keys() == ema.keys() and len(weights) > 0
    assert all(k.startswith("unet_lora.") and "lora_" in k for k in weights)
    lora_b = [v for k, v in weights.items() if "lora_B" in k]
    assert lora_b and all(v.abs().max() > 0 for v in lora_b)  # initialised at zero, moved by training

    pipe = load_pipeline(run / "model", device="cpu")
    merged, original = pipe.unet.state_dict(), frozen_module(sd_dir, "unet")
    assert merged.keys() == original.keys()  # plain UNet, no adapter layers left
    projections = (".to_q.", ".to_k.", ".to_v.", ".to_out.0.")
    changed = {k for k in original if not torch.equal(merged[k], original[k])}
    assert changed and all(any(p in k for p in projections) and k.endswith("weight") for k in changed)
    for name in ("text_encoder", "vae"):
        before, after = frozen_module(sd_dir, name), getattr(pipe, name).state_dict()
        assert all(torch.equal(before[k], after[k]) for k in before), name
    assert pipe("sdss, edge-on galaxy", num_images=2, steps=2).arrays.shape == (2, 16, 16, 3)


def test_lora_run_resumes_bit_for_bit(sd_dir, demo_dir, tmp_path):
    straight = train(
        paper_config(tmp_path / "a", sd_dir, demo_dir, lora_rank=2, max_steps=4, checkpoint_every=2), progress=False
    )
    config = paper_config(tmp_path / "b", sd_dir, demo_dir, lora_rank=2, max_steps=2, checkpoint_every=2)
    train(config, progress=False)
    config.max_steps = 4
    resumed = train(config, resume="latest", progress=False)
    for name in ("weights.safetensors", "ema.safetensors"):
        a, b = load_file(checkpoint_dirs(straight)[-1] / name), load_file(checkpoint_dirs(resumed)[-1] / name)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), name


def test_lora_with_text_encoder_training_is_refused(sd_dir, demo_dir, tmp_path):
    with pytest.raises(ValueError, match="LoRA adapters on the UNet only"):
        train(paper_config(tmp_path, sd_dir, demo_dir, lora_rank=4, train_text_encoder=True), progress=False)


def test_shipped_paper_config_holds_the_papers_settings():
    config = TrainConfig.from_yaml(REPO_ROOT / "assets" / "configs" / "paper_mode.yaml").validate()
    assert (config.learning_rate, config.batch_size, config.max_steps) == (1.6e-6, 16, 10_000)
    assert config.train_text_encoder and config.lora_rank == 0 and config.image_size == 424
    assert (config.sample_sampler, config.sample_steps, config.sample_guidance) == ("euler_a", 40, 6.5)
    assert 0.99 <= config.ema_decay < 1 and config.prediction_type == "epsilon"
    for prompt in config.sample_prompts:
        morphology.parse_prompt(prompt)
