"""Tiny inputs for the evaluation tests: rendered toy galaxies with a GZ2-style catalog, a
fake generator, and (once per session) a judge trained on real GZ1 galaxies."""

from __future__ import annotations

import functools
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from galaxysd.evaluation.judge import Judge, JudgeConfig, train_judge
from galaxysd.morphology import FRACTION_COLUMNS, answer, fraction_column

SMALL_WIDTHS = (8, 16, 32)


@dataclass
class ToyCache:
    """An in-memory stand-in for ``ImageCache``: ``images[i]`` is catalog row ``i``."""

    images: np.ndarray
    catalog: pd.DataFrame


def render_toy_galaxy(rng: np.random.Generator, size: int, axis_ratio: float) -> np.ndarray:
    """A noisy elliptical Gaussian blob at a random angle, uint8 RGB."""
    y, x = np.mgrid[:size, :size] - (size - 1) / 2
    angle = rng.uniform(0, np.pi)
    u = x * np.cos(angle) + y * np.sin(angle)
    v = -x * np.sin(angle) + y * np.cos(angle)
    width = size / 8 * rng.uniform(0.8, 1.2)
    light = np.exp(-0.5 * ((u / width) ** 2 + (v / (width * axis_ratio)) ** 2))
    colour = np.array([1.0, 0.85, 0.7]) * rng.uniform(180, 240)
    image = light[..., None] * colour + rng.normal(8, 3, (size, size, 3))
    return np.clip(image, 0, 255).astype(np.uint8)


def toy_cache(n: int = 64, size: int = 32, seed: int = 0) -> ToyCache:
    """Half round smooth galaxies, half thin edge-on disks, with matching vote fractions.

    Ids are ``toy<seed>-<i>``, so caches of different seeds hold different galaxies.
    """
    rng = np.random.default_rng(seed)
    edge_on = np.arange(n) % 2 == 1
    images = np.stack([render_toy_galaxy(rng, size, 0.2 if e else 1.0) for e in edge_on])
    catalog = pd.DataFrame(np.nan, index=range(n), columns=list(FRACTION_COLUMNS))
    for tag_if_true, tag_if_false, flag in (
        ("features or disk-shaped", "smooth", edge_on),
        ("edge-on galaxy", "not edge-on", edge_on),
        ("completely round galaxy", "cigar-shaped galaxy", ~edge_on),
    ):
        catalog[fraction_column(answer(tag_if_true))] = flag.astype(float)
        catalog[fraction_column(answer(tag_if_false))] = (~flag).astype(float)
    catalog.insert(0, "id", [f"toy{seed}-{i}" for i in range(n)])
    return ToyCache(images, catalog)


def toy_judge(cache: ToyCache, epochs: int = 4) -> Judge:
    """A small judge trained on a :func:`toy_cache`."""
    config = JudgeConfig(epochs=epochs, widths=SMALL_WIDTHS, image_size=32, min_examples=3, batch_size=16, device="cpu")
    return train_judge(cache, config, progress=False)


def toy_generator(noise: float, calls: list | None = None, size: int = 32):
    """A fake ``generate(weights, n, seed, steps, guidance, sampler)`` rendering toy galaxies.

    Edge-on prompts get thin disks, others round blobs, plus Gaussian noise of ``noise``
    (scaled up 20x at guidance <= 1, so sweeps have points of clearly different quality).
    Every call is appended to ``calls`` when given.
    """

    def generate(weights, n, seed, steps, guidance, sampler):
        if calls is not None:
            calls.append((dict(weights), n, seed, steps, guidance, sampler))
        rng = np.random.default_rng([seed, steps, int(guidance * 10)])
        axis_ratio = 0.2 if "edge-on galaxy" in weights else 1.0
        images = np.stack([render_toy_galaxy(rng, size, axis_ratio) for _ in range(n)])
        scale = noise * (20 if guidance <= 1 else 1)
        return np.clip(images + rng.normal(0, scale, images.shape), 0, 255).astype(np.uint8)

    return generate


GZ1_CLASSES = {
    "elliptical": ("elliptical",),
    "spiral": ("spiral_clockwise", "spiral_anticlockwise"),
    "edge_on": ("edge_on",),
}


@functools.lru_cache(maxsize=None)
def real_gz1_cache(shared_data: Path, per_class: int = 150):
    """A 64 px image cache (in a temporary folder) of GZ1 ellipticals, spirals and edge-ons."""
    from galaxysd.data.cache import build_cache
    from galaxysd.data.loaders import load_gz1

    catalog = load_gz1(shared_data / "gz1-sdss")
    parts = [
        catalog[catalog["gz1_label"].isin(labels)].sample(per_class, random_state=0) for labels in GZ1_CLASSES.values()
    ]
    chosen = pd.concat(parts).reset_index(drop=True)
    folder = Path(tempfile.mkdtemp(prefix="gz1-cache-"))
    return build_cache(chosen, folder, size=64, workers=1, progress=False)


@functools.lru_cache(maxsize=None)
def real_gz1_judge(shared_data: Path) -> Judge:
    """A judge trained briefly on :func:`real_gz1_cache` (its held-out split stays unseen)."""
    config = JudgeConfig(
        epochs=15, image_size=32, widths=(16, 32, 64), min_examples=5, calibration_fraction=0.0, device="cpu"
    )  # too few for calibration
    return train_judge(real_gz1_cache(shared_data), config, progress=False)


def held_out_rows(shared_data: Path) -> np.ndarray:
    """Cache rows the real judge was not trained on."""
    ids = real_gz1_cache(shared_data).catalog["id"].astype(str)
    return np.flatnonzero(~ids.isin(set(real_gz1_judge(shared_data).train_ids)).to_numpy())
