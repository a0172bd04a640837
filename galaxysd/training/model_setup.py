"""The model a training run starts from: a fresh tag pipeline of a preset, a warm start from a
saved model of the same design, or paper mode's local Stable Diffusion 1.5; which of its
modules train; and the pipeline as ``model/`` stores it."""

from __future__ import annotations

from pathlib import Path

import torch

from galaxysd.model.paper_mode import load_pretrained_pipeline, pipeline_for_saving, prepare_paper_training
from galaxysd.model.pipeline import GalaxyPipeline
from galaxysd.model.saving import build_tag_pipeline, load_pipeline
from galaxysd.model.unet_presets import spec_from
from galaxysd.training.config import TrainConfig


def build_pipeline(config: TrainConfig) -> GalaxyPipeline:
    """A fresh pipeline for the config: tag-encoder model, or paper mode from a local SD 1.5."""
    if config.pretrained:
        return load_pretrained_pipeline(config.pretrained, image_size=config.image_size)
    pipe = build_tag_pipeline(spec_from(config.model), prediction_type=config.prediction_type)
    if config.init_from:
        warm_start(pipe, Path(config.init_from), config.model)
    return pipe


def warm_start(pipe: GalaxyPipeline, model_dir: Path, preset) -> None:
    """Copy the weights of a saved model (safetensors) into ``pipe``: the saved model must
    have the same UNet design and tag list, else ``ValueError`` says which differs."""
    saved = load_pipeline(model_dir, device="cpu", dtype=torch.float32)
    if list(saved.tag_encoder.tags) != list(pipe.tag_encoder.tags):
        missing = sorted(set(pipe.tag_encoder.tags) - set(saved.tag_encoder.tags))
        raise ValueError(f"{model_dir} has a different tag list (missing: {', '.join(missing) or 'none'})")
    for name in ("unet", "tag_encoder"):
        try:
            getattr(pipe, name).load_state_dict(getattr(saved, name).state_dict())
        except RuntimeError:
            raise ValueError(f"{model_dir} is not a {preset} model: its {name} weights do not fit") from None


def trainable_modules(pipe: GalaxyPipeline, config: TrainConfig) -> dict[str, torch.nn.Module]:
    """The modules whose weights training changes (paper mode may add LoRA adapters)."""
    if pipe.paper_mode:
        return prepare_paper_training(pipe, config)
    return {"unet": pipe.unet, "tag_encoder": pipe.tag_encoder}


def pipeline_to_save(pipe: GalaxyPipeline) -> GalaxyPipeline:
    """The pipeline as ``model/`` stores it (paper mode merges LoRA adapters into the UNet)."""
    if pipe.paper_mode:
        return pipeline_for_saving(pipe)
    return pipe
