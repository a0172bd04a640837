""" "Spot the fake": one generated galaxy among real ones, and the human realism score.

A round takes a random real galaxy, turns its vote fractions into a prompt, generates one
galaxy from that prompt and shows it with that real galaxy and two more real ones of the
same survey, in random positions. The user picks the fake.

Human realism score: with ``CHOICES`` images, guessing finds the fake a ``1/CHOICES`` of
the time. The score rescales the share of rounds in which users were fooled so that
1 means "no better than guessing" (the fakes are indistinguishable from real galaxies)
and 0 means "always found":  ``clip((1 - accuracy) / (1 - 1/CHOICES), 0, 1)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from galaxysd.evaluation.real_galaxies import RealGalaxies
from galaxysd.morphology import format_prompt

CHOICES = 4

#: ``generate(weights, seed) -> (H, W, 3) uint8``: one generated galaxy.
GenerateOne = Callable[[dict[str, float], int], np.ndarray]


@dataclass
class QuizRound:
    """Four images, the position of the generated one, and the prompt it was made from."""

    images: np.ndarray  # (CHOICES, H, W, 3) uint8
    fake_index: int
    prompt: str
    real_ids: list[str]


def human_realism(accuracy: float, choices: int = CHOICES) -> float:
    """The human realism score of a fake-finding accuracy (NaN when nobody answered)."""
    if accuracy is None or not math.isfinite(accuracy):
        return float("nan")
    return float(np.clip((1.0 - accuracy) / (1.0 - 1.0 / choices), 0.0, 1.0))


def wilson_interval(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval (95% by default) of a binomial proportion; NaNs without trials."""
    if trials <= 0:
        return float("nan"), float("nan")
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return max(0.0, centre - half), min(1.0, centre + half)


def human_realism_interval(found: int, answers: int, choices: int = CHOICES) -> tuple[float, float]:
    """95% interval of the human realism score from ``found`` fakes in ``answers`` rounds
    (the Wilson interval of the accuracy, mapped through :func:`human_realism`)."""
    low, high = wilson_interval(found, answers)
    return human_realism(high, choices), human_realism(low, choices)


def make_round(real: RealGalaxies, generate: GenerateOne, seed: int, domain: str | None = None) -> QuizRound:
    """A new round from ``real`` galaxies (of ``domain`` when given) and one generated one.

    Raises ``ValueError`` when fewer than ``CHOICES - 1`` real galaxies are available.
    """
    rng = np.random.default_rng(seed)
    pool = real.rows(domain)
    if len(pool) < CHOICES - 1:
        raise ValueError(f"a quiz round needs {CHOICES - 1} real galaxies; this run has {len(pool)}")
    picked = rng.choice(pool, CHOICES - 1, replace=False)
    weights = real.prompt_of(picked[0])
    fake = generate(weights, int(rng.integers(0, 2**31 - 1)))
    real_images = real.images(picked)
    if fake.shape != real_images.shape[1:]:
        raise ValueError(f"generated image {fake.shape} and real images {real_images.shape[1:]} differ in size")
    fake_index = int(rng.integers(0, CHOICES))
    images = np.insert(real_images, fake_index, fake, axis=0)
    return QuizRound(
        images=images,
        fake_index=fake_index,
        prompt=format_prompt(weights),
        real_ids=[str(i) for i in real.catalog["id"].to_numpy()[picked]],
    )
