"""The dusty early-type search of one catalog as a resumable job: synthesise, train the
detectors, scan the catalog with each, summarise (used by :mod:`galaxysd.science.discover_job`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from galaxysd.data.survey_cache import survey_tag
from galaxysd.evaluation.scoring import fingerprint, folder_fingerprint
from galaxysd.runs import RunDir
from galaxysd.science.dusty_search import (
    MIN_REAL_POSITIVES,
    TRUTH_COLUMN,
    SearchSettings,
    SyntheticSet,
    combine_scores,
    synthetic_set,
    train_detector,
    training_sets,
)
from galaxysd.science.scan import classifier_fingerprint, scan
from galaxysd.science.search_ranking import COMBINED, DETECTOR, REAL_ONLY, ranking_detector
from galaxysd.science.synthetic_sets import ImageGenerator


def train_and_save(folder: Path, train) -> Path:
    """Train (``train() -> Classifier``) into ``folder`` unless a finished one is there."""
    if not (folder / "config.json").is_file():
        train().save(folder)
    return folder


class CatalogSearch:
    """The search of one catalog: detectors (main process), scans (every process), results."""

    def __init__(
        self, run: RunDir, spec: str, cache, settings: SearchSettings, generator: ImageGenerator, progress: bool
    ):
        self.run, self.spec, self.cache, self.settings = run, spec, cache, settings
        self.generator, self.progress = generator, progress
        self.domain = survey_tag(spec, cache, run)
        self.model_id = folder_fingerprint(run.model_dir)
        key = fingerprint(spec, cache.meta.get("fingerprint"), settings.identity(), self.model_id)
        self.work = run.discover_dir / "parts" / f"{spec.split(':', 1)[0]}-{key}"
        self.sets = training_sets(cache.catalog, settings)
        self.has_truth = TRUTH_COLUMN in cache.catalog
        self.synthetic: SyntheticSet | None = None  # the main detector's
        self._synthetic_sets: dict[tuple[str, ...], SyntheticSet] = {}

    def synthetic_folder(self, prompts: list) -> Path:
        """The resumable folder of one synthetic prompt list (shared by catalogs that agree)."""
        s = self.settings
        key = fingerprint(prompts, s.seed, s.synthesis.to_dict(), self.model_id)
        return self.run.discover_dir / "parts" / f"synthetic-{self.domain}-{key}"

    def synthetic_for(self, n_real_positives: int) -> SyntheticSet:
        """The synthetic set of a detector trained with ``n_real_positives`` real positives
        (synthesised once per prompt list, resumable)."""
        prompts = self.settings.prompts_for(n_real_positives)
        if prompts not in self._synthetic_sets:
            self._synthetic_sets[prompts] = synthetic_set(
                self.generator,
                self.settings,
                prompts,
                self.domain,
                self.cache.catalog,
                self.sets,
                self.synthetic_folder,
                self.progress,
            )
        return self._synthetic_sets[prompts]

    def prepare(self) -> dict[str, Path]:
        """Synthesise and train the detectors (main process); returns their folders. The
        real-only detector is trained whenever the pool has enough real positives: from
        :data:`galaxysd.science.search_ranking.COMBINE_FROM` on the search ranks by both
        (:func:`galaxysd.science.dusty_search.combine_scores`), and below it the real-only
        detector is measured beside the ranking."""
        images = self.cache.images
        self.synthetic = self.synthetic_for(len(self.sets.positives))
        detectors = {
            DETECTOR: train_and_save(
                self.work / "detector",
                lambda: train_detector(images, self.sets, self.synthetic, self.settings, self.progress),
            )
        }
        if len(self.sets.positives) >= MIN_REAL_POSITIVES:
            detectors[REAL_ONLY] = train_and_save(
                self.work / "detector-real-only",
                lambda: train_detector(images, self.sets, None, self.settings, self.progress),
            )
        return detectors

    def detector_folders(self) -> dict[str, Path]:
        """The trained detectors' folders (after :meth:`prepare`)."""
        folders = {DETECTOR: self.work / "detector", REAL_ONLY: self.work / "detector-real-only"}
        return {name: f for name, f in folders.items() if (f / "config.json").is_file()}

    def scan_all(self, batch_size: int, chunk: int) -> dict[str, object]:
        """Scan the catalog with every detector (sharded); scores on the main process."""
        results = {}
        for name, folder in self.detector_folders().items():
            work = self.work / f"scan-{classifier_fingerprint(folder)}"
            results[name] = scan(folder, self.cache.images, work, chunk, batch_size, self.progress)
        return results

    @staticmethod
    def ranking_scores(scans: dict) -> dict:
        """Scores per detector from :meth:`scan_all`, plus :data:`COMBINED` (the mean of
        both) when the real-only detector was trained."""
        scores = {name: result.scores for name, result in scans.items()}
        if REAL_ONLY in scores:
            scores[COMBINED] = combine_scores(scores[DETECTOR], scores[REAL_ONLY])
        return scores

    @property
    def ranked_by(self) -> str:
        """The detector whose score ranks this catalog (:func:`ranking_detector`)."""
        return ranking_detector(len(self.sets.positives))

    def summarize(self, table: pd.DataFrame, rate: float, threshold: float) -> dict:
        """The catalog's numbers for ``summary.json``."""
        above = table[table["score"] >= threshold]
        known_et = int(table["known_dusty_early_type"].sum())
        new = int((~above["known"]).sum())
        summary = {
            "catalog": self.spec,
            "survey": self.domain,
            "galaxies": int(len(table)),
            "scan_galaxies_per_s": rate,
            "synthetic_positives": self.settings.n_synthetic,
            "synthetic_negatives": self.settings.n_synthetic_negatives,
            "real_positives_in_training": int(len(self.sets.positives)),
            "real_negatives_in_training": int(len(self.sets.negatives)),
            "galaxies_with_dust_lane_votes": int(table["cumulative_dust_lane"].notna().sum()),
            "known_dust_lanes": int(table["known"].sum()),
            "known_dusty_early_types": known_et,
            "threshold": threshold,
            "candidates": int(len(above)),
            "candidates_known_dust_lane": int(above["known"].sum()),
            "candidates_new": new,
            "dusty_early_types_known_then_with_new": [known_et, known_et + new],
            "known_dust_lanes_in_top_100": int(table["known"].head(100).sum()),
        }
        if self.has_truth:
            summary["true_among_new_candidates"] = int(above.loc[~above["known"], TRUTH_COLUMN].sum())
        return summary
