"""Small inputs for the augmentation and discovery tests: a demo survey rich in dusty early
types, and a stand-in generator that renders demo galaxies volunteers would describe with
the prompt's tags (a generator that has learned the survey perfectly)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import galaxysd.data.demo as demo
from galaxysd.data.demo_votes import truth_to_vote_fractions
from galaxysd.data.render import render_galaxy
from galaxysd.morphology import DOMAIN_TAGS
from galaxysd.science.binary_tasks import known_cumulative_fractions

SIZE = 32
DUSTY_RATE = 0.04  # of all objects, eight times the demo survey's own rate


def dusty_demo_survey(folder: Path, n: int = 600, seed: int = 3) -> str:
    """Render a demo survey with ``DUSTY_RATE`` dusty early types; returns its catalog spec."""
    original = demo.DUSTY_EARLY_TYPE_RATE
    demo.DUSTY_EARLY_TYPE_RATE = DUSTY_RATE
    try:
        demo.render_demo_survey(n, folder, size=SIZE, seed=seed, workers=1, progress=False)
    finally:
        demo.DUSTY_EARLY_TYPE_RATE = original
    return f"demo:{folder}"


class MatchingRenderer:
    """``generate(prompts, seeds)``: for each prompt, a freshly rendered demo galaxy whose
    vote fractions give every prompt tag of weight >= 0.5 a cumulative fraction >= 0.5."""

    def __init__(self, size: int = SIZE, pool_size: int = 20000, seed: int = 99):
        truth = demo.sample_truth(pool_size, seed)
        self.records = [{k[len("truth_") :]: v for k, v in row.items()} for row in truth.to_dict(orient="records")]
        self.fractions = known_cumulative_fractions(truth_to_vote_fractions(truth, seed)).fillna(0.0)
        self.size = size
        self.calls = 0

    def matches(self, weights: dict) -> np.ndarray:
        tags = [t for t, w in weights.items() if w >= 0.5 and t not in DOMAIN_TAGS]
        rows = np.flatnonzero((self.fractions[tags] >= 0.5).all(axis=1).to_numpy())
        if not len(rows):
            raise ValueError(f"no demo galaxy matches {weights}")
        return rows

    def __call__(self, prompts, seeds) -> np.ndarray:
        self.calls += 1
        images = []
        for weights, seed in zip(prompts, seeds):
            rows = self.matches(weights)
            rng = np.random.default_rng([seed, 5])
            images.append(render_galaxy(self.records[rows[rng.integers(len(rows))]], self.size, rng))
        return np.stack(images)
