"""Samplers: each one runs, stochastic noise is per image, image-to-image and morphs behave."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from galaxysd.model.samplers import SAMPLERS, make_scheduler, sampler_name


@pytest.fixture(scope="module")
def pipe(tiny_pipe):
    return tiny_pipe


class LatentSpy:
    """Records the final latents a pipeline decodes."""

    def __init__(self, pipe, monkeypatch):
        self.latents = []
        original = pipe.latents_to_images

        def spy(latents):
            self.latents.append(latents.clone())
            return original(latents)

        monkeypatch.setattr(pipe, "latents_to_images", spy)


class DenoiseCounter:
    """Counts UNet passes (one per step with batched guidance)."""

    def __init__(self, pipe, monkeypatch):
        self.calls = 0
        original = pipe.denoise

        def counted(*args):
            self.calls += 1
            return original(*args)

        monkeypatch.setattr(pipe, "denoise", counted)


@pytest.mark.parametrize("sampler", ["dpmpp", "dpmpp_sde", "euler_a", "ddim"])
def test_each_sampler_gives_finite_images_in_range_in_two_steps(pipe, sampler, monkeypatch):
    spy = LatentSpy(pipe, monkeypatch)
    out = pipe("sdss, spiral galaxy", num_images=2, seed=3, steps=2, sampler=sampler)
    latents = spy.latents[-1]
    assert torch.isfinite(latents).all()
    assert latents.abs().max() < 10  # no blow-up before the final clamp to [-1, 1]
    assert out.arrays.shape == (2, 16, 16, 3) and out.arrays.dtype == np.uint8
    saturated = np.isin(out.arrays, (0, 255)).mean()
    assert saturated < 0.9 and out.arrays.std() > 1.0
    assert out.settings["sampler"] == sampler


def test_sampler_names_aliases_and_unknown_names():
    assert sampler_name("DPM++") == "dpmpp" and sampler_name("Euler-Ancestral") == "euler_a"
    assert set(SAMPLERS) >= {"dpmpp", "euler_a", "ddim"}
    with pytest.raises(ValueError, match="unknown sampler 'heun'.*dpmpp"):
        make_scheduler("heun", {})


def test_samplers_differ_and_step_count_matters(pipe):
    images = {
        s: pipe("sdss, merger", num_images=2, seed=1, steps=6, sampler=s).arrays.astype(float)
        for s in ("dpmpp", "euler_a", "ddim")
    }
    assert np.abs(images["dpmpp"] - images["euler_a"]).mean() > 1.0
    fewer = pipe("sdss, merger", num_images=2, seed=1, steps=2, sampler="dpmpp").arrays.astype(float)
    assert np.abs(fewer - images["dpmpp"]).mean() > 0.5


@pytest.mark.parametrize("sampler", ["euler_a", "dpmpp_sde"])
def test_stochastic_sampler_noise_depends_on_the_image_seed_only(pipe, sampler):
    alone = pipe("sdss, ring", num_images=1, seed=12, steps=4, sampler=sampler).arrays[0].astype(int)
    batch = pipe("sdss, ring", num_images=3, seed=10, steps=4, sampler=sampler).arrays.astype(int)
    assert np.abs(alone - batch[2]).max() <= 1
    assert np.abs(batch[0] - batch[1]).mean() > 1.0
    again = pipe("sdss, ring", num_images=3, seed=10, steps=4, sampler=sampler).arrays.astype(int)
    np.testing.assert_array_equal(batch, again)


@pytest.mark.parametrize("sampler", ["dpmpp", "dpmpp_sde", "euler_a", "ddim"])
def test_image_to_image_runs_strength_times_steps_and_keeps_the_reference(pipe, sampler, monkeypatch):
    reference = np.zeros((16, 16, 3), np.uint8)
    reference[4:12, 4:12] = 220
    counter = DenoiseCounter(pipe, monkeypatch)
    near = pipe("sdss, smooth", num_images=2, steps=10, sampler=sampler, reference=reference, strength=0.3)
    assert counter.calls == 3 and near.settings["strength"] == 0.3
    far = pipe("sdss, smooth", num_images=2, steps=10, sampler=sampler, reference=reference, strength=1.0)
    assert counter.calls == 13
    distance = lambda out: np.abs(out.arrays.astype(float) - reference).mean()
    assert distance(near) < distance(far)


@pytest.mark.parametrize("strength", [0.0, 1.5, float("nan")])
def test_image_to_image_rejects_bad_strength(pipe, strength):
    with pytest.raises(ValueError, match="strength"):
        pipe("sdss, smooth", num_images=1, steps=2, reference=np.zeros((16, 16, 3), np.uint8), strength=strength)


def test_interpolation_endpoints_match_the_plain_prompts(pipe):
    a, b = "sdss, smooth, completely round galaxy", "sdss, edge-on galaxy"
    frames = pipe.interpolate(a, b, frames=4, seeds=(5, 9), steps=4)
    assert frames.arrays.shape[0] == 4
    start = pipe(a, num_images=1, seed=5, steps=4).arrays[0].astype(int)
    end = pipe(b, num_images=1, seed=9, steps=4).arrays[0].astype(int)
    assert np.abs(frames.arrays[0].astype(int) - start).max() <= 1
    assert np.abs(frames.arrays[-1].astype(int) - end).max() <= 1
    middle = frames.arrays[1].astype(float)
    assert np.abs(middle - start).mean() > 0.5 and np.abs(middle - end).mean() > 0.5
    assert frames.prompts[0]["edge-on galaxy"] == 0.0 and frames.prompts[-1]["smooth"] == 0.0
