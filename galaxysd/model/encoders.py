"""Conditioning encoders: ``{tag: weight}`` prompts -> tensors the UNet attends to.

Two encoders share one interface, ``encode(list_of_weight_dicts) -> Conditioning``:

* :class:`TagEncoder` (default) — a learned embedding per tag (GZ2 answers and survey
  tags), each scaled by its weight and added to a learned null token. With every weight at
  0 the context is the null context: that *is* the unconditional branch used for
  classifier-free guidance, so "all sliders at zero" and "no prompt" agree exactly.
* :class:`WeightedCLIPEncoder` (paper mode) — a CLIP text encoder fed the prompt text; each
  tag's token outputs are multiplied by its weight and the embedding is rescaled to keep
  its mean (Ma et al. 2026, following the A1111/compel convention).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from galaxysd import morphology

#: A prompt embedding's mean is rescaled only when at least this fraction of its mean absolute value.
MEAN_SIGNIFICANCE = 1e-3


@dataclass
class Conditioning:
    """What the UNet receives: cross-attention context and an optional global vector."""

    context: torch.Tensor  # (B, tokens, dim)
    class_vector: torch.Tensor | None = None  # (B, n_tags) for the UNet's projection embedding

    @staticmethod
    def stack(parts: Sequence["Conditioning"]) -> "Conditioning":
        """Stack several conditionings along the batch (one pass for every guidance branch)."""
        vectors = [p.class_vector for p in parts]
        vec = None if any(v is None for v in vectors) else torch.cat(vectors)
        return Conditioning(torch.cat([p.context for p in parts]), vec)


class TagEncoder(ModelMixin, ConfigMixin):
    """A learned embedding per tag, scaled by its weight, plus a learned null token."""

    @register_to_config
    def __init__(self, tags: Sequence[str] = morphology.ALL_TAGS, dim: int = 64):
        super().__init__()
        self.tags = tuple(tags)
        self.index = {tag: i for i, tag in enumerate(self.tags)}
        self.tag_embedding = nn.Parameter(torch.randn(len(self.tags), dim) * 0.5)
        self.null_token = nn.Parameter(torch.zeros(1, 1, dim))

    @property
    def num_tags(self) -> int:
        return len(self.tags)

    def weights_to_vector(self, prompts: Sequence[Mapping[str, float]]) -> torch.Tensor:
        """Turn ``{tag: weight}`` dicts into a (B, n_tags) float tensor (validated)."""
        rows = torch.zeros(len(prompts), self.num_tags)
        for row, weights in enumerate(prompts):
            for tag, weight in morphology.validate_weights(weights).items():
                if tag not in self.index:
                    raise ValueError(f"tag {tag!r} is not in this model's vocabulary")
                rows[row, self.index[tag]] = weight
        return rows

    def forward(self, weight_vector: torch.Tensor) -> Conditioning:
        """(B, n_tags) weights -> context (B, n_tags, dim): null + weight * embedding."""
        weight_vector = weight_vector.to(self.tag_embedding.dtype)
        context = self.null_token + weight_vector[..., None] * self.tag_embedding[None]
        return Conditioning(context=context, class_vector=weight_vector)

    def encode(self, prompts: Sequence[Mapping[str, float]]) -> Conditioning:
        """Encode a batch of weight dicts on this module's device."""
        return self(self.weights_to_vector(prompts).to(self.tag_embedding.device))


class WeightedCLIPEncoder:
    """Paper-mode conditioning: CLIP text embeddings with per-tag token weights.

    The prompt text is the tags with a non-zero weight in canonical order (survey tag first,
    then the GZ2 tree), joined by ``", "`` without the weights:
    ``sdss, spiral galaxy, obvious bulge prominence``. Not a saved module: it wraps the
    pipeline's ``tokenizer`` and ``text_encoder``.
    """

    def __init__(self, tokenizer, text_encoder):
        self.tokenizer = tokenizer
        self.text_encoder = text_encoder

    @property
    def max_tokens(self) -> int:
        """Tokens per prompt, BOS and EOS included (77 for Stable Diffusion)."""
        return min(self.tokenizer.model_max_length, self.text_encoder.config.max_position_embeddings)

    def tokens(self, weights: Mapping[str, float]) -> tuple[list[int], list[float]]:
        """Padded token ids of the prompt text and each token's weight (1 for BOS, EOS, commas, padding)."""
        clean = morphology.validate_weights(weights)
        ids: list[int] = []
        token_weights: list[float] = []
        for tag in morphology.ALL_TAGS:
            weight = clean.get(tag, 0.0)
            if weight == 0:
                continue
            if ids:
                comma = self.tokenizer(",", add_special_tokens=False).input_ids
                ids += comma
                token_weights += [1.0] * len(comma)
            piece = self.tokenizer(tag, add_special_tokens=False).input_ids
            ids += piece
            token_weights += [weight] * len(piece)
        limit = self.max_tokens - 2
        ids, token_weights = ids[:limit], token_weights[:limit]
        bos, eos = self.tokenizer.bos_token_id, self.tokenizer.eos_token_id
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else eos
        n_pad = limit - len(ids)
        return ([bos] + ids + [eos] + [pad] * n_pad, [1.0] + token_weights + [1.0] + [1.0] * n_pad)

    def encode(self, prompts: Sequence[Mapping[str, float]]) -> Conditioning:
        """Encode weight dicts: token outputs times weight, rescaled to keep each prompt's mean.

        Where every token's outputs have about the same mean the factor is about
        ``1 / mean token weight``. The rescale is skipped (factor 1) where the mean is too
        close to zero for that to hold (below :data:`MEAN_SIGNIFICANCE` of the mean absolute
        output, or a factor outside ``[1/MAX_WEIGHT, MAX_WEIGHT]``): dividing by a mean that
        is rounding noise would amplify the embedding or flip its sign.
        """
        device = self.text_encoder.device
        batch = [self.tokens(w) for w in prompts]
        ids = torch.tensor([b[0] for b in batch], device=device)
        token_weights = torch.tensor([b[1] for b in batch], device=device)
        hidden = self.text_encoder(ids)[0]
        original_mean = hidden.float().mean(dim=(1, 2), keepdim=True)
        weighted = hidden.float() * token_weights[..., None]
        new_mean = weighted.mean(dim=(1, 2), keepdim=True)
        scale = original_mean / new_mean
        significant = original_mean.abs() >= MEAN_SIGNIFICANCE * hidden.float().abs().mean(dim=(1, 2), keepdim=True)
        in_range = (scale >= 1 / morphology.MAX_WEIGHT) & (scale <= morphology.MAX_WEIGHT)
        sane = significant & torch.isfinite(scale) & in_range
        scale = torch.where(sane, scale, torch.ones_like(scale))
        return Conditioning(context=(weighted * scale).to(hidden.dtype))
