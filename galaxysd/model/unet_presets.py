"""UNet presets sized for the hardware they train on.

The default model works on 64 px images *pixel-unshuffled* by 4: each image becomes a
16x16 grid of 48 channels (4x4 pixels x 3 colours), an exact, parameter-free "latent"
space. The UNet then runs at 16, 8 and 4 px with attention only at the lowest level and in
the middle block, which makes it cheap enough to train on two CPU cores.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from diffusers import UNet2DConditionModel


@dataclass(frozen=True)
class UNetSpec:
    """Shape of a conditional UNet over (pixel-unshuffled) images."""

    image_size: int = 64
    unshuffle: int = 4
    channels: tuple[int, ...] = (64, 128, 128)
    attention_levels: tuple[int, ...] = (2,)
    layers_per_block: int = 1
    head_dim: int = 8
    norm_groups: int = 16

    @property
    def latent_size(self) -> int:
        return self.image_size // self.unshuffle

    @property
    def latent_channels(self) -> int:
        return 3 * self.unshuffle**2

    def to_dict(self) -> dict:
        return asdict(self)


PRESETS = {
    "cpu-default": UNetSpec(),
    # design-study candidates (benchmarks/DESIGN_STUDY.md): 32x32x12 tokens with a wider UNet,
    # and a bigger UNet on the default's 16x16x48 tokens
    "cpu-unshuffle2": UNetSpec(unshuffle=2, channels=(64, 128, 192), attention_levels=(2,)),
    "cpu-wide": UNetSpec(channels=(96, 192, 256), attention_levels=(1, 2), layers_per_block=2),
    "gpu-large": UNetSpec(
        channels=(128, 256, 384), attention_levels=(1, 2), layers_per_block=2, head_dim=32, norm_groups=32, unshuffle=2
    ),
    "tiny": UNetSpec(image_size=16, unshuffle=2, channels=(16, 32), attention_levels=(1,), head_dim=8, norm_groups=8),
}


def spec_from(value: str | dict | UNetSpec) -> UNetSpec:
    """A :class:`UNetSpec` from a preset name, a dict of fields, or a spec."""
    if isinstance(value, UNetSpec):
        return value
    if isinstance(value, str):
        if value not in PRESETS:
            raise ValueError(f"unknown model preset {value!r}; choose one of {', '.join(PRESETS)}")
        return PRESETS[value]
    fields = dict(value)
    for key in ("channels", "attention_levels"):
        if key in fields:
            fields[key] = tuple(fields[key])
    return UNetSpec(**fields)


def build_unet(
    spec: UNetSpec,
    cross_attention_dim: int,
    class_vector_dim: int | None,
    in_channels: int | None = None,
    sample_size: int | None = None,
) -> UNet2DConditionModel:
    """A ``UNet2DConditionModel`` for ``spec``; ``class_vector_dim`` adds a projected global condition."""
    levels = range(len(spec.channels))
    down = ["CrossAttnDownBlock2D" if i in spec.attention_levels else "DownBlock2D" for i in levels]
    up = ["CrossAttnUpBlock2D" if i in spec.attention_levels else "UpBlock2D" for i in reversed(levels)]
    channels_in = in_channels or spec.latent_channels
    extra = {}
    if class_vector_dim:
        extra = {"class_embed_type": "projection", "projection_class_embeddings_input_dim": class_vector_dim}
    return UNet2DConditionModel(
        sample_size=sample_size or spec.latent_size,
        in_channels=channels_in,
        out_channels=channels_in,
        block_out_channels=tuple(spec.channels),
        down_block_types=tuple(down),
        up_block_types=tuple(up),
        layers_per_block=spec.layers_per_block,
        cross_attention_dim=cross_attention_dim,
        attention_head_dim=spec.head_dim,
        norm_num_groups=spec.norm_groups,
        **extra,
    )
