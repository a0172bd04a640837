"""Combining the model's outputs each step: classifier-free guidance and the answer boost.

One UNet forward per branch, batched into one pass by default: the unconditional branch (when
the guidance scale is not 1), the prompt, and the prompt without each boosted answer
(:mod:`galaxysd.model.tag_guidance`).
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch

from galaxysd.model.encoders import Conditioning

#: ``(latents, t, conditioning) -> model output``
Denoise = Callable[[torch.Tensor, object, Conditioning], torch.Tensor]


def unet_passes_per_step(guidance_scale: float) -> int:
    """UNet forward passes per sampler step: one at guidance 1 (no unconditional branch), else two."""
    return 1 if guidance_scale == 1.0 else 2


def guided_denoiser(
    denoise: Denoise,
    cond: Conditioning,
    uncond: Conditioning,
    guidance_scale: float,
    batched: bool = True,
    boosts: Sequence[tuple[Conditioning, torch.Tensor]] = (),
) -> Callable[[torch.Tensor, object], torch.Tensor]:
    """``(latents, t) -> guided output``, with the conditioning stacked once, not every step.

    ``boosts``: ``(conditioning without a boosted answer, (B,) coefficient)`` pairs from
    :func:`~galaxysd.model.tag_guidance.split_boosts`, each adding its answer's direction
    ``coefficient * (out(prompt) - out(without))`` to the guided output.
    """
    with_uncond = unet_passes_per_step(guidance_scale) == 2
    if not with_uncond and not boosts:
        return lambda latents, t: denoise(latents, t, cond)
    branches = ([uncond] if with_uncond else []) + [cond] + [c for c, _ in boosts]
    stacked = Conditioning.stack(branches) if batched else None

    def guided(latents: torch.Tensor, t) -> torch.Tensor:
        if stacked is not None:
            outs = denoise(torch.cat([latents] * len(branches)), t, stacked).chunk(len(branches))
        else:
            outs = [denoise(latents, t, c) for c in branches]
        out_cond = outs[1] if with_uncond else outs[0]
        out = outs[0] + guidance_scale * (out_cond - outs[0]) if with_uncond else out_cond
        for (_, coefficient), out_without in zip(boosts, outs[len(branches) - len(boosts) :]):
            out = out + coefficient.to(out).view(-1, 1, 1, 1) * (out_cond - out_without)
        return out

    return guided
