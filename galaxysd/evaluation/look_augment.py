"""Augmentations that change a galaxy image's *look* but not its morphology.

Galaxy cutouts of one object differ between renderings: colour balance (the GZ2 excerpt's
cyan), non-linear stretch, depth (noise), seeing (blur) and zoom. A classifier trained to
be indifferent to these answers "is it a spiral?" from shape, so it can be trusted on a
source it has never seen. :func:`random_look` applies, independently per image, on a batch
in [-1, 1] (``(B, 3, H, W)``):

* a stretch: ``x ** gamma`` on [0, 1], gamma log-uniform in [0.45, 1.6];
* colour: per-channel gains in [0.7, 1.3] and per-channel offsets in [-0.1, 0.25] (a
  brighter, tinted sky such as the GZ2 excerpt's cyan);
* grey (p = 0.2): every channel set to the channel mean;
* blur (p = 0.3): a 3x3 Gaussian;
* noise: Gaussian, sigma uniform in [0, 0.06];
* zoom: scale in [0.8, 1.25] about the centre (edges padded by reflection).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

GAMMA_RANGE = (0.45, 1.6)
GAIN_RANGE = (0.7, 1.3)
OFFSET_RANGE = (-0.1, 0.25)  # per channel: a brighter, tinted sky (the GZ2 excerpt is cyan)
GREY_P = 0.2
BLUR_P = 0.3
NOISE_MAX = 0.06
ZOOM_RANGE = (0.8, 1.25)


def _uniform(n: int, low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=generator)


def random_look(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """``batch`` (``(B, 3, H, W)`` in [-1, 1]) with a random look per image (see module docstring)."""
    n, device = batch.shape[0], batch.device
    x = ((batch.float() + 1.0) / 2.0).clamp(0.0, 1.0)
    gamma = torch.exp(_uniform(n, math.log(GAMMA_RANGE[0]), math.log(GAMMA_RANGE[1]), generator)).to(device)
    x = x.clamp_min(1e-6) ** gamma.view(n, 1, 1, 1)
    gains = _uniform(n * 3, *GAIN_RANGE, generator).view(n, 3, 1, 1).to(device)
    offset = _uniform(n * 3, *OFFSET_RANGE, generator).view(n, 3, 1, 1).to(device)
    x = x * gains + offset
    grey = (torch.rand(n, generator=generator) < GREY_P).to(device)
    x = torch.where(grey.view(n, 1, 1, 1), x.mean(dim=1, keepdim=True).expand_as(x), x)
    blur = (torch.rand(n, generator=generator) < BLUR_P).to(device)
    if blur.any():
        kernel = torch.tensor([1.0, 2.0, 1.0], device=device)
        kernel = (kernel[:, None] * kernel[None, :] / 16.0).expand(3, 1, 3, 3)
        blurred = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), kernel, groups=3)
        x = torch.where(blur.view(n, 1, 1, 1), blurred, x)
    sigma = _uniform(n, 0.0, NOISE_MAX, generator).view(n, 1, 1, 1).to(device)
    x = x + sigma * torch.randn(x.shape, generator=generator).to(device)
    scale = _uniform(n, *ZOOM_RANGE, generator).to(device)
    theta = torch.zeros(n, 2, 3, device=device)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0 / scale
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    out = (x.clamp(0.0, 1.0) * 2.0 - 1.0).to(batch.dtype)
    return out.contiguous(memory_format=torch.channels_last)
