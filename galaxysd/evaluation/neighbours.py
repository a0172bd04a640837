"""Nearest real neighbours of generated galaxies: the memorisation check.

Distances are measured in the judge's feature space (``RUN/eval/judge``, the space of the
realism and diversity metrics). A run without a judge falls back to pixels: images
downsampled to 16x16, scaled to [0, 1] and flattened.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from galaxysd.evaluation.judge import Judge
from galaxysd.runs import RunDir

PIXEL_SIZE = 16


class PixelFeatures:
    """Fallback features: area-downsampled pixels in [0, 1], flattened."""

    name = "pixels (16x16, no judge in this run)"

    def features(self, images: np.ndarray) -> np.ndarray:
        """``(N, 3 * 16 * 16)`` float32 features of uint8 images ``(N, H, W, 3)``."""
        tensor = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255.0
        small = F.adaptive_avg_pool2d(tensor, PIXEL_SIZE)
        return small.flatten(1).numpy()


class JudgeFeatures:
    """The judge's penultimate-layer features."""

    name = "judge features"

    def __init__(self, judge_dir: Path):
        self.judge = Judge.load(judge_dir)

    def features(self, images: np.ndarray) -> np.ndarray:
        """``(N, D)`` float32 judge features of uint8 images ``(N, H, W, 3)``."""
        return self.judge.features(images).astype(np.float32)


def feature_space(run: RunDir) -> PixelFeatures | JudgeFeatures:
    """The run's judge when it has one, else the pixel fallback."""
    judge_dir = run.eval_dir / "judge"
    if (judge_dir / "model.safetensors").is_file():
        return JudgeFeatures(judge_dir)
    return PixelFeatures()


@dataclass
class NeighbourIndex:
    """Features of a pool of real galaxies (``rows`` of a :class:`RealGalaxies` catalog)."""

    features: np.ndarray
    rows: np.ndarray

    def query(self, features: np.ndarray, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest pool galaxies of each query: ``(distances, rows)``, both ``(M, k)``."""
        if len(self.rows) == 0:
            raise ValueError("there are no real galaxies to compare with")
        k = min(int(k), len(self.rows))
        queries = np.asarray(features, dtype=np.float64)
        pool = self.features.astype(np.float64)
        squared = (queries**2).sum(1)[:, None] + (pool**2).sum(1)[None, :] - 2 * queries @ pool.T
        distances = np.sqrt(np.clip(squared, 0, None))
        nearest = np.argsort(distances, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(distances, nearest, axis=1), self.rows[nearest]

    def typical_distance(self, sample: int = 500, seed: int = 0) -> float:
        """Median distance from a pool galaxy to its nearest *other* pool galaxy.

        The scale to read generated-to-real distances against: a generated galaxy much
        closer to a real one than real galaxies are to each other looks like a copy.
        """
        if len(self.rows) < 2:
            return float("nan")
        picked = np.arange(len(self.rows))
        if len(picked) > sample:
            picked = np.random.default_rng(seed).choice(picked, sample, replace=False)
        distances, _ = self.query(self.features[picked], k=2)
        return float(np.median(distances[:, 1]))


def build_index(space, images: np.ndarray, rows: np.ndarray) -> NeighbourIndex:
    """Index the real galaxies ``images`` (catalog ``rows``) in a feature space."""
    return NeighbourIndex(features=space.features(images), rows=np.asarray(rows))
