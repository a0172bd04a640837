"""Catalog rows -> conditioning weight vectors, vectorised over a whole catalog."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from galaxysd import morphology


def cumulative_fraction_matrix(catalog: pd.DataFrame, suffix: str = "debiased") -> np.ndarray:
    """(N, 37) cumulative vote fractions in :data:`morphology.ANSWERS` order (NaN -> 0).

    The vectorised twin of :func:`morphology.cumulative_fractions`.
    """
    out = np.zeros((len(catalog), len(morphology.ANSWERS)), dtype=np.float32)
    position = {}
    for j, ans in enumerate(morphology.ANSWERS):
        column = morphology.fraction_column(ans, suffix)
        values = (
            pd.to_numeric(catalog[column], errors="coerce").to_numpy(np.float32)
            if column in catalog
            else np.zeros(len(catalog), np.float32)
        )
        values = np.clip(np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0), 0.0, 1.0)
        if ans.parent:
            values = values * out[:, position[ans.parent]]
        out[:, j] = values
        position[ans.tag] = j
    return out


def condition_matrix(
    catalog: pd.DataFrame,
    tags: Sequence[str],
    domain: str | None = None,
    threshold: float = morphology.DEFAULT_THRESHOLD,
    suffix: str = "debiased",
) -> np.ndarray:
    """(N, len(tags)) weights per row: cumulative fractions >= threshold, plus the domain tag.

    Equals ``vote_fractions_to_weights(row, threshold=..., domain=...)`` laid out in ``tags``
    order (see the test suite), without a Python loop over rows.
    """
    index = {tag: i for i, tag in enumerate(tags)}
    out = np.zeros((len(catalog), len(tags)), dtype=np.float32)
    fractions = cumulative_fraction_matrix(catalog, suffix)
    fractions = np.where(fractions >= threshold, np.round(fractions, 4), 0.0)
    for j, ans in enumerate(morphology.ANSWERS):
        if ans.tag in index:
            out[:, index[ans.tag]] = fractions[:, j]
    if domain:
        out[:, index[morphology.domain_tag(domain)]] = 1.0
    elif "domain" in catalog:
        for name in catalog["domain"].dropna().unique():
            out[(catalog["domain"] == name).to_numpy(), index[morphology.domain_tag(name)]] = 1.0
    return out
