"""Paper mode: fine-tune a local Stable Diffusion 1.5 folder the way Ma et al. (2026) did.

``python -m galaxysd.train --pretrained DIR`` builds the pipeline from ``DIR/vae``,
``DIR/text_encoder``, ``DIR/tokenizer``, ``DIR/unet`` and ``DIR/scheduler`` (the layout of
a diffusers Stable Diffusion folder; weights are read from safetensors only) and conditions
it with :class:`~galaxysd.model.encoders.WeightedCLIPEncoder`: prompts such as
``sdss, spiral galaxy, obvious bulge prominence``, each tag's token outputs times its weight,
rescaled to keep the embedding's mean.

What trains (:func:`prepare_paper_training`): the whole UNet, plus the CLIP text encoder
with ``train_text_encoder`` (the paper's setting), or, with ``lora_rank > 0``, only LoRA
adapters (peft) on the UNet's attention projections. The VAE is always frozen.

The noise schedule is the folder's own (``scheduler/scheduler_config.json``: betas, number
of timesteps and ``prediction_type``, epsilon for SD 1.5) held in a ``DDPMScheduler``, the
class training needs (``add_noise``, ``get_velocity``); samplers are built from the same
schedule at generation time. The run's ``prediction_type`` follows the folder.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path

import torch
from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
from peft import LoraConfig
from peft.tuners.tuners_utils import BaseTunerLayer
from torch import nn
from transformers import CLIPTextModel, CLIPTokenizer

from galaxysd.model.pipeline import GalaxyPipeline
from galaxysd.model.samplers import make_scheduler

log = logging.getLogger(__name__)

#: Sub-folders whose weights must be present as safetensors.
WEIGHT_FOLDERS = ("unet", "vae", "text_encoder")
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")
#: The UNet attention projections that get LoRA adapters.
LORA_TARGETS = ("to_q", "to_k", "to_v", "to_out.0")


def _weights_variant(folder: Path) -> str | None:
    """``None`` for plain safetensors names, ``"fp16"`` for a folder holding only fp16 variants."""
    weights = sorted(p.name for p in folder.glob("*.safetensors"))
    if not weights:
        pickled = sorted(p.name for p in folder.iterdir() if p.suffix in PICKLE_SUFFIXES)
        if pickled:
            raise ValueError(
                f"{folder} holds only pickle weights ({', '.join(pickled)}); convert them "
                "to .safetensors first (pickle files can run code and are never loaded)"
            )
        raise FileNotFoundError(f"{folder} has no .safetensors weight file")
    if any(".fp16" not in name for name in weights):
        return None
    return "fp16"


def check_pretrained_dir(path: str | Path) -> dict[str, str | None]:
    """Check a Stable Diffusion folder; returns the weight variant of each weight folder.

    Raises ``FileNotFoundError`` naming the first missing part and ``ValueError`` for a
    folder whose weights are pickle files only (``.bin`` next to ``.safetensors`` is ignored).
    """
    root = Path(path).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"pretrained model folder not found: {root}")
    config_files = {"scheduler": ("scheduler_config.json",), "tokenizer": ("vocab.json", "tokenizer.json")}
    for part in (*WEIGHT_FOLDERS, *config_files):
        if not (root / part).is_dir():
            raise FileNotFoundError(f"{root} is not a Stable Diffusion folder: {part}/ is missing")
    for part, names in config_files.items():
        if not any((root / part / name).is_file() for name in names):
            raise FileNotFoundError(f"{root / part} has no {' or '.join(names)}")
    return {part: _weights_variant(root / part) for part in WEIGHT_FOLDERS}


def load_pretrained_pipeline(path: str | Path, image_size: int | None = None) -> GalaxyPipeline:
    """A paper-mode :class:`GalaxyPipeline` from a local Stable Diffusion 1.5 folder (fp32).

    ``image_size`` (pixels, a multiple of the VAE's downsampling factor) sets the training
    and sampling size, e.g. the paper's 424; by default the UNet's native size (its
    ``sample_size`` times the VAE factor: 512 for SD 1.5). The UNet's ``sample_size`` is
    set to match, so the saved pipeline samples at the size it was trained at.
    """
    root = Path(path).expanduser()
    variants = check_pretrained_dir(root)
    common = {"use_safetensors": True, "dtype": torch.float32}
    unet = UNet2DConditionModel.from_pretrained(root, subfolder="unet", variant=variants["unet"], **common)
    vae = AutoencoderKL.from_pretrained(root, subfolder="vae", variant=variants["vae"], **common)
    text_encoder = CLIPTextModel.from_pretrained(
        root, subfolder="text_encoder", variant=variants["text_encoder"], **common
    )
    tokenizer = CLIPTokenizer.from_pretrained(root, subfolder="tokenizer")
    folder_schedule = DDPMScheduler.load_config(root, subfolder="scheduler")
    scheduler = make_scheduler("ddpm", {**folder_schedule, "clip_sample": False})

    if unet.config.cross_attention_dim != text_encoder.config.hidden_size:
        raise ValueError(
            f"{root}: the UNet attends to {unet.config.cross_attention_dim}-d context but the "
            f"text encoder gives {text_encoder.config.hidden_size}-d outputs"
        )
    if unet.config.in_channels != vae.config.latent_channels:
        raise ValueError(
            f"{root}: the UNet takes {unet.config.in_channels} channels but the VAE "
            f"gives {vae.config.latent_channels}-channel latents"
        )
    factor = 2 ** (len(vae.config.block_out_channels) - 1)
    if image_size is None:
        image_size = unet.config.sample_size * factor
    elif isinstance(image_size, bool) or not isinstance(image_size, int) or image_size <= 0 or image_size % factor:
        raise ValueError(
            f"image_size must be a positive multiple of {factor} (the VAE's downsampling), got {image_size!r}"
        )
    unet.register_to_config(sample_size=image_size // factor)
    return GalaxyPipeline(
        unet=unet,
        scheduler=scheduler,
        tag_encoder=None,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        image_size=image_size,
        unshuffle=1,
    )


class LoraParameters(nn.Module):
    """A model's trainable (LoRA) parameters gathered as one module.

    It shares the parameter objects with the model, so the model's forward uses them while
    the optimizer, the EMA and the checkpoints hold only the adapters. Parameter names are
    the model's with ``.`` replaced by ``__``.
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        for name, param in model.named_parameters():
            if param.requires_grad:
                self.register_parameter(name.replace(".", "__"), param)


def prepare_paper_training(pipe: GalaxyPipeline, config) -> dict[str, nn.Module]:
    """Freeze and unfreeze a paper-mode pipeline for training; returns the modules that train.

    * ``config.lora_rank > 0``: LoRA adapters (rank r, alpha r) on the UNet attention
      projections, everything else frozen -> ``{"unet_lora": LoraParameters}``;
    * otherwise the full UNet -> ``{"unet": ...}``, plus ``{"text_encoder": ...}`` with
      ``config.train_text_encoder``.

    The VAE is always frozen. ``config.prediction_type`` is set to the folder's.
    """
    rank = config.lora_rank or 0
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 0:
        raise ValueError(f"lora_rank must be a non-negative integer, got {rank!r}")
    if rank and config.train_text_encoder:
        raise ValueError(
            "lora_rank trains LoRA adapters on the UNet only; drop train_text_encoder "
            "or use lora_rank 0 for a full fine-tune"
        )
    folder_prediction = pipe.scheduler.config.prediction_type
    if config.prediction_type != folder_prediction:
        log.info("paper mode: prediction_type %s (from the model folder's scheduler)", folder_prediction)
        config.prediction_type = folder_prediction

    pipe.vae.requires_grad_(False).eval()
    pipe.text_encoder.requires_grad_(bool(config.train_text_encoder))
    pipe.text_encoder.train(bool(config.train_text_encoder))
    pipe.unet.train()
    if rank:
        pipe.unet.requires_grad_(False)
        pipe.unet.add_adapter(
            LoraConfig(r=rank, lora_alpha=rank, init_lora_weights="gaussian", target_modules=list(LORA_TARGETS))
        )
        return {"unet_lora": LoraParameters(pipe.unet)}
    pipe.unet.requires_grad_(True)
    modules: dict[str, nn.Module] = {"unet": pipe.unet}
    if config.train_text_encoder:
        modules["text_encoder"] = pipe.text_encoder
    return modules


def has_lora(model: nn.Module) -> bool:
    """True when peft adapter layers are injected in ``model``."""
    return any(isinstance(module, BaseTunerLayer) for module in model.modules())


def pipeline_for_saving(pipe: GalaxyPipeline) -> GalaxyPipeline:
    """The pipeline as ``model/`` stores it: LoRA adapters merged into a plain UNet copy.

    Without adapters this is ``pipe`` itself; ``pipe`` is never modified.
    """
    if pipe.unet is None or not has_lora(pipe.unet):
        return pipe
    unet = copy.deepcopy(pipe.unet)
    unet.fuse_lora()
    unet.unload_lora()
    return GalaxyPipeline(
        **{**pipe.components, "unet": unet}, image_size=pipe.config.image_size, unshuffle=pipe.config.unshuffle
    )
