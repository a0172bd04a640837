"""Held-out real galaxies for the benchmarks that score generated ones against them
(``design_study.py``, ``answer_boost.py``): images, judge features and probabilities computed
once, the rows of a prompt's morphology, measured axis ratios, and a prompt's scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from galaxysd import morphology
from galaxysd.evaluation.judge import Judge
from galaxysd.evaluation.metrics import score_prompt
from galaxysd.evaluation.prompts import PromptSpec, cumulative_table, matching_rows

MIN_REAL = 20


class HeldOut:
    """Held-out real galaxies: images, catalog, judge features and probabilities (computed once)."""

    def __init__(self, spec: str, cache_dir: Path, judge: Judge):
        from galaxysd.data.cache import build_cache, cache_folder
        from galaxysd.data.loaders import load_catalog_spec

        catalog = load_catalog_spec(spec)
        cache = build_cache(catalog, cache_folder(cache_dir, spec, 64), size=64, workers=1, progress=False)
        self.catalog = cache.catalog.reset_index(drop=True)
        self.images = cache.batch(np.arange(len(cache)))
        self.features = judge.features(self.images)
        self.probabilities = judge.predict_tags(self.images)
        positives = (cumulative_table(self.catalog) >= 0.5).sum()
        self.known_tags = {t for t in morphology.ANSWER_TAGS if positives[t] >= MIN_REAL}
        self.judge_trained = int(self.catalog["id"].astype(str).isin(set(judge.train_ids)).sum())

    def reference_tags(self, spec: PromptSpec) -> tuple[str, ...]:
        """The prompt's required tags with >= :data:`MIN_REAL` held-out positives (GZ1: smooth, spiral, edge-on)."""
        return tuple(t for t in spec.required_tags if t in self.known_tags)

    def axis_ratio(self, rows: np.ndarray) -> np.ndarray:
        """Measured b/a of held-out galaxies ``rows`` (measured once, then kept)."""
        if not hasattr(self, "_axis_ratio"):
            self._axis_ratio = np.full(len(self.catalog), np.nan)
            self._measured = np.zeros(len(self.catalog), bool)
        todo = np.asarray(rows)[~self._measured[rows]]
        if len(todo):
            self._axis_ratio[todo] = axis_ratios(self.images[todo])
            self._measured[todo] = True
        return self._axis_ratio[rows]

    def rows(self, spec: PromptSpec) -> np.ndarray:
        """Held-out rows of the prompt's morphology."""
        return matching_rows(self.catalog, self.reference_tags(spec))

    def score(self, images: np.ndarray, spec: PromptSpec, judge: Judge, trusted: set[str], seed: int):
        """:func:`score_prompt` of ``images`` against the held-out galaxies of the prompt's
        morphology on its trusted judged tags; returns the scores, the judge's probabilities of
        ``images``, the real rows and the judged tags."""
        real_rows = self.rows(spec)
        judged = [t for t in judge.judged(spec.required_tags) if t in trusted]
        probs = judge.predict_tags(images)
        scores = score_prompt(
            judge.features(images),
            judge.presence(probs, judged),
            self.features[real_rows],
            judge.presence(self.probabilities.iloc[real_rows], judged),
            seed=seed,
        )
        return scores, probs, real_rows, judged


def axis_ratios(images: np.ndarray) -> np.ndarray:
    """Measured b/a of each image's central galaxy (NaN where the measurement fails)."""
    from galaxysd.data.shape_measure import measure_shape

    return np.array([measure_shape(image.astype(np.float64))["axis_ratio"] for image in images], dtype=float)
