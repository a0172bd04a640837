"""The judge: a multi-label CNN that says which GZ2 tags a galaxy image shows.

Trained on real images only (plus images of no galaxy at all, see :func:`train_judge`);
never on generated galaxies. Each output is one answer tag of the decision tree; its
target is the tag's *cumulative* vote fraction (answer fraction times its parent path's,
see :func:`galaxysd.evaluation.prompts.cumulative_table`), either as a soft target or thresholded at
0.5. A tag is "found" in an image when its predicted probability reaches the tag's
threshold, chosen for the best balanced accuracy on a calibration split (rare tags would
almost never reach 0.5). Tags are kept as far as the labels allow: a tag needs
``min_examples`` labelled positives and negatives in the training split (GZ1 labels alone,
for instance, say nothing about bars, bulges or arms). The held-out split's accuracy,
balanced accuracy and ROC AUC per tag form the judge's report. The penultimate-layer
features feed the realism and diversity metrics.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np
import pandas as pd
from PIL import Image
from sklearn.metrics import roc_auc_score

from galaxysd.atomic_files import write_json
from galaxysd.evaluation.classifier import Classifier, ClassifierConfig, train_classifier
from galaxysd.evaluation.prompts import PRESENCE_THRESHOLD, cumulative_table
from galaxysd.morphology import ANSWER_TAGS, canonical_tag

REPORT_FILE = "report.json"
SPLIT_FILE = "split.json"


class ImageSet(Protocol):
    """What the judge needs from an image cache: catalog row ``i`` is ``images[i]``, or
    ``batch([i])`` for caches that have a ``batch`` method (such as ``ImageCache``)."""

    images: np.ndarray
    catalog: pd.DataFrame


@dataclass
class JudgeConfig:
    """What the judge learns (``tags``, targets, split) and how long it trains."""

    tags: tuple[str, ...] = ANSWER_TAGS
    soft_targets: bool = True
    min_examples: int = 10
    test_fraction: float = 0.2
    max_images: int | None = None
    calibration_fraction: float = 0.1
    non_galaxy_fraction: float = 0.1
    seed: int = 0
    epochs: int = 15
    batch_size: int = 64
    learning_rate: float = 2e-3
    widths: tuple[int, ...] = (32, 64, 128, 256)
    image_size: int = 64
    loss: str = "bce"
    focal_gamma: float = 2.0
    class_weight: str | None = "balanced"
    look_augment: bool = False  # colour, stretch, blur, noise and zoom augmentations (indifferent to the look)
    device: str = "auto"

    def classifier_config(self, tags: tuple[str, ...]) -> ClassifierConfig:
        """The :class:`ClassifierConfig` for a judge with outputs ``tags``."""
        return ClassifierConfig(
            num_outputs=len(tags),
            output_names=tags,
            image_size=self.image_size,
            widths=self.widths,
            epochs=self.epochs,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            loss=self.loss,
            focal_gamma=self.focal_gamma,
            class_weight=self.class_weight,
            look_augment=self.look_augment,
            seed=self.seed,
            device=self.device,
        )


class Judge:
    """A trained tag-presence classifier plus its held-out report."""

    def __init__(self, classifier: Classifier, report: dict | None = None, train_ids: Sequence[str] = ()):
        self.classifier = classifier
        self.tags: tuple[str, ...] = tuple(classifier.config.output_names)
        self.report = report or {}
        self.train_ids: tuple[str, ...] = tuple(str(i) for i in train_ids)
        saved = self.report.get("thresholds") or {}
        self.thresholds: dict[str, float] = {tag: float(saved.get(tag, PRESENCE_THRESHOLD)) for tag in self.tags}

    def predict_tags(self, images: np.ndarray, progress: bool = False) -> pd.DataFrame:
        """Probability that each judged tag is present, one row per image, one column per tag."""
        return pd.DataFrame(self.classifier.predict_proba(images, progress=progress), columns=list(self.tags))

    def features(self, images: np.ndarray, progress: bool = False) -> np.ndarray:
        """Penultimate-layer features ``(N, D)`` of uint8 images ``(N, H, W, 3)``."""
        return self.classifier.features(images, progress=progress)

    def judged(self, tags) -> tuple[str, ...]:
        """The subset of ``tags`` this judge has an output for (canonical names)."""
        canonical = [canonical_tag(t) for t in tags]
        return tuple(t for t in canonical if t in self.tags)

    def presence(self, probabilities: pd.DataFrame, tags) -> np.ndarray:
        """Bool ``(N, K)``: is each judged tag of ``tags`` found (probability >= its threshold)?"""
        judged = list(self.judged(tags))
        limits = np.array([self.thresholds[t] for t in judged], dtype=float)
        return probabilities[judged].to_numpy() >= limits

    def save(self, directory: str | Path) -> Path:
        """Write the classifier, ``report.json`` and ``split.json`` (training ids)."""
        directory = self.classifier.save(directory)
        write_json(directory / REPORT_FILE, self.report)
        write_json(directory / SPLIT_FILE, {"train_ids": list(self.train_ids)})
        return directory

    @classmethod
    def load(cls, directory: str | Path, device: str = "auto") -> "Judge":
        """Load a judge written by :meth:`save`."""
        directory = Path(directory)
        classifier = Classifier.load(directory, device=device)
        report, split = (
            {} if not (directory / name).is_file() else json.loads((directory / name).read_text())
            for name in (REPORT_FILE, SPLIT_FILE)
        )
        return cls(classifier, report, split.get("train_ids", ()))


def unseen_rows(judge, catalog: pd.DataFrame) -> np.ndarray:
    """Bool per catalog row (in order): the judge was not trained on it (every row where the
    judge records no training ids or the catalog has no ``id``)."""
    if not judge.train_ids or "id" not in catalog:
        return np.ones(len(catalog), bool)
    return ~catalog["id"].astype(str).isin(set(judge.train_ids)).to_numpy()


def cache_images(cache: ImageSet, rows: Sequence[int] | np.ndarray) -> np.ndarray:
    """uint8 images of catalog rows ``rows``, through ``cache.batch`` where the cache has it."""
    rows = np.asarray(rows, dtype=np.int64)
    if hasattr(cache, "batch"):
        return cache.batch(rows)
    return np.asarray(cache.images[rows])


def split_indices(n: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random split of ``range(n)`` into sorted train and test positions."""
    order = np.random.default_rng(seed).permutation(n)
    n_test = int(round(n * test_fraction))
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def usable_tags(hard: pd.DataFrame, min_examples: int) -> tuple[tuple[str, ...], dict[str, str]]:
    """Tags with >= ``min_examples`` labelled positives and negatives; reasons for the rest."""
    kept, dropped = [], {}
    for tag in hard.columns:
        labelled = hard[tag].dropna()
        positives = int((labelled == 1).sum())
        negatives = int(len(labelled) - positives)
        if positives >= min_examples and negatives >= min_examples:
            kept.append(tag)
        else:
            dropped[tag] = f"{positives} positives, {negatives} negatives labelled (needs {min_examples} of each)"
    return tuple(kept), dropped


def calibrate_thresholds(probabilities: np.ndarray, hard: pd.DataFrame, min_examples: int = 5) -> np.ndarray:
    """Per tag, the probability threshold with the best balanced accuracy on these images.

    Tags with fewer than ``min_examples`` labelled positives or negatives keep 0.5 (so does
    everything when there are no calibration images).
    """
    thresholds = np.full(hard.shape[1], PRESENCE_THRESHOLD)
    for k, tag in enumerate(hard.columns):
        known = hard[tag].notna().to_numpy()
        truth = hard[tag].to_numpy()[known] == 1
        scores = probabilities[known, k]
        if truth.sum() < min_examples or (~truth).sum() < min_examples:
            continue
        candidates = np.unique(scores)
        recall = (scores[truth][None, :] >= candidates[:, None]).mean(axis=1)
        specificity = (scores[~truth][None, :] < candidates[:, None]).mean(axis=1)
        thresholds[k] = candidates[np.argmax(recall + specificity)]
    return thresholds


def tag_report(probabilities: np.ndarray, hard: pd.DataFrame, thresholds: np.ndarray) -> dict:
    """Per-tag held-out metrics at the given thresholds: counts, accuracy, balanced accuracy
    and ROC AUC."""
    per_tag = {}
    for k, tag in enumerate(hard.columns):
        known = hard[tag].notna().to_numpy()
        truth = hard[tag].to_numpy()[known] == 1
        found = probabilities[known, k] >= thresholds[k]
        both = 0 < truth.sum() < len(truth)
        recall = float(found[truth].mean()) if truth.any() else float("nan")
        specificity = float((~found[~truth]).mean()) if (~truth).any() else float("nan")
        per_tag[tag] = {
            "n_test": int(known.sum()),
            "n_test_positive": int(truth.sum()),
            "accuracy": float((found == truth).mean()) if len(truth) else float("nan"),
            "balanced_accuracy": float(np.nanmean([recall, specificity])) if len(truth) else float("nan"),
            "auc": float(roc_auc_score(truth, probabilities[known, k])) if both else float("nan"),
        }
    frame = pd.DataFrame(per_tag, index=["accuracy", "balanced_accuracy", "auc"]).T
    return {
        "per_tag": per_tag,
        **{f"mean_{name}": float(frame[name].mean()) if len(frame) else float("nan") for name in frame.columns},
    }


def per_source_report(
    probabilities: np.ndarray, hard: pd.DataFrame, catalog: pd.DataFrame, thresholds: np.ndarray
) -> dict[str, dict]:
    """:func:`tag_report` of the held-out galaxies of each ``source`` (e.g. ``gz1``, the
    standard SDSS look, apart from the cyan ``gz2`` excerpt)."""
    sources = catalog["source"].astype(str).to_numpy() if "source" in catalog else np.full(len(hard), "all")
    out = {}
    for source in sorted(set(sources)):
        picked = sources == source
        out[source] = {
            "n_test": int(picked.sum()),
            **tag_report(probabilities[picked], hard[picked].reset_index(drop=True), thresholds),
        }
    return out


def non_galaxy_images(n: int, size: int, seed: int) -> np.ndarray:
    """``n`` uint8 images with no galaxy: white noise, noisy blank sky, smooth random fields."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, size, size, 3), np.uint8)
    for i, kind in enumerate(rng.integers(0, 3, n)):
        if kind == 0:
            image = rng.uniform(0, 255, (size, size, 3))
        elif kind == 1:
            image = rng.uniform(0, 60) + rng.normal(0, rng.uniform(1, 30), (size, size, 3))
        else:
            cells = int(rng.integers(2, 9))
            coarse = rng.uniform(0, 255, (cells, cells, 3)).astype(np.uint8)
            image = np.asarray(Image.fromarray(coarse).resize((size, size), Image.BICUBIC))
        out[i] = np.clip(image, 0, 255)
    return out


def train_judge(cache: ImageSet, config: JudgeConfig | None = None, progress: bool = True) -> Judge:
    """Train a judge on a real-image cache and evaluate it on a held-out split.

    Besides the galaxies, ``non_galaxy_fraction`` as many images with no galaxy at all
    (:func:`non_galaxy_images`) are shown with every tag absent, so that noise or blank
    output of a broken generator is not "found" to be a spiral; the report gives the rate
    at which fresh such images still get a tag. Raises ``ValueError`` when the catalog
    labels allow no tag at all.
    """
    config = config or JudgeConfig()
    catalog = cache.catalog.reset_index(drop=True)
    rows = np.arange(len(catalog))
    if config.max_images and len(rows) > config.max_images:
        rows = np.sort(np.random.default_rng(config.seed).choice(rows, config.max_images, replace=False))
    table = cumulative_table(catalog.iloc[rows])[[canonical_tag(t) for t in config.tags]]
    table = table.reset_index(drop=True)
    hard = (table >= PRESENCE_THRESHOLD).astype(float).where(table.notna())
    train, test = split_indices(len(rows), config.test_fraction, config.seed)
    fit, calibration = (train[part] for part in split_indices(len(train), config.calibration_fraction, config.seed + 1))
    tags, dropped = usable_tags(hard.iloc[fit], config.min_examples)
    if not tags:
        raise ValueError(
            "the catalog's labels allow no judge tag: no tag has "
            f"{config.min_examples} labelled positives and negatives"
        )
    targets = (table if config.soft_targets else hard)[list(tags)].to_numpy(np.float32)[fit]
    images = cache_images(cache, rows[fit])
    n_junk = int(round(config.non_galaxy_fraction * len(fit)))
    if n_junk:
        images = np.concatenate([images, non_galaxy_images(n_junk, images.shape[1], config.seed)])
        targets = np.concatenate([targets, np.zeros((n_junk, len(tags)), np.float32)])
    classifier = train_classifier(images, targets, config.classifier_config(tags), progress=progress)
    labels = hard[list(tags)]
    thresholds = calibrate_thresholds(
        classifier.predict_proba(cache_images(cache, rows[calibration])),
        labels.iloc[calibration].reset_index(drop=True),
    )
    held_out = classifier.predict_proba(cache_images(cache, rows[test]))
    junk = non_galaxy_images(max(len(test) // 4, 8), images.shape[1], config.seed + 1)
    junk_found = (classifier.predict_proba(junk) >= thresholds).any(axis=1).mean()
    report = {
        "n_images": int(len(rows)),
        "n_train": int(len(fit)),
        "n_calibration": int(len(calibration)),
        "n_test": int(len(test)),
        "n_non_galaxy_train": n_junk,
        "non_galaxy_any_tag_rate": float(junk_found),
        "tags": list(tags),
        "thresholds": dict(zip(tags, thresholds.tolist())),
        "dropped_tags": dropped,
        "config": {k: v for k, v in asdict(config).items() if k != "tags"},
        "history": classifier.history,
        **tag_report(held_out, labels.iloc[test].reset_index(drop=True), thresholds),
        "per_source": per_source_report(held_out, labels.iloc[test], catalog.iloc[rows[test]], thresholds),
    }
    seen = np.concatenate([fit, calibration])
    train_ids = catalog["id"].iloc[rows[seen]].astype(str) if "id" in catalog else ()
    return Judge(classifier, report, train_ids)
