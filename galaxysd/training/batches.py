"""Training data: catalogs -> image caches -> (image, condition) batches.

Every random choice of a training step (which galaxies, rotations, flips, condition
dropout) comes from a generator seeded by ``(seed, step, process)``, so the batch of step
``k`` is the same whether or not the run was interrupted before it: resuming is exact.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import torch

from galaxysd import morphology
from galaxysd.data.cache import build_cache, cache_folder
from galaxysd.data.conditions import condition_matrix
from galaxysd.data.loaders import load_catalog_spec
from galaxysd.data.public_catalogues import EVIDENCE
from galaxysd.data.simulated_dust import SIMULATIONS, lane_answers, simulate_dust_lanes

log = logging.getLogger(__name__)

#: where a training label comes from (see :func:`provenance_codes`)
PROVENANCE: tuple[str, ...] = ("votes", "derived", "catalogue", "simulated")


@dataclass
class DataSource:
    """One catalog used for training, with its survey/domain tag and sampling share."""

    catalog: str  # loader spec, e.g. "gz1:../shared/data/gz1-sdss"
    domain: str = "sdss"
    weight: float = 1.0  # relative share of training batches
    simulate: str | None = None  # "dust_lane"/"dust_lane_leaf": its smooth galaxies with a simulated lane

    def __post_init__(self) -> None:
        if self.simulate is not None and self.simulate not in SIMULATIONS:
            raise ValueError(
                f"data source {self.catalog!r}: unknown simulate value {self.simulate!r}; "
                f"choose from {', '.join(SIMULATIONS)} or leave it out"
            )

    @property
    def name(self) -> str:
        """The catalog spec, marked when its images are simulated variants."""
        return self.catalog if self.simulate is None else f"{self.catalog} [simulated {self.simulate}]"


@dataclass
class TrainingSet:
    """All training images in memory-mapped caches plus their condition vectors."""

    images: list[np.ndarray]  # per source: (N_s, S, S, 3) uint8
    conditions: list[np.ndarray]  # per source: (N_s, n_tags) float32
    shares: np.ndarray  # per source sampling probability
    names: list[str]
    draw_weights: list[np.ndarray] | None = None  # per source: galaxy draw probabilities (None: uniform)
    provenance: list[np.ndarray] | None = None  # per source: (N_s, n_tags) codes of PROVENANCE (None: votes)

    def __len__(self) -> int:
        return sum(len(x) for x in self.images)

    def describe(self) -> list[dict]:
        """Per-source counts for the run's config/log."""
        return [
            {"catalog": n, "images": int(len(x)), "share": float(s)}
            for n, x, s in zip(self.names, self.images, self.shares)
        ]


def answer_positives(conditions: np.ndarray, tags: Sequence[str]) -> np.ndarray:
    """``(N, n_answers)`` bool: which answer tags (survey tags left out) each galaxy has."""
    answer_columns = [i for i, tag in enumerate(tags) if tag not in morphology.DOMAIN_TAGS]
    return conditions[:, answer_columns] > 0


def balanced_draw_weights(conditions: np.ndarray, tags: Sequence[str]) -> np.ndarray:
    """Draw probabilities that favour galaxies with rare answers, summing to 1.

    A galaxy's weight is the mean of ``1 / sqrt(frequency)`` over its positive answer tags
    (frequency: share of the source's galaxies with that tag); survey tags do not count, and
    a galaxy without any answer tag weighs 1, as if its answers were universal.
    """
    positive = answer_positives(conditions, tags)
    frequency = positive.mean(axis=0)
    inverse = np.where(frequency > 0, 1.0 / np.sqrt(np.maximum(frequency, 1e-12)), 0.0)
    counts = positive.sum(axis=1)
    weights = np.where(counts > 0, (positive * inverse).sum(axis=1) / np.maximum(counts, 1), 1.0)
    return weights / weights.sum()


#: a pair of answers shared by fewer galaxies than this does not count in :func:`pair_draw_weights`
MIN_PAIR_SUPPORT = 10
#: the largest exponent :func:`draw_weights` accepts for its balancing weights
MAX_BALANCE_POWER = 2.0


def pair_draw_weights(conditions: np.ndarray, tags: Sequence[str], min_support: int = MIN_PAIR_SUPPORT) -> np.ndarray:
    """Draw probabilities that favour galaxies with a rare *combination* of answers, summing to 1.

    A galaxy's weight is ``1 / sqrt(frequency)`` of the rarest pair of its positive answer tags
    (a single answer counts as the pair with itself), so that a smooth galaxy with a dust lane
    is drawn as often as its pair is rare, not as often as dust lanes (mostly on edge-on disks)
    are. Pairs shared by fewer than ``min_support`` galaxies are skipped (one odd label does not
    make a galaxy drawn a hundred times); a galaxy without a counted pair weighs 1.
    """
    positive = answer_positives(conditions, tags).astype(np.float64)
    together = positive.T @ positive  # galaxies per pair of answers (diagonal: per answer)
    frequency = np.maximum(together, 1) / len(positive)
    inverse = np.where(together >= max(int(min_support), 1), 1.0 / np.sqrt(frequency), 0.0)
    rarest = np.zeros(len(positive))
    for j in range(positive.shape[1]):
        with_j = positive[:, j] > 0
        if with_j.any():
            rarest[with_j] = np.maximum(rarest[with_j], (positive[with_j] * inverse[j]).max(axis=1))
    weights = np.where(rarest > 0, rarest, 1.0)
    return weights / weights.sum()


def draw_weights(
    conditions: np.ndarray, tags: Sequence[str], balance_by: str = "answers", power: float = 1.0
) -> np.ndarray:
    """The galaxy draw probabilities of one source for ``balance_by`` (``answers`` or ``pairs``).

    ``power`` tempers the balancing: the weights are raised to it before normalising, so 1 is
    the full balance, 0 draws every galaxy equally (the survey's own proportions, which a
    parent-only prompt at guidance 1 then reproduces) and 0.5 is half-way in log weight.
    """
    if balance_by == "pairs":
        weights = pair_draw_weights(conditions, tags)
    elif balance_by == "answers":
        weights = balanced_draw_weights(conditions, tags)
    else:
        raise ValueError(f"balance_by must be answers or pairs, got {balance_by!r}")
    if not (math.isfinite(power) and 0.0 <= power <= MAX_BALANCE_POWER):
        raise ValueError(f"balance power must be within [0, {MAX_BALANCE_POWER:g}], got {power!r}")
    if power == 1.0:
        return weights
    tempered = weights**power
    return tempered / tempered.sum()


def load_training_set(
    sources: Sequence[DataSource],
    cache_root: Path,
    size: int,
    tags: Sequence[str],
    threshold: float,
    workers: int = 2,
    balanced: bool = False,
    balance_by: str = "answers",
    balance_power: float = 1.0,
) -> TrainingSet:
    """Load each catalog, build (or reuse) its image cache, and compute condition vectors.

    ``balanced`` adds :func:`draw_weights` per source (rare answers, or with ``balance_by="pairs"``
    rare pairs of answers, drawn more often), tempered by ``balance_power``.
    """
    images, conditions, shares, names, provenance = [], [], [], [], []
    for source in sources:
        catalog = load_catalog_spec(source.catalog)
        catalog = catalog[catalog["image_path"].astype(str).str.len() > 0].reset_index(drop=True)
        if catalog.empty:
            raise ValueError(f"catalog {source.catalog!r} has no galaxies with images")
        cache = build_cache(catalog, cache_folder(cache_root, source.catalog, size), size=size, workers=workers)
        labels = current_labels(catalog, cache.catalog)
        pixels = cache.batch(np.arange(len(cache)))
        condition = condition_matrix(labels, tags, domain=source.domain, threshold=threshold)
        codes = provenance_codes(labels, tags)
        if source.simulate is not None:
            pixels, condition, rows = simulate_dust_lanes(pixels, condition, tags, simulation=source.simulate)
            codes = codes[rows]
            codes[:, [list(tags).index(t) for t in lane_answers(source.simulate)]] = PROVENANCE.index("simulated")
        images.append(pixels)
        conditions.append(condition)
        provenance.append(codes)
        shares.append(float(source.weight))
        names.append(source.name)
        log.info("training source %s: %d images", source.name, len(pixels))
    share = np.asarray(shares, dtype=np.float64)
    if not np.all(np.isfinite(share)) or share.sum() <= 0 or np.any(share < 0):
        raise ValueError("data source weights must be non-negative numbers with a positive sum")
    draws = [draw_weights(c, tags, balance_by, balance_power) for c in conditions] if balanced else None
    return TrainingSet(images, conditions, share / share.sum(), names, draws, provenance)


def current_labels(catalog: pd.DataFrame, cached: pd.DataFrame) -> pd.DataFrame:
    """The cached galaxies (in cache order) with the labels of the freshly loaded ``catalog``:
    a cache is keyed by its images, so labels changed since it was built (new votes, derived
    labels made again) still reach training."""
    fresh = catalog.drop_duplicates("image_path").set_index("image_path")
    rows = fresh.reindex(cached["image_path"].to_numpy())
    found = rows["id"].notna().to_numpy() if "id" in rows else np.zeros(len(rows), bool)
    if not found.all():  # rows the catalog no longer has keep the labels cached with them
        return cached.reset_index(drop=True)
    return rows.reset_index()


def provenance_codes(catalog: pd.DataFrame, tags: Sequence[str]) -> np.ndarray:
    """Per galaxy and tag, where its label comes from: an index into :data:`PROVENANCE`
    (``derived`` where ``derived_answers`` names the tag, ``catalogue`` where a published
    table listing the galaxy is evidence for it, else ``votes``)."""
    codes = np.zeros((len(catalog), len(tags)), dtype=np.uint8)
    column = {t: i for i, t in enumerate(tags)}
    if "catalogue_evidence" in catalog:
        for row, evidence in enumerate(catalog["catalogue_evidence"].fillna("").astype(str)):
            for table in filter(None, evidence.split("+")):
                for tag in EVIDENCE.get(table, ()):
                    if tag in column:
                        codes[row, column[tag]] = PROVENANCE.index("catalogue")
    if "derived_answers" in catalog:
        for row, derived in enumerate(catalog["derived_answers"].fillna("").astype(str)):
            for tag in filter(None, (t.strip() for t in derived.split(";"))):
                if tag in column:
                    codes[row, column[tag]] = PROVENANCE.index("derived")
    return codes


def step_generator(seed: int, step: int, process: int = 0) -> torch.Generator:
    """The generator of all randomness in one training step."""
    return torch.Generator().manual_seed((int(seed) * 1_000_003 + int(step)) * 64 + int(process))


def augment_orientation(pixels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random 90-degree rotations and flips per image (galaxies have no preferred orientation)."""
    k = torch.randint(0, 4, (pixels.shape[0],), generator=generator)
    flip = torch.rand(pixels.shape[0], generator=generator) < 0.5
    out = torch.empty_like(pixels)
    for turns in range(4):
        for flipped in (False, True):
            picked = (k == turns) & (flip == flipped)
            if picked.any():
                chunk = torch.rot90(pixels[picked], turns, dims=(2, 3))
                out[picked] = chunk.flip(3) if flipped else chunk
    return out


def descendant_matrix(tags: Sequence[str]) -> torch.Tensor:
    """``(n_tags, n_tags)`` 0/1 matrix: row ``i`` marks tag ``i`` and every answer asked under it
    (its children, their children, ...) in the GZ2 tree; survey tags mark only themselves."""
    index = {t: i for i, t in enumerate(tags)}
    out = torch.eye(len(tags))
    for j, tag in enumerate(tags):
        if tag in morphology.DOMAIN_TAGS or tag not in morphology.ANSWER_TAGS:
            continue
        parent = morphology.answer(tag).parent
        while parent is not None:
            if parent in index:
                out[index[parent], j] = 1.0
            parent = morphology.answer(parent).parent
    return out


def question_matrix(tags: Sequence[str]) -> torch.Tensor:
    """``(n_tags, n_tags)`` 0/1 matrix that makes the answers of one GZ2 question drop together.

    Row ``i`` of the first of a question's answers (in ``tags`` order) marks every answer of
    that question; the other answers' rows are empty, so their own dropout draws are ignored and
    the question goes with one draw, however many of its answers a galaxy has. Survey tags and
    unknown tags mark only themselves.
    """
    out = torch.zeros(len(tags), len(tags))
    first_of: dict[str, int] = {}
    for j, tag in enumerate(tags):
        if tag in morphology.DOMAIN_TAGS or tag not in morphology.ANSWER_TAGS:
            out[j, j] = 1.0
            continue
        task = morphology.question_of(tag).task
        out[first_of.setdefault(task, j), j] = 1.0
    return out


def dropout_matrix(tags: Sequence[str], mode: str) -> torch.Tensor | None:
    """The tag dropout matrix for :func:`drop_conditions` of a ``tag_dropout_mode``.

    ``independent``: none (each tag on its own). ``tree``: :func:`descendant_matrix`.
    ``question``: a question's answers drop together (:func:`question_matrix`), and with them
    every answer asked under them. With soft labels a galaxy can carry two answers of one question
    (1,673 GZ1 ellipticals are both completely round and in-between); under ``tree`` a
    parent answer alone is then seen 10x less often for them than for galaxies with one answer,
    and ``sdss, smooth`` learns the flatter mix of the single-answer ones.
    """
    if mode == "independent":
        return None
    if mode == "tree":
        return descendant_matrix(tags)
    if mode == "question":
        return ((question_matrix(tags) @ descendant_matrix(tags)) > 0).float()
    raise ValueError(f"tag_dropout_mode must be independent, tree or question, got {mode!r}")


def drop_conditions(
    conditions: torch.Tensor,
    generator: torch.Generator,
    uncond_prob: float,
    tag_prob: float,
    descendants: torch.Tensor | None = None,
) -> torch.Tensor:
    """Condition dropout: whole prompts to zero (for guidance) and single tags (partial prompts).

    With ``descendants`` (:func:`descendant_matrix`, or any :func:`dropout_matrix`), dropping a
    tag also drops every answer under it, so a prompt of a parent answer alone (``features or
    disk-shaped``) is seen for all its children alike, not mostly for the galaxies with the
    fewest child tags.
    """
    drop_tag = torch.rand(conditions.shape, generator=generator) < tag_prob
    if descendants is not None:
        drop_tag = (drop_tag.float() @ descendants) > 0
    keep_row = torch.rand(conditions.shape[0], 1, generator=generator) >= uncond_prob
    return conditions * ~drop_tag * keep_row


def leaf_prompts(
    conditions: torch.Tensor, generator: torch.Generator, prob: float, descendants: torch.Tensor
) -> torch.Tensor:
    """With probability ``prob`` per galaxy, drop every answer that has a labelled answer under it.

    The galaxy is then shown with its deepest answers only (``sdss, edge-on galaxy`` for an
    edge-on disk), as users type prompts; without this the model only ever sees a child answer
    with its parents and follows leaf prompts weakly. ``descendants`` is
    :func:`descendant_matrix` of the tags; survey tags are never dropped. ``prob = 0`` draws no
    random numbers, so runs without it are unchanged.
    """
    if prob <= 0:
        return conditions
    strict = descendants - torch.eye(len(descendants), dtype=descendants.dtype)
    has_labelled_child = ((conditions > 0).float() @ strict.T) > 0
    chosen = torch.rand(conditions.shape[0], 1, generator=generator) < prob
    return conditions * ~(has_labelled_child & chosen)


def sample_batch(data: TrainingSet, batch_size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw a batch: source by share, then galaxy (uniformly or by ``data.draw_weights``).

    Returns pixels in [-1, 1] and conditions; all randomness comes from ``generator``.
    """
    source = torch.multinomial(torch.from_numpy(data.shares), batch_size, replacement=True, generator=generator).numpy()
    pixels = np.empty((batch_size,) + data.images[0].shape[1:], dtype=np.uint8)
    conditions = np.empty((batch_size, data.conditions[0].shape[1]), dtype=np.float32)
    for s in np.unique(source):
        rows = np.flatnonzero(source == s)
        if data.draw_weights is None:
            picks = torch.randint(0, len(data.images[s]), (len(rows),), generator=generator).numpy()
        else:
            picks = torch.multinomial(
                torch.from_numpy(data.draw_weights[s]), len(rows), replacement=True, generator=generator
            ).numpy()
        pixels[rows] = data.images[s][picks]
        conditions[rows] = data.conditions[s][picks]
    tensor = torch.from_numpy(pixels).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    return tensor.contiguous(), torch.from_numpy(conditions)
