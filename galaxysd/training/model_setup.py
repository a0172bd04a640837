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
from galaxysd.morphology import DOMAIN_TAGS
from galaxysd.training.config import TrainConfig


def build_pipeline(config: TrainConfig) -> GalaxyPipeline:
    """A fresh pipeline for the config: tag-encoder model, or paper mode from a local SD 1.5."""
    if config.pretrained:
        return load_pretrained_pipeline(config.pretrained, image_size=config.image_size)
    pipe = build_tag_pipeline(spec_from(config.model), prediction_type=config.prediction_type)
    if config.init_from:
        warm_start(pipe, Path(config.init_from), config.model)
    return pipe


def warm_start(pipe: GalaxyPipeline, model_dir: Path, preset) -> list[str]:
    """Copy the weights of a saved model (safetensors) into ``pipe``; returns the tags that
    are new (in ``pipe``'s tag list, not in the saved model's).

    The saved model must have the same UNet design (else ``ValueError``). Tags both know keep
    their learned embedding; a new survey tag starts from the saved ``sdss`` embedding (the
    closest look), any other new tag from its fresh random one. A saved tag that ``pipe``
    lacks is a ``ValueError``: its learned meaning would be lost silently.
    """
    saved = load_pipeline(model_dir, device="cpu", dtype=torch.float32)
    old_tags, new_tags = list(saved.tag_encoder.tags), list(pipe.tag_encoder.tags)
    dropped = sorted(set(old_tags) - set(new_tags))
    if dropped:
        raise ValueError(f"{model_dir} has tags this model lacks: {', '.join(dropped)}")
    try:
        pipe.unet.load_state_dict(_unet_weights_for(pipe, saved, old_tags, new_tags))
    except RuntimeError:
        raise ValueError(f"{model_dir} is not a {preset} model: its unet weights do not fit") from None
    old_embedding = saved.tag_encoder.tag_embedding.detach()
    if old_embedding.shape[1] != pipe.tag_encoder.tag_embedding.shape[1]:
        raise ValueError(f"{model_dir} is not a {preset} model: its tag_encoder weights do not fit")
    added = [tag for tag in new_tags if tag not in old_tags]
    with torch.no_grad():
        embedding = pipe.tag_encoder.tag_embedding
        for i, tag in enumerate(new_tags):
            if tag in old_tags:
                embedding[i] = old_embedding[old_tags.index(tag)]
            elif tag in DOMAIN_TAGS and "sdss" in old_tags:
                embedding[i] = old_embedding[old_tags.index("sdss")]
        pipe.tag_encoder.null_token.copy_(saved.tag_encoder.null_token)
    return added


def _unet_weights_for(pipe: GalaxyPipeline, saved: GalaxyPipeline, old_tags: list[str], new_tags: list[str]) -> dict:
    """The saved UNet's weights, with the input columns of its class embedding (one per tag)
    moved to the new tag order; columns of new tags keep ``pipe``'s fresh values (small)."""
    weights = saved.unet.state_dict()
    mine = pipe.unet.state_dict()
    key = "class_embedding.linear_1.weight"
    if key in weights and key in mine and weights[key].shape[1] == len(old_tags) != mine[key].shape[1]:
        if mine[key].shape != (weights[key].shape[0], len(new_tags)):
            return weights  # a different design: load_state_dict reports it
        moved = mine[key].clone()
        for i, tag in enumerate(new_tags):
            moved[:, i] = weights[key][:, old_tags.index(tag)] if tag in old_tags else 0.0
        weights[key] = moved
    return weights


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
