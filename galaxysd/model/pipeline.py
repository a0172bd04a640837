"""The GalaxySD diffusion pipeline: weighted morphology prompt -> galaxy images.

``GalaxyPipeline`` is a ``diffusers.DiffusionPipeline`` (``save_pretrained`` /
``from_pretrained``, safetensors only) holding a ``UNet2DConditionModel``, a scheduler and a
conditioning encoder. Two configurations:

* default: a :class:`~galaxysd.model.encoders.TagEncoder`, images pixel-unshuffled into a small
  exact latent grid (no autoencoder to train);
* paper mode: a Stable Diffusion 1.5 VAE + CLIP text encoder + tokenizer, prompts weighted
  the paper's way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import DiffusionPipeline
from PIL import Image

from galaxysd import morphology
from galaxysd.model.answer_prior import fill_prompts
from galaxysd.model.encoders import Conditioning, TagEncoder, WeightedCLIPEncoder
from galaxysd.model.guidance import guided_denoiser
from galaxysd.model.samplers import DEFAULT_SAMPLER, make_scheduler, sampler_name, step_generators
from galaxysd.model.tag_guidance import DEFAULT_TAG_GUIDANCE, check_tag_guidance, split_boosts
from galaxysd.model.tensors import images_to_tensor, slerp, tensor_to_images

MAX_IMAGES = 256
MAX_STEPS = 1000
MAX_GUIDANCE = 50.0

PromptLike = str | Mapping[str, float]


@dataclass
class GalaxyOutput:
    """Generated galaxies: PIL images, the same as a (N, H, W, 3) uint8 array, and settings."""

    arrays: np.ndarray
    prompts: list[dict[str, float]]
    seeds: list[int]
    settings: dict = field(default_factory=dict)

    @property
    def images(self) -> list[Image.Image]:
        return [Image.fromarray(a) for a in self.arrays]


def as_weights(prompt: PromptLike) -> dict[str, float]:
    """A prompt string or ``{tag: weight}`` dict, validated into canonical ``{tag: weight}``."""
    if isinstance(prompt, str):
        return morphology.parse_prompt(prompt)
    if isinstance(prompt, Mapping):
        return morphology.validate_weights(prompt)
    raise ValueError(f"a prompt must be text or a {{tag: weight}} dict, got {type(prompt).__name__}")


def _check_int(name: str, value, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if not low <= int(value) <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    return int(value)


def _check_float(name: str, value, low: float, high: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number) or not low <= number <= high:
        raise ValueError(f"{name} must be between {low:g} and {high:g}, got {value!r}")
    return number


class GalaxyPipeline(DiffusionPipeline):
    """Conditional galaxy generator (see module docstring)."""

    model_cpu_offload_seq = "text_encoder->unet->vae"
    _optional_components = ["tag_encoder", "vae", "text_encoder", "tokenizer"]

    def __init__(
        self,
        unet,
        scheduler,
        tag_encoder: TagEncoder | None,
        vae,
        text_encoder,
        tokenizer,
        image_size: int = 64,
        unshuffle: int = 4,
    ):
        super().__init__()
        self.register_modules(
            unet=unet,
            scheduler=scheduler,
            tag_encoder=tag_encoder,
            vae=vae,
            text_encoder=text_encoder,
            tokenizer=tokenizer,
        )
        self.register_to_config(image_size=image_size, unshuffle=unshuffle)
        # Speed settings, changed by galaxysd.model.fast.optimize: a drop-in for the UNet forward
        # pass (ONNX Runtime, torch.compile) and the autograd mode used while sampling.
        self.denoiser = None
        self.use_inference_mode = True
        self.speed = None  # the galaxysd.model.fast.SpeedSettings applied, if any
        self.answer_prior = None  # the run's galaxysd.model.answer_prior.AnswerPrior, set by load_pipeline

    # ----------------------------------------------------------------- conditioning
    @property
    def paper_mode(self) -> bool:
        """True when conditioned by a CLIP text encoder rather than the tag encoder."""
        return self.tag_encoder is None

    def encode(self, prompts: Sequence[Mapping[str, float]]) -> Conditioning:
        """Conditioning for a batch of ``{tag: weight}`` dicts (empty dict = unconditional)."""
        if self.paper_mode:
            return WeightedCLIPEncoder(self.tokenizer, self.text_encoder).encode(prompts)
        return self.tag_encoder.encode(prompts)

    # ----------------------------------------------------------------- image <-> latent
    def images_to_latents(self, pixels: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """(N, 3, H, W) in [-1, 1] -> the space the UNet denoises."""
        if self.vae is not None:
            dist = self.vae.encode(pixels.to(self.vae.dtype)).latent_dist
            return dist.sample(generator) * self.vae.config.scaling_factor
        return F.pixel_unshuffle(pixels, self.config.unshuffle)

    def latents_to_images(self, latents: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`images_to_latents`, (N, 3, H, W) in [-1, 1]."""
        if self.vae is not None:
            return self.vae.decode(latents.to(self.vae.dtype) / self.vae.config.scaling_factor).sample
        return F.pixel_shuffle(latents, self.config.unshuffle)

    def latent_shape(self) -> tuple[int, int, int]:
        """(channels, height, width) of one latent."""
        size = self.unet.config.sample_size
        return (self.unet.config.in_channels, size, size)

    # ----------------------------------------------------------------- denoiser
    def denoise(self, latents: torch.Tensor, t, cond: Conditioning) -> torch.Tensor:
        """One UNet forward pass, or the faster drop-in that :mod:`galaxysd.model.fast` installs."""
        if self.denoiser is not None:
            return self.denoiser(latents, t, cond)
        return self.unet(latents, t, encoder_hidden_states=cond.context, class_labels=cond.class_vector).sample

    def predict(
        self,
        latents: torch.Tensor,
        t,
        cond: Conditioning,
        uncond: Conditioning,
        guidance_scale: float,
        batched_guidance: bool = True,
    ) -> torch.Tensor:
        """Classifier-free guided model output; one batched forward pass unless disabled."""
        return self._guided_denoiser(cond, uncond, guidance_scale, batched_guidance)(latents, t)

    def _guided_denoiser(self, cond, uncond, guidance_scale: float, batched_guidance: bool, boosts=()):
        """``(latents, t) -> guided output`` (:func:`~galaxysd.model.guidance.guided_denoiser`)."""
        return guided_denoiser(self.denoise, cond, uncond, guidance_scale, batched_guidance, boosts)

    def initial_noise(self, seeds: Sequence[int], shape=None) -> torch.Tensor:
        """One noise tensor per seed, independent of batch size (image i depends only on seed i)."""
        shape = shape or self.latent_shape()
        noise = [torch.randn(shape, generator=torch.Generator().manual_seed(int(s))) for s in seeds]
        return torch.stack(noise)

    # ----------------------------------------------------------------- sampling
    def __call__(
        self,
        prompt: PromptLike | Sequence[PromptLike] = "",
        num_images: int = 4,
        seed: int | Sequence[int] = 0,
        steps: int = 20,
        guidance_scale: float = 3.0,
        sampler: str = DEFAULT_SAMPLER,
        reference: np.ndarray | Image.Image | None = None,
        strength: float = 0.6,
        noise: torch.Tensor | None = None,
        batched_guidance: bool = True,
        progress: bool = False,
        tag_guidance: float | None = None,
        complete_tree: bool | None = None,
        fill_open_questions: bool = False,
    ) -> GalaxyOutput:
        """Generate ``num_images`` galaxies for a prompt (or one prompt per image).

        Args:
            prompt (`str`, `dict[str, float]` or a list of them, default ``""``): weighted GZ2
                tags, e.g. ``"sdss, spiral galaxy, {bar:1.2}"`` or ``{"sdss": 1, "bar": 1.2}``;
                a list gives one prompt per image; ``""`` is the unconditional model.
            num_images (`int`, default 4): images to make (1 to ``MAX_IMAGES``).
            seed (`int` or list of `int`, default 0): the first seed (image i uses
                ``seed + i``) or one seed per image; an image depends on its own seed only,
                whatever the batch.
            steps (`int`, default 20): sampler steps (1 to ``MAX_STEPS``).
            guidance_scale (`float`, default 3.0): classifier-free guidance; 0 ignores the
                prompt, higher follows it harder (up to ``MAX_GUIDANCE``).
            sampler (`str`, default ``DEFAULT_SAMPLER``): ``dpmpp``, ``dpmpp_sde``,
                ``euler_a`` (the paper's), ``ddim`` or ``ddpm``.
            reference (RGB array or `PIL.Image`, optional): start from this image noised to
                ``strength`` (image-to-image, as the paper does) instead of pure noise.
            strength (`float`, default 0.6): how much of the reference is replaced (0-1].
            noise (`torch.Tensor`, optional): initial latents to use (interpolation).
            batched_guidance (`bool`, default True): one batched pass for the conditional and
                unconditional branches; False runs them separately (the reference path).
            progress (`bool`, default False): show a progress bar over the steps.
            tag_guidance (`float`, optional): guidance per unit of weight above 1 along that
                answer alone (:mod:`galaxysd.model.tag_guidance`; one more UNet pass per
                boosted answer); default ``DEFAULT_TAG_GUIDANCE``, 0 in paper mode, where
                weights act on CLIP tokens the paper's way. 0 extrapolates the embedding instead.
            complete_tree (`bool`, optional): add the answers above a prompt's answers in the
                decision tree that it leaves out (``{dust lane:1.3}`` implies ``odd feature``),
                each at the largest weight below it, capped at 1
                (:func:`~galaxysd.morphology.with_parents`), as every training label has them;
                the prompts in the output show them. Default True, False in paper mode, where
                the prompt text is the paper's.
            fill_open_questions (`bool`, default False): answer the questions below the
                prompt's answers that it leaves open (roundness for ``sdss, smooth``) as real
                training galaxies with the same answers above them do, drawn with the image's
                seed; a question answered in part is filled in part
                (:mod:`galaxysd.model.answer_prior`; needs the run's ``answer_prior.csv``).

        Returns:
            `GalaxyOutput`: ``.images`` (PIL), ``.arrays`` (N, H, W, 3) uint8, the prompts as
            weight dicts, the seeds and the settings.

        Example:
            >>> from galaxysd.model.saving import load_pipeline
            >>> pipe = load_pipeline("assets/default-run/model")
            >>> out = pipe("sdss, spiral galaxy, {bar:1.2}", num_images=4, seed=0, steps=20)
            >>> out.arrays.shape
            (4, 64, 64, 3)
        """
        num_images = _check_int("num_images", num_images, 1, MAX_IMAGES)
        steps = _check_int("steps", steps, 1, MAX_STEPS)
        guidance_scale = _check_float("guidance_scale", guidance_scale, 0.0, MAX_GUIDANCE)
        if reference is not None:
            strength = _check_float("strength", strength, 1e-3, 1.0)
        if tag_guidance is None:
            tag_guidance = 0.0 if self.paper_mode else DEFAULT_TAG_GUIDANCE
        tag_guidance = check_tag_guidance(tag_guidance)
        if complete_tree is None:
            complete_tree = not self.paper_mode
        prompts = self._prompt_list(prompt, num_images)
        if complete_tree:
            prompts = [morphology.with_parents(p) for p in prompts]
        seeds = self._seed_list(seed, num_images)
        if fill_open_questions:
            prompts = fill_prompts(self.answer_prior, prompts, seeds)
        scheduler = make_scheduler(sampler, self.scheduler.config)
        with torch.inference_mode() if self.use_inference_mode else torch.no_grad():
            latents = self._sample(
                scheduler,
                prompts,
                seeds,
                steps,
                guidance_scale,
                reference,
                strength,
                noise,
                batched_guidance,
                progress,
                tag_guidance=tag_guidance,
            )
            arrays = tensor_to_images(self.latents_to_images(latents))
        settings = {
            "steps": steps,
            "guidance_scale": guidance_scale,
            "sampler": sampler_name(sampler),
            "tag_guidance": tag_guidance,
            "complete_tree": bool(complete_tree),
            "fill_open_questions": bool(fill_open_questions),
            "strength": strength if reference is not None else None,
        }
        return GalaxyOutput(arrays=arrays, prompts=prompts, seeds=seeds, settings=settings)

    def _sample(
        self,
        scheduler,
        prompts,
        seeds,
        steps,
        guidance_scale,
        reference,
        strength,
        noise,
        batched_guidance,
        progress,
        tag_guidance: float = 0.0,
    ) -> torch.Tensor:
        """The denoising loop: initial latents (noise, or a noised reference), then ``steps`` steps;
        weights above 1 are boosted with gain ``tag_guidance`` (:mod:`galaxysd.model.tag_guidance`)."""
        scheduler.set_timesteps(steps)
        timesteps = scheduler.timesteps
        device, dtype = self.unet.device, self.unet.dtype
        num_images = len(seeds)
        latents = (noise if noise is not None else self.initial_noise(seeds)).to(device, dtype)
        if reference is not None:
            start = min(int(round(steps * (1.0 - strength))), steps - 1)
            timesteps = timesteps[start:]
            if hasattr(scheduler, "set_begin_index"):
                scheduler.set_begin_index(start)
            ref = self.images_to_latents(self._reference_tensor(reference, num_images).to(device, dtype))
            latents = scheduler.add_noise(ref, latents, timesteps[:1].repeat(num_images))
        else:
            latents = latents * scheduler.init_noise_sigma
        if self._unet_is_channels_last():
            latents = latents.contiguous(memory_format=torch.channels_last)
        clipped, boosts = split_boosts(prompts, tag_guidance)
        denoiser = self._guided_denoiser(
            self.encode(clipped),
            self.encode([{}] * num_images),
            guidance_scale,
            batched_guidance,
            [(self.encode(b.without), torch.tensor(b.coefficient)) for b in boosts],
        )
        step_kwargs = step_generators(scheduler, seeds)
        for t in self.progress_bar(timesteps) if progress else timesteps:
            model_out = denoiser(scheduler.scale_model_input(latents, t).to(dtype), t)
            latents = scheduler.step(model_out, t, latents, **step_kwargs).prev_sample
        return latents

    def _unet_is_channels_last(self) -> bool:
        """True when the UNet's convolution weights are stored channels-last."""
        weight = self.unet.conv_in.weight
        return (
            weight.dim() == 4 and weight.is_contiguous(memory_format=torch.channels_last) and not weight.is_contiguous()
        )

    def _prompt_list(self, prompt, num_images: int) -> list[dict[str, float]]:
        if isinstance(prompt, (str, Mapping)):
            return [as_weights(prompt)] * num_images
        prompts = [as_weights(p) for p in prompt]
        if len(prompts) == 1:
            return prompts * num_images
        if len(prompts) != num_images:
            raise ValueError(f"got {len(prompts)} prompts for {num_images} images")
        return prompts

    @staticmethod
    def _seed_list(seed, num_images: int) -> list[int]:
        if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            return [int(seed) + i for i in range(num_images)]
        seeds = [int(s) for s in seed]
        if len(seeds) != num_images:
            raise ValueError(f"got {len(seeds)} seeds for {num_images} images")
        return seeds

    def _reference_tensor(self, reference, num_images: int) -> torch.Tensor:
        image = reference if isinstance(reference, Image.Image) else Image.fromarray(np.asarray(reference, np.uint8))
        size = self.config.image_size
        image = image.convert("RGB").resize((size, size), Image.LANCZOS)
        return images_to_tensor(np.asarray(image)[None]).repeat(num_images, 1, 1, 1)

    # ----------------------------------------------------------------- morphs
    def interpolate(
        self, prompt_a: PromptLike, prompt_b: PromptLike, frames: int = 8, seeds: tuple[int, int] = (0, 1), **kwargs
    ) -> GalaxyOutput:
        """A morph sequence: weights interpolated linearly, noise spherically, between two prompts.

        Args:
            prompt_a, prompt_b (`str` or `dict[str, float]`): the two ends of the sequence.
            frames (`int`, default 8): images in the sequence, both ends included (>= 2).
            seeds (`tuple[int, int]`, default ``(0, 1)``): seeds of the two ends' noise.
            **kwargs: passed to :meth:`__call__` (``steps``, ``guidance_scale``, ``sampler``...).

        Example:
            >>> out = pipe.interpolate("sdss, smooth", "sdss, spiral galaxy", frames=6)
            >>> len(out.images)
            6
        """
        frames = _check_int("frames", frames, 2, MAX_IMAGES)
        a, b = as_weights(prompt_a), as_weights(prompt_b)
        noise_a, noise_b = self.initial_noise(list(seeds[:1])), self.initial_noise(list(seeds[1:2]))
        fractions = np.linspace(0.0, 1.0, frames)
        prompts = [
            {tag: round((1 - f) * a.get(tag, 0.0) + f * b.get(tag, 0.0), 6) for tag in {**a, **b}} for f in fractions
        ]
        noise = torch.cat([slerp(noise_a, noise_b, float(f)) for f in fractions])
        return self(prompts, num_images=frames, seed=[seeds[0]] * frames, noise=noise, **kwargs)
