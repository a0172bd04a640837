"""scripts/average_weights.py: the averaged model is the weighted mean and loads as a pipeline."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from galaxysd.model.saving import build_tag_pipeline, load_pipeline, save_pipeline
from galaxysd.model.unet_presets import PRESETS

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "average_weights.py"
UNET = Path("model") / "unet" / "diffusion_pytorch_model.safetensors"


def _script():
    spec = importlib.util.spec_from_file_location("average_weights", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(root: Path, seed: int, spec=PRESETS["tiny"]) -> Path:
    torch.manual_seed(seed)
    save_pipeline(build_tag_pipeline(spec), root / "model")
    (root / "config.yaml").write_text(f"seed: {seed}\n")
    return root


def test_the_average_is_the_weighted_mean_and_generates(tmp_path):
    first, second = _run(tmp_path / "a", 0), _run(tmp_path / "b", 1)
    out = _script().average_models(first, second, tmp_path / "soup", alpha=0.25)
    a, b, mixed = (load_file(p / UNET) for p in (first, second, tmp_path / "soup"))
    key = next(k for k in mixed if mixed[k].dtype.is_floating_point and mixed[k].numel() > 1)
    assert torch.allclose(mixed[key], 0.75 * a[key] + 0.25 * b[key], atol=1e-6)
    assert not torch.equal(mixed[key], a[key]) and not torch.equal(mixed[key], b[key])
    assert (tmp_path / "soup" / "config.yaml").read_text() == "seed: 1\n"
    images = np.asarray(load_pipeline(out)({"sdss": 1.0}, num_images=1, seed=0, steps=2).images)
    assert images.shape == (1, 16, 16, 3) and np.isfinite(images.astype(float)).all()


def test_models_of_different_designs_or_bad_shares_are_refused(tmp_path):
    script = _script()
    first = _run(tmp_path / "a", 0)
    second = _run(tmp_path / "b", 1, dataclasses.replace(PRESETS["tiny"], channels=(16, 48)))
    with pytest.raises(ValueError, match="not the same design"):
        script.average_models(first, second, tmp_path / "soup", alpha=0.5)
    with pytest.raises(ValueError, match="alpha"):
        script.average_models(first, first, tmp_path / "soup2", alpha=1.5)
    with pytest.raises(FileExistsError):
        script.average_models(first, first, tmp_path / "a", alpha=0.5)
