"""Realism, diversity and consistency of generated galaxies, and Pareto marking.

All image metrics work in the judge's feature space (its penultimate layer):

- realism: Fréchet distance between generated and real features (lower is better); the
  distance between a random part of the real set, as large as the generated set, and the
  rest of it is the floor it cannot be expected to beat;
- diversity: mean pairwise Euclidean feature distance within a set; reported relative to
  the same quantity for real images of that morphology (1 = as diverse as real);
- consistency: fraction of images in which the judge finds every required tag of the
  prompt; the same fraction for real images of that morphology is the ceiling.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial.distance import pdist

NAN = float("nan")
SPLIT_REPEATS = 5
#: Fewer real images of a morphology than this leave its distances unmeasured (NaN).
MIN_REAL_IMAGES = 10


def _moments(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    features = np.asarray(features, dtype=np.float64)
    return features.mean(axis=0), np.atleast_2d(np.cov(features, rowvar=False))


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets ``(N, D)``.

    ``|mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2)``, computed with
    symmetric eigen-decompositions so singular covariances (fewer images than features)
    stay stable. NaN when either set has fewer than two rows.
    """
    if len(features_a) < 2 or len(features_b) < 2:
        return NAN
    mu_a, cov_a = _moments(features_a)
    mu_b, cov_b = _moments(features_b)
    root_a = _psd_sqrt(cov_a)
    cross = np.linalg.eigvalsh(root_a @ cov_b @ root_a)
    trace_cross = np.sqrt(np.clip(cross, 0, None)).sum()
    value = float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_cross)
    return max(value, 0.0)


def split_frechet(features: np.ndarray, size: int | None = None, seed: int = 0, repeats: int = SPLIT_REPEATS) -> float:
    """Fréchet distance between random disjoint parts of one set: the floor for that set.

    One part has ``size`` rows (at most half the set; default half), the other the rest,
    so the floor matches a comparison of ``size`` generated images with the whole real
    set. Averaged over ``repeats`` random splits; NaN below four rows.
    """
    if len(features) < 4:
        return NAN
    part = min(size or len(features) // 2, len(features) // 2)
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(repeats):
        order = rng.permutation(len(features))
        values.append(frechet_distance(features[order[:part]], features[order[part:]]))
    return float(np.mean(values))


def mean_pairwise_distance(features: np.ndarray) -> float:
    """Mean Euclidean distance over all pairs of rows; 0 for identical rows, NaN below 2."""
    if len(features) < 2:
        return NAN
    return float(pdist(np.asarray(features, dtype=np.float64)).mean())


#: "No two of 16 seeds nearly identical": the closest pair is looked for among this many images.
CLOSEST_PAIR_IMAGES = 16


def closest_pair_distance(features: np.ndarray) -> float:
    """Smallest Euclidean distance between two rows (the two most alike images); NaN below 2."""
    if len(features) < 2:
        return NAN
    return float(pdist(np.asarray(features, dtype=np.float64)).min())


def closest_pair_pixels(images: np.ndarray) -> float:
    """Mean absolute pixel difference (grey levels) of the two most alike of ``images``."""
    flat = np.asarray(images, dtype=np.float64).reshape(len(images), -1)
    if len(flat) < 2:
        return NAN
    return float(pdist(flat, "cityblock").min() / flat.shape[1])


def _over_spread(distance: float, real_spread: float) -> float:
    """``distance`` in units of the real mean pair distance; NaN where that is 0 or unknown."""
    if not np.isfinite(real_spread) or real_spread == 0:
        return NAN
    return distance / real_spread


def relative_diversity(generated: np.ndarray, real: np.ndarray) -> float:
    """Mean pairwise distance of generated features over that of real features."""
    return _over_spread(mean_pairwise_distance(generated), mean_pairwise_distance(real))


def consistency(presence: np.ndarray) -> float:
    """Fraction of images (rows) in which every judged tag (column) was found.

    NaN when there is no image or no judged tag.
    """
    presence = np.asarray(presence, dtype=bool)
    if presence.ndim != 2 or presence.shape[0] == 0 or presence.shape[1] == 0:
        return NAN
    return float(presence.all(axis=1).mean())


def pareto_mask(values: np.ndarray, maximize: tuple[bool, ...] | list[bool]) -> np.ndarray:
    """Mark the non-dominated rows of ``values`` ``(N, M)``.

    ``maximize[m]`` says whether larger is better for column ``m``. A row is dominated when
    another is at least as good in every column and strictly better in one. Rows with a NaN
    are never on the front and dominate nothing.
    """
    values = np.asarray(values, dtype=float)
    if values.ndim != 2 or values.shape[1] != len(maximize):
        raise ValueError(f"values must be (N, {len(maximize)}), got {values.shape}")
    signed = values * np.where(np.asarray(maximize, dtype=bool), 1.0, -1.0)
    valid = np.isfinite(signed).all(axis=1)
    front = valid.copy()
    for i in np.flatnonzero(valid):
        others = signed[valid]
        dominated = (others >= signed[i]).all(axis=1) & (others > signed[i]).any(axis=1)
        front[i] = not dominated.any()
    return front


def score_prompt(
    gen_features: np.ndarray,
    gen_presence: np.ndarray,
    real_features: np.ndarray,
    real_presence: np.ndarray,
    seed: int = 0,
) -> dict[str, float]:
    """All feature metrics of one prompt, generated vs. real images of its morphology.

    ``*_presence`` are the judge's bool ``(N, K)`` findings for the prompt's judged tags.
    With fewer than :data:`MIN_REAL_IMAGES` real images every number that needs them (the
    real consistency, the Fréchet distance and its floor, the relative diversity) is NaN:
    a handful of galaxies says little about a morphology. ``closest_pair`` is the distance of
    the two most alike of the first :data:`CLOSEST_PAIR_IMAGES` generated images over the real
    images' mean pair distance (``closest_pair_real``: the same for real ones).
    """
    enough = len(real_features) >= MIN_REAL_IMAGES
    gen_spread, real_spread = mean_pairwise_distance(gen_features), mean_pairwise_distance(real_features)
    closest = closest_pair_distance(gen_features[:CLOSEST_PAIR_IMAGES])
    closest_real = closest_pair_distance(real_features[:CLOSEST_PAIR_IMAGES])
    return {
        "n_generated": int(len(gen_features)),
        "n_real": int(len(real_features)),
        "consistency": consistency(gen_presence),
        "consistency_real": consistency(real_presence) if enough else NAN,
        "frechet": frechet_distance(gen_features, real_features) if enough else NAN,
        "frechet_floor": split_frechet(real_features, len(gen_features), seed) if enough else NAN,
        "diversity": _over_spread(gen_spread, real_spread) if enough else NAN,
        "pairwise_distance": gen_spread,
        "pairwise_distance_real": real_spread,
        # the two most alike of the first 16 generated / real images, in units of the real mean pair
        "closest_pair": _over_spread(closest, real_spread) if enough else NAN,
        "closest_pair_real": _over_spread(closest_real, real_spread) if enough else NAN,
    }


#: Pareto fronts marked by :func:`mark_pareto_fronts`: column -> (x, y) both to optimise.
FRONTS = {
    "pareto_realism_diversity": ("frechet", "diversity"),
    "pareto_realism_consistency": ("frechet", "consistency"),
}


def mark_pareto_fronts(points: pd.DataFrame, group: str = "prompt") -> pd.DataFrame:
    """Add bool columns of :data:`FRONTS` to sweep ``points``, fronts taken within ``group``.

    Lower Fréchet distance is better; higher diversity and consistency are better.
    """
    marked = points.copy()
    for column, (realism, other) in FRONTS.items():
        marked[column] = False
        for _, rows in marked.groupby(group):
            front = pareto_mask(rows[[realism, other]].to_numpy(float), (False, True))
            marked.loc[rows.index, column] = front
    return marked
