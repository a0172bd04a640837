"""Does training on synthetic galaxies help a morphology classifier? The experiment.

For each binary task (:mod:`galaxysd.science.binary_tasks`) of one catalog:

1. The labelled galaxies are split once into a held-out real test set (``test_fraction``
   of each class, at most ``max_test`` galaxies, natural class ratio) and a training pool
   (majority side capped at ``max_train_majority``).
2. For each few-shot setting (``shots``: the number of real positives, ``None`` = all of
   the pool) and each seed, a training set is drawn and the same classifier
   (:mod:`galaxysd.evaluation.classifier`) is trained under three conditions:

   * ``real``: real images only, plain cross-entropy;
   * ``real+synthetic``: real images plus synthetic ones for the under-represented side until
     it matches the other side (at most ``n_synthetic``), plain cross-entropy; positives
     are generated from the task's prompt (:meth:`BinaryTask.prompt` with the catalog's
     survey tag), negatives from the vote fractions of real training negatives;
   * ``reweighted``: real images only, class-balanced focal loss (the usual remedy for
     imbalance without new data).
3. Each model predicts the test set; purity, completeness and F1 are averaged over seeds
   with paired bootstrap intervals (:mod:`galaxysd.science.detection_metrics`).

Every model's test probabilities are kept under the work folder, so a killed study resumes.
"""

from __future__ import annotations

import zlib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from galaxysd.atomic_files import save_array
from galaxysd.evaluation.classifier import ClassifierConfig, train_classifier
from galaxysd.evaluation.scoring import fingerprint
from galaxysd.science.binary_tasks import BinaryTask, known_cumulative_fractions, task_labels
from galaxysd.science.detection_metrics import BootstrapPlan, bootstrap_difference, bootstrap_scores
from galaxysd.science.synthetic_sets import ImageGenerator, SynthesisSettings, prompts_like, synthesize

CONDITIONS = ("real", "real+synthetic", "reweighted")
AUGMENTED = "real+synthetic"
MIN_TRAIN_POSITIVES = 5


@dataclass(frozen=True)
class AugmentSettings:
    """Splits, few-shot settings, seeds, classifier and synthesis of the study."""

    shots: tuple[int | None, ...] = (10, 30, 100, None)
    seeds: int = 3
    n_synthetic: int = 200
    test_fraction: float = 0.3
    max_test: int = 1000
    max_train_majority: int = 1000
    min_test_positives: int = 5
    classifier_size: int = 32
    widths: tuple[int, ...] = (16, 32, 64)
    epochs: int = 8
    batch_size: int = 64
    learning_rate: float = 2e-3
    focal_gamma: float = 2.0
    bootstrap: int = 1000
    device: str = "auto"
    synthesis: SynthesisSettings = field(default_factory=SynthesisSettings)

    def __post_init__(self) -> None:
        if self.seeds < 1:
            raise ValueError("seeds must be at least 1")
        if not 0.0 < self.test_fraction < 1.0:
            raise ValueError(f"test_fraction must be within (0, 1), got {self.test_fraction}")
        if any(s is not None and s < 1 for s in self.shots) or not self.shots:
            raise ValueError("shots must be positive numbers of real positives (or all)")

    def classifier_config(self, condition: str, seed: int, image_size: int) -> ClassifierConfig:
        """The classifier of a condition: plain BCE, or balanced focal loss for ``reweighted``."""
        reweighted = condition == "reweighted"
        return ClassifierConfig(
            image_size=image_size,
            widths=self.widths,
            epochs=self.epochs,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            loss="focal" if reweighted else "bce",
            focal_gamma=self.focal_gamma,
            class_weight="balanced" if reweighted else None,
            seed=seed,
            device=self.device,
        )


@dataclass
class TaskSplit:
    """Catalog rows of one task: held-out test set and training pool, by class."""

    test: np.ndarray
    test_labels: np.ndarray
    pool_positives: np.ndarray
    pool_negatives: np.ndarray


def shots_label(shots: int | None) -> str:
    """``10`` -> ``"10"``, ``None`` -> ``"all"``."""
    return "all" if shots is None else str(int(shots))


def resize_images(images: np.ndarray, size: int, batch: int = 2048) -> np.ndarray:
    """uint8 (N, H, W, 3) -> (N, size, size, 3), antialiased as the classifier resizes."""
    if images.shape[1] == size:
        return np.asarray(images)
    out = np.empty((len(images), size, size, 3), dtype=np.uint8)
    for start in range(0, len(images), batch):
        x = torch.from_numpy(np.ascontiguousarray(images[start : start + batch])).permute(0, 3, 1, 2).float()
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        out[start : start + batch] = x.round().clamp(0, 255).byte().permute(0, 2, 3, 1).numpy()
    return out


def split_task(labels: np.ndarray, settings: AugmentSettings, seed: int) -> TaskSplit:
    """Stratified held-out split of the labelled rows (see the module docstring)."""
    rng = np.random.default_rng(seed)
    positives = rng.permutation(np.flatnonzero(labels == 1))
    negatives = rng.permutation(np.flatnonzero(labels == 0))
    n_pos = int(round(settings.test_fraction * len(positives)))
    n_neg = int(round(settings.test_fraction * len(negatives)))
    if n_pos + n_neg > settings.max_test:
        scale = settings.max_test / (n_pos + n_neg)
        n_pos, n_neg = int(round(n_pos * scale)), int(round(n_neg * scale))
        n_pos = min(max(n_pos, settings.min_test_positives), int(round(settings.test_fraction * len(positives))))
        n_neg = settings.max_test - n_pos
    pool_pos, pool_neg = positives[n_pos:], negatives[n_neg:]
    if len(pool_pos) > len(pool_neg):
        pool_pos = pool_pos[: settings.max_train_majority]
    else:
        pool_neg = pool_neg[: settings.max_train_majority]
    test = np.concatenate([positives[:n_pos], negatives[:n_neg]])
    labels_test = np.concatenate([np.ones(n_pos), np.zeros(n_neg)])
    return TaskSplit(test, labels_test, np.sort(pool_pos), np.sort(pool_neg))


def insufficient(split: TaskSplit, settings: AugmentSettings) -> str:
    """Why a task cannot be studied on this catalog ('' when it can)."""
    n_test = int(split.test_labels.sum())
    n_pool = len(split.pool_positives)
    if n_test < settings.min_test_positives or n_pool < MIN_TRAIN_POSITIVES:
        return (
            f"too few real positives: {n_test + n_pool} labelled, {n_test} held out "
            f"(needs {settings.min_test_positives}) and {n_pool} to train "
            f"(needs {MIN_TRAIN_POSITIVES})"
        )
    if len(split.pool_negatives) < MIN_TRAIN_POSITIVES or len(split.test_labels) == n_test:
        return f"too few real negatives: {len(split.pool_negatives)} to train"
    return ""


class TaskStudy:
    """One task of one catalog: synthetic pools, models per setting/condition/seed, metrics."""

    def __init__(
        self,
        images: np.ndarray,
        catalog: pd.DataFrame,
        task: BinaryTask,
        domain: str,
        generator: ImageGenerator,
        settings: AugmentSettings,
        work: Path,
        synthetic_root: Path,
        progress: bool = True,
    ):
        self.catalog, self.task, self.domain = catalog, task, domain
        self.generator, self.settings, self.work, self.progress = generator, settings, work, progress
        self.synthetic_root = synthetic_root
        self.size = min(settings.classifier_size, images.shape[1])
        self.task_seed = zlib.crc32(task.name.encode())
        labels = task_labels(known_cumulative_fractions(catalog), task)
        self.split = split_task(labels, settings, self.task_seed)
        self.images = images  # the catalog's images at cache size (memmap)
        self._small: dict[str, np.ndarray] = {}
        self._synthetic: dict[str, np.ndarray] = {}

    def small(self, rows: np.ndarray) -> np.ndarray:
        """Images of catalog rows at the classifier's size."""
        return resize_images(self.images[np.asarray(rows)], self.size)

    def synthetic(self, side: str) -> np.ndarray:
        """The pool of synthetic images of ``side`` ('positive' or 'negative')."""
        if side not in self._synthetic:
            s = self.settings
            if side == "positive":
                prompts = [self.task.prompt(self.domain)] * s.n_synthetic
            else:
                rng = np.random.default_rng([self.task_seed, 7])
                rows = rng.choice(
                    self.split.pool_negatives, s.n_synthetic, replace=len(self.split.pool_negatives) < s.n_synthetic
                )
                prompts = prompts_like(self.catalog.iloc[rows], self.domain)
            seed = self.task_seed % 100_000
            folder = self.synthetic_root / f"{side}-{fingerprint(prompts, seed)}"
            images = synthesize(
                self.generator,
                prompts,
                seed=seed,
                folder=folder,
                batch_size=s.synthesis.batch_size,
                progress=self.progress,
                desc=f"synthetic {self.task.name} ({side})",
            )
            self._synthetic[side] = resize_images(images, self.size)
        return self._synthetic[side]

    def training_set(self, shots: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Real training rows and their labels for one few-shot setting and seed."""
        rng = np.random.default_rng([self.task_seed, seed])
        positives = self.split.pool_positives
        if shots is not None:
            positives = np.sort(rng.choice(positives, shots, replace=False))
        rows = np.concatenate([positives, self.split.pool_negatives])
        labels = np.concatenate([np.ones(len(positives)), np.zeros(len(self.split.pool_negatives))])
        return rows, labels

    def synthetic_plan(self, labels: np.ndarray) -> tuple[str, int]:
        """(side, count) of synthetic images that balances a training set."""
        n_pos = int(labels.sum())
        n_neg = len(labels) - n_pos
        side = "positive" if n_pos <= n_neg else "negative"
        return side, min(abs(n_neg - n_pos), self.settings.n_synthetic)

    def probabilities(self, shots: int | None, condition: str, seed: int, test_images: np.ndarray) -> np.ndarray:
        """Test-set probabilities of one trained model (computed once, then read from disk)."""
        path = self.work / f"probs-{shots_label(shots)}-{condition}-s{seed}.npy"
        if path.is_file():
            return np.load(path)
        rows, labels = self.training_set(shots, seed)
        images = self.small(rows)
        if condition == AUGMENTED:
            side, count = self.synthetic_plan(labels)
            pool = self.synthetic(side)
            picked = np.random.default_rng([self.task_seed, seed, 3]).permutation(len(pool))[:count]
            images = np.concatenate([images, pool[picked]])
            labels = np.concatenate([labels, np.full(count, 1.0 if side == "positive" else 0.0)])
        config = self.settings.classifier_config(condition, seed, self.size)
        classifier = train_classifier(images, labels, config, progress=False)
        probs = classifier.predict_proba(test_images)[:, 0]
        save_array(path, probs)
        return probs

    def settings_to_run(self) -> list[int | None]:
        """Few-shot settings that fit this task's pool (``all`` always; fewer shots only when
        the pool has more positives than that)."""
        n = len(self.split.pool_positives)
        return [s for s in self.settings.shots if s is None or s < n]

    def base_row(self) -> dict:
        return {
            "task": self.task.name,
            "tags": "; ".join(self.task.tags),
            "survey": self.domain,
            "n_test_positives": int(self.split.test_labels.sum()),
            "n_test_negatives": int(len(self.split.test_labels) - self.split.test_labels.sum()),
            "n_pool_positives": int(len(self.split.pool_positives)),
        }

    def run(self) -> list[dict]:
        """Rows of ``results.csv`` for this task (one note row when it cannot be studied)."""
        reason = insufficient(self.split, self.settings)
        if reason:
            return [{**self.base_row(), "note": reason}]
        self.work.mkdir(parents=True, exist_ok=True)
        test_images = self.small(self.split.test)
        s, rows = self.settings, []
        plan = BootstrapPlan.draw(len(self.split.test), s.seeds, s.bootstrap, seed=self.task_seed)
        jobs = [(shots, c, seed) for shots in self.settings_to_run() for c in CONDITIONS for seed in range(s.seeds)]
        probs = {}
        for shots, condition, seed in tqdm(
            jobs, desc=f"task {self.task.name}", disable=not self.progress, unit="model"
        ):
            probs[shots, condition, seed] = self.probabilities(shots, condition, seed, test_images)
        for shots in self.settings_to_run():
            _, labels = self.training_set(shots, 0)
            side, count = self.synthetic_plan(labels)
            baseline = np.stack([probs[shots, "real", seed] for seed in range(s.seeds)])
            for condition in CONDITIONS:
                stack = np.stack([probs[shots, condition, seed] for seed in range(s.seeds)])
                row = {
                    **self.base_row(),
                    "shots": shots_label(shots),
                    "training": condition,
                    "n_train_positives": int(labels.sum()),
                    "n_train_negatives": int(len(labels) - labels.sum()),
                    "n_synthetic": count if condition == AUGMENTED else 0,
                    "synthetic_side": side if condition == AUGMENTED else "",
                    "seeds": s.seeds,
                    **bootstrap_scores(self.split.test_labels, stack, plan),
                }
                if condition != "real":
                    row.update(bootstrap_difference(self.split.test_labels, stack, baseline, plan))
                rows.append(row)
        return rows


def run_study(
    images: np.ndarray,
    catalog: pd.DataFrame,
    tasks: Sequence[BinaryTask],
    domain: str,
    generator: ImageGenerator,
    settings: AugmentSettings,
    work: Path,
    synthetic_root: Path,
    progress: bool = True,
) -> pd.DataFrame:
    """Study every task on one catalog (``images[i]`` is ``catalog`` row ``i``); one results
    row per task, few-shot setting and condition (see :data:`RESULT_COLUMNS`).

    ``work`` keeps this catalog's models; ``synthetic_root`` the synthetic sets of one model
    and sampling setting, shared by catalogs with the same survey tag."""
    rows = []
    for task in tasks:
        folder = Path(work) / f"task-{task.slug}"
        rows += TaskStudy(
            images, catalog, task, domain, generator, settings, folder, Path(synthetic_root), progress
        ).run()
    return pd.DataFrame(rows).reindex(columns=[c for c in RESULT_COLUMNS if c != "catalog"])


def settings_fingerprint(settings: AugmentSettings) -> dict:
    """The settings as plain data (for work-folder fingerprints and the results' provenance)."""
    return asdict(replace(settings, device="any"))


_METRIC_COLUMNS = [f"{m}{suffix}" for m in ("purity", "completeness", "f1") for suffix in ("", "_low", "_high")]
_GAIN_COLUMNS = [f"{m}_gain{suffix}" for m in ("purity", "completeness", "f1") for suffix in ("", "_low", "_high")]
#: Columns of ``augment/results.csv`` (documented in :mod:`galaxysd.augment`).
RESULT_COLUMNS: tuple[str, ...] = (
    "catalog",
    "survey",
    "task",
    "tags",
    "shots",
    "training",
    "seeds",
    "n_train_positives",
    "n_train_negatives",
    "n_synthetic",
    "synthetic_side",
    "n_pool_positives",
    "n_test_positives",
    "n_test_negatives",
    *_METRIC_COLUMNS,
    *_GAIN_COLUMNS,
    "note",
)
