"""Loss weights per timestep: min-SNR-gamma, and uniform weights when it is switched off."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from diffusers import DDPMScheduler

from galaxysd.training.config import config_from_args, parse_args
from galaxysd.training.trainer import loss_weights

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def scheduler():
    return DDPMScheduler(num_train_timesteps=1000)


def snr_at(scheduler, timesteps: torch.Tensor) -> torch.Tensor:
    alphas = scheduler.alphas_cumprod[timesteps]
    return alphas / (1 - alphas)


def test_uniform_weights_when_gamma_is_none(scheduler):
    t = torch.tensor([0, 10, 500, 999])
    assert torch.equal(loss_weights(scheduler, t, None, "v_prediction"), torch.ones(4))


def test_min_snr_v_prediction_weights_the_nearly_clean_steps_down(scheduler):
    t = torch.arange(0, 1000, 37)
    snr = snr_at(scheduler, t)
    weights = loss_weights(scheduler, t, 5.0, "v_prediction")
    assert torch.allclose(weights, torch.clamp(snr, max=5.0) / (snr + 1))
    assert ((weights > 0) & (weights <= 1)).all()
    clean = snr > 20
    assert clean.any() and (weights[clean] < 0.25).all()  # the steps a uniform loss counts fully
    middle = (snr > 3) & (snr < 6)
    assert middle.any() and (weights[middle] > 0.7).all()


def test_min_snr_epsilon_weights_are_one_up_to_gamma(scheduler):
    t = torch.arange(0, 1000, 37)
    snr = snr_at(scheduler, t)
    weights = loss_weights(scheduler, t, 5.0, "epsilon")
    assert torch.allclose(weights[snr <= 5], torch.ones(int((snr <= 5).sum())))
    assert torch.allclose(weights[snr > 5], 5.0 / snr[snr > 5])


def test_gamma_zero_switches_min_snr_off_from_the_command_line_and_yaml(tmp_path):
    data = ["--data", f"demo:{tmp_path}"]
    assert config_from_args(parse_args([*data, "--min-snr-gamma", "0"])).min_snr_gamma is None
    assert config_from_args(parse_args(data)).min_snr_gamma == 5.0
    shipped = config_from_args(parse_args(["--config", str(REPO / "assets/configs/stage6_uniform_snr.yaml")]))
    assert shipped.min_snr_gamma is None
    assert shipped.init_from.endswith("model")
