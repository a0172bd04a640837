"""The diffusion pipeline: conditioning, determinism, save/reload, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from galaxysd import morphology
from galaxysd.model.saving import load_pipeline, save_pipeline


@pytest.fixture(scope="module")
def pipe(tiny_pipe):
    return tiny_pipe


def test_output_shapes_types_and_range(pipe):
    out = pipe("sdss, smooth, {dust lane:1.3}", num_images=3, seed=5, steps=3)
    assert out.arrays.shape == (3, 16, 16, 3) and out.arrays.dtype == np.uint8
    assert len(out.images) == 3 and out.images[0].size == (16, 16)
    assert out.seeds == [5, 6, 7]
    # the decision tree asks about a dust lane only after "odd feature": generation adds it
    assert out.prompts[0] == {"sdss": 1.0, "smooth": 1.0, "dust lane": 1.3, "odd feature": 1.0}
    assert out.settings["complete_tree"] is True


def test_a_prompt_draws_what_its_completed_tree_draws_unless_told_not_to(pipe):
    typed = pipe("sdss, smooth, {dust lane:1.3}", num_images=2, seed=4, steps=3)
    written = pipe("sdss, smooth, odd feature, {dust lane:1.3}", num_images=2, seed=4, steps=3)
    np.testing.assert_array_equal(typed.arrays, written.arrays)
    as_typed = pipe("sdss, smooth, {dust lane:1.3}", num_images=2, seed=4, steps=3, complete_tree=False)
    assert as_typed.prompts[0] == {"sdss": 1.0, "smooth": 1.0, "dust lane": 1.3}
    assert np.abs(as_typed.arrays.astype(int) - typed.arrays).mean() > 0
    # a slider below 1 implies its parents at its own weight, so a morph changes smoothly
    assert pipe({"sdss": 1.0, "merger": 0.4}, num_images=1, steps=2).prompts[0]["odd feature"] == 0.4


def test_same_seed_same_image_regardless_of_batch(pipe):
    alone = pipe("sdss, merger", num_images=1, seed=11, steps=3).arrays[0]
    batched = pipe("sdss, merger", num_images=3, seed=9, steps=3).arrays[2]
    assert np.abs(alone.astype(int) - batched).max() <= 1  # float rounding differs with batch size


def test_different_weights_give_different_images(pipe):
    low = pipe({"sdss": 1.0, "edge-on galaxy": 0.2}, num_images=2, seed=3, steps=4).arrays.astype(float)
    high = pipe({"sdss": 1.0, "edge-on galaxy": 2.5}, num_images=2, seed=3, steps=4).arrays.astype(float)
    assert np.abs(low - high).mean() > 1.0


def test_all_zero_weights_equal_the_unconditional_branch(pipe):
    zeros = {tag: 0.0 for tag in morphology.ALL_TAGS}
    cond = pipe.encode([zeros])
    uncond = pipe.encode([{}])
    assert torch.equal(cond.context, uncond.context)
    assert torch.equal(cond.class_vector, uncond.class_vector)
    a = pipe(zeros, num_images=2, seed=1, steps=3, guidance_scale=4.0).arrays
    b = pipe("", num_images=2, seed=1, steps=3, guidance_scale=4.0).arrays
    np.testing.assert_array_equal(a, b)


def test_batched_guidance_equals_two_passes(pipe):
    a = pipe("sdss, spiral galaxy", num_images=2, seed=2, steps=3).arrays.astype(int)
    b = pipe("sdss, spiral galaxy", num_images=2, seed=2, steps=3, batched_guidance=False).arrays.astype(int)
    assert np.abs(a - b).max() <= 1


def test_saved_pipeline_reloads_bit_identical(pipe, tmp_path):
    save_pipeline(pipe, tmp_path / "model")
    reloaded = load_pipeline(tmp_path / "model", device="cpu")
    for sampler in ("dpmpp", "euler_a", "ddim"):
        a = pipe("sdss, ring", num_images=2, seed=4, steps=3, sampler=sampler).arrays
        b = reloaded("sdss, ring", num_images=2, seed=4, steps=3, sampler=sampler).arrays
        np.testing.assert_array_equal(a, b)


def test_fp16_save_is_half_the_size_and_still_loads(pipe, tmp_path):
    full = save_pipeline(pipe, tmp_path / "fp32")
    half = save_pipeline(pipe, tmp_path / "fp16", fp16=True)
    size = lambda p: sum(f.stat().st_size for f in p.rglob("*.safetensors"))
    assert size(half) < 0.6 * size(full)
    assert pipe.unet.dtype == torch.float32  # saving in fp16 leaves the live model alone
    out = load_pipeline(half, device="cpu")("sdss, smooth", num_images=1, steps=2)
    assert np.isfinite(out.arrays).all()


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        ({"prompt": "sdss, spirl"}, "unknown morphology tag"),
        ({"prompt": {"merger": 1e9}}, "within"),
        ({"num_images": 0}, "num_images"),
        ({"num_images": 10_000}, "num_images"),
        ({"steps": 0}, "steps"),
        ({"guidance_scale": float("nan")}, "guidance_scale"),
        ({"sampler": "magic"}, "unknown sampler"),
    ],
)
def test_bad_input_is_a_clear_error(pipe, kwargs, needle):
    args = {"prompt": "sdss, smooth", "num_images": 1, "steps": 2, **kwargs}
    with pytest.raises(ValueError, match=needle):
        pipe(**args)


def test_missing_or_pickled_weights_are_refused(pipe, tmp_path):
    with pytest.raises(FileNotFoundError, match="model_index.json"):
        load_pipeline(tmp_path / "nowhere")
    model = save_pipeline(pipe, tmp_path / "model")
    weights = model / "unet" / "diffusion_pytorch_model.safetensors"
    weights.rename(model / "unet" / "diffusion_pytorch_model.bin")
    with pytest.raises(ValueError, match="pickle"):
        load_pipeline(model)
    (model / "unet" / "diffusion_pytorch_model.bin").unlink()
    with pytest.raises(FileNotFoundError, match="safetensors"):
        load_pipeline(model)
    assert json.loads((model / "model_index.json").read_text())["_class_name"] == "GalaxyPipeline"


def test_image_to_image_stays_close_to_reference_at_low_strength(pipe):
    reference = np.zeros((16, 16, 3), np.uint8)
    reference[4:12, 4:12] = 220
    near = pipe("sdss, smooth", num_images=1, steps=10, reference=reference, strength=0.1).arrays[0].astype(float)
    far = pipe("sdss, smooth", num_images=1, steps=10, reference=reference, strength=1.0).arrays[0].astype(float)
    assert np.abs(near - reference).mean() < np.abs(far - reference).mean()


@pytest.mark.slow
def test_shipped_default_loads_fast_and_generates():
    import time

    from galaxysd.runs import DEFAULT_RUN

    start = time.perf_counter()
    shipped = load_pipeline(DEFAULT_RUN / "model", device="cpu")
    load_seconds = time.perf_counter() - start
    assert load_seconds < 5.0
    for prompt in ("sdss, smooth, completely round galaxy", "sdss, edge-on galaxy"):
        out = shipped(prompt, num_images=4, seed=0, steps=10)
        assert out.arrays.shape == (4, 64, 64, 3)
        assert 5 < out.arrays.mean() < 200
