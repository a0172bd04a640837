"""Build, save and load GalaxySD pipelines (safetensors only, atomic writes)."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import torch

from galaxysd import morphology
from galaxysd.model import encoders
from galaxysd.model.answer_prior import load_run_prior
from galaxysd.model.encoders import TagEncoder
from galaxysd.model.pipeline import GalaxyPipeline
from galaxysd.model.samplers import training_scheduler
from galaxysd.model.unet_presets import UNetSpec, build_unet

# Runs saved before the package had subpackages name the encoders' module by its old path in
# model_index.json; diffusers resolves it through sys.modules, so they keep loading.
LEGACY_MODULES = {"galaxysd.encoders": encoders}
for _old, _module in LEGACY_MODULES.items():
    sys.modules.setdefault(_old, _module)

ENCODER_DIM = 64


def build_tag_pipeline(
    spec: UNetSpec, prediction_type: str = "v_prediction", encoder_dim: int = ENCODER_DIM
) -> GalaxyPipeline:
    """A freshly initialised default (tag-encoder, pixel-unshuffle) pipeline."""
    encoder = TagEncoder(tags=morphology.ALL_TAGS, dim=encoder_dim)
    unet = build_unet(spec, cross_attention_dim=encoder_dim, class_vector_dim=encoder.num_tags)
    return GalaxyPipeline(
        unet=unet,
        scheduler=training_scheduler(prediction_type=prediction_type),
        tag_encoder=encoder,
        vae=None,
        text_encoder=None,
        tokenizer=None,
        image_size=spec.image_size,
        unshuffle=spec.unshuffle,
    )


def default_device() -> torch.device:
    """CUDA when present, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def inference_dtype(device: torch.device) -> torch.dtype:
    """fp16 on a GPU (bf16 where fp16 is unsupported), fp32 on the CPU."""
    if device.type == "cuda":
        return torch.float16
    return torch.float32


def check_model_dir(model_dir: str | Path) -> Path:
    """Raise a clear error unless ``model_dir`` holds a pipeline saved as safetensors."""
    path = Path(model_dir)
    if not (path / "model_index.json").is_file():
        raise FileNotFoundError(f"no pipeline at {path}: model_index.json is missing")
    index = json.loads((path / "model_index.json").read_text())
    for name, entry in index.items():
        if name.startswith("_") or not isinstance(entry, list) or entry[0] is None:
            continue
        if name in ("scheduler", "tokenizer"):
            continue
        folder = path / name
        pickled = sorted(p.name for p in folder.glob("*") if p.suffix in (".bin", ".pt", ".pth", ".ckpt", ".pkl"))
        if pickled:
            raise ValueError(f"{folder} holds pickle weights ({', '.join(pickled)}); only safetensors are loaded")
        if not any(folder.glob("*.safetensors")):
            raise FileNotFoundError(f"{folder} has no .safetensors weight file")
    return path


def load_pipeline(
    model_dir: str | Path, device: str | torch.device | None = None, dtype: torch.dtype | None = None
) -> GalaxyPipeline:
    """Load a saved pipeline for inference: right dtype for the device, channels-last, eval mode.

    Args:
        model_dir (`str` or `Path`): a ``model/`` folder (``model_index.json`` + safetensors),
            e.g. ``assets/default-run/model``; weights are read with safetensors only.
        device (`str` or `torch.device`, optional): default CUDA when present, else the CPU.
        dtype (`torch.dtype`, optional): default fp16 on CUDA, fp32 on the CPU.

    Example:
        >>> pipe = load_pipeline("assets/default-run/model", device="cpu")
        >>> pipe("demo, edge-on galaxy", num_images=2).arrays.dtype
        dtype('uint8')
    """
    path = check_model_dir(model_dir)
    device = torch.device(device) if device is not None else default_device()
    dtype = dtype or inference_dtype(device)
    # Read in fp32 with ordinary module construction, then cast: diffusers' low-memory path
    # swaps nn.Module.register_parameter (and a dtype load swaps torch's default dtype) for
    # the whole process while it loads, so a module built meanwhile in another thread (the
    # app loads in the background) would come out on the meta device, or in fp16.
    pipe = GalaxyPipeline.from_pretrained(path, dtype=torch.float32, use_safetensors=True, low_cpu_mem_usage=False)
    pipe.to(device)
    if dtype != torch.float32:
        for module in pipe.components.values():
            if isinstance(module, torch.nn.Module):
                # plain Module.to: diffusers' own warns on every cast, even with no fp32-only layer
                torch.nn.Module.to(module, dtype=dtype)
    pipe.unet.to(memory_format=torch.channels_last)
    pipe.answer_prior = load_run_prior(path)
    pipe.set_progress_bar_config(disable=True)
    for module in (pipe.unet, pipe.tag_encoder, pipe.vae, pipe.text_encoder):
        if module is not None:
            module.eval()
    return pipe


def save_pipeline(pipe: GalaxyPipeline, model_dir: str | Path, fp16: bool = False) -> Path:
    """Save atomically (write to a temporary sibling, then rename); fp16 halves the size."""
    target = Path(model_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    tmp.chmod(0o755)
    try:
        if fp16:
            originals = {}
            for name in ("unet", "tag_encoder", "text_encoder", "vae"):
                module = getattr(pipe, name, None)
                if module is not None:
                    originals[name] = module.dtype
                    module.to(torch.float16)
            try:
                pipe.save_pretrained(tmp, safe_serialization=True)
            finally:
                for name, dtype in originals.items():
                    getattr(pipe, name).to(dtype)
        else:
            pipe.save_pretrained(tmp, safe_serialization=True)
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target
