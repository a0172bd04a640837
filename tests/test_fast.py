"""Speed settings: the optimised path gives the reference path's images, and falls back cleanly."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from galaxysd.model import fast
from galaxysd.model.saving import build_tag_pipeline, save_pipeline
from galaxysd.model.unet_presets import PRESETS


@pytest.fixture(scope="module")
def pipes():
    """The same tiny model twice: optimised (default settings) and on the reference path."""
    torch.manual_seed(0)
    base = build_tag_pipeline(PRESETS["tiny"])
    with torch.no_grad():
        base.tag_encoder.tag_embedding.mul_(4.0)
    threads = torch.get_num_threads()
    optimised = fast.optimize(copy.deepcopy(base), fast.SpeedSettings(threads=1))
    reference = fast.optimize(base, fast.REFERENCE)
    torch.set_num_threads(threads)
    return optimised, reference


def _max_difference(a, b) -> int:
    return int(np.abs(a.arrays.astype(int) - b.arrays.astype(int)).max())


@pytest.mark.parametrize("sampler", ["dpmpp", "dpmpp_sde", "euler_a", "ddim"])
def test_optimised_and_reference_paths_agree(pipes, sampler):
    optimised, reference = pipes
    settings = {"num_images": 3, "seed": 7, "steps": 5, "sampler": sampler, "guidance_scale": 6.5}
    fast_out = optimised("sdss, spiral galaxy, {2 spiral arms:0.8}", **settings)
    slow_out = reference("sdss, spiral galaxy, {2 spiral arms:0.8}", batched_guidance=False, **settings)
    assert _max_difference(fast_out, slow_out) <= 1
    assert np.abs(fast_out.arrays.astype(float) - slow_out.arrays).mean() < 0.05


def test_settings_are_applied(pipes):
    optimised, reference = pipes
    expected = "onnxruntime" if fast.onnxruntime_available() else "torch"
    assert optimised.speed.backend == expected and optimised.speed.threads == 1
    assert optimised.use_inference_mode and optimised._unet_is_channels_last()
    assert reference.speed.backend == "torch" and reference.denoiser is None
    assert not reference.use_inference_mode and not reference._unet_is_channels_last()


@pytest.mark.slow
def test_onnx_backend_follows_weight_changes(pipes):
    pytest.importorskip("onnxruntime")
    optimised, reference = pipes
    before = optimised("sdss, smooth", num_images=2, seed=1, steps=3)
    with torch.no_grad():  # e.g. EMA weights loaded after optimisation
        for module in (optimised.unet, reference.unet):
            module.conv_out.weight.mul_(1.5)
    try:
        after = optimised("sdss, smooth", num_images=2, seed=1, steps=3)
        truth = reference("sdss, smooth", num_images=2, seed=1, steps=3)
    finally:
        with torch.no_grad():
            for module in (optimised.unet, reference.unet):
                module.conv_out.weight.div_(1.5)
    assert _max_difference(after, truth) <= 1 and _max_difference(after, before) > 2


def test_without_onnxruntime_auto_falls_back_to_torch(monkeypatch):
    monkeypatch.setattr(fast, "onnxruntime_available", lambda: False)
    torch.manual_seed(1)
    pipe = fast.optimize(build_tag_pipeline(PRESETS["tiny"]), fast.SpeedSettings(threads=1))
    assert pipe.speed.backend == "torch" and pipe.denoiser is None
    assert np.isfinite(pipe("sdss, smooth", num_images=1, steps=2).arrays).all()
    with pytest.raises(ValueError, match="needs the onnxruntime"):
        fast.optimize(pipe, fast.SpeedSettings(backend="onnxruntime", threads=1))


def test_unknown_backend_and_bad_threads_are_clear_errors(pipes):
    with pytest.raises(ValueError, match="unknown backend 'tensorrt'"):
        fast.resolve_backend(pipes[0], "tensorrt")
    with pytest.raises(ValueError, match="threads"):
        fast.configure_threads(-1)


@pytest.mark.parametrize("load, threads", [(0.0, 2), (0.4, 2), (1.0, 1), (6.5, 1)])
def test_default_threads_leave_busy_cores_alone(monkeypatch, load, threads):
    monkeypatch.setattr(fast, "available_cores", lambda: 2)
    monkeypatch.setattr(fast.os, "getloadavg", lambda: (load, load, load))
    assert fast.idle_cores() == threads
    before = torch.get_num_threads()
    try:
        assert fast.configure_threads(None) == threads == torch.get_num_threads()
        assert fast.configure_threads(0) == 2
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("bf16, expected", [(True, torch.bfloat16), (False, torch.float16)])
def test_gpu_half_precision_prefers_bf16(monkeypatch, bf16, expected):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16)
    assert fast.cuda_dtype() == expected


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_path_runs_in_half_precision():
    pipe = fast.optimize(build_tag_pipeline(PRESETS["tiny"]).to("cuda"))
    assert pipe.unet.dtype == fast.cuda_dtype() and pipe.speed.backend == "torch"
    out = pipe("sdss, smooth", num_images=2, steps=3)
    assert out.arrays.std() > 0


@pytest.mark.slow
def test_the_onnx_export_is_kept_and_reused_by_the_next_load(tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    torch.manual_seed(0)
    model = save_pipeline(build_tag_pipeline(PRESETS["tiny"]), tmp_path / "model")
    monkeypatch.setattr(fast, "ONNX_CACHE", tmp_path / "onnx")
    kept = fast.onnx_cache_file(model)
    assert kept.parent == tmp_path / "onnx" and not kept.exists()
    first = fast.load_fast_pipeline(model, fast.SpeedSettings(threads=1), device="cpu")
    assert first.denoiser.loaded_from_file is False and kept.is_file()
    second = fast.load_fast_pipeline(model, fast.SpeedSettings(threads=1), device="cpu")
    assert second.denoiser.loaded_from_file is True
    a, b = first("sdss, smooth", num_images=2, steps=3), second("sdss, smooth", num_images=2, steps=3)
    assert np.array_equal(a.arrays, b.arrays)
    # other weights -> another file name, never the stale export
    with torch.no_grad():
        first.unet.conv_out.weight.mul_(2.0)
    save_pipeline(first, tmp_path / "other")
    assert fast.onnx_cache_file(tmp_path / "other") != kept
    assert fast.onnx_cache_file(tmp_path / "missing") is None
