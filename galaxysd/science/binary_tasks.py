"""Binary morphology tasks (edge-on or not, barred or not, ...) labelled from vote fractions.

A task is one or more answer tags of the GZ2 tree. For each galaxy the *cumulative* vote
fraction of each tag (the answer's fraction times its parent path's, as in
:func:`galaxysd.data.conditions.cumulative_fraction_matrix`) decides its label:

* positive (1) when every tag's cumulative fraction is >= :data:`POSITIVE_THRESHOLD` (0.5);
* negative (0) when at least one tag's is <= :data:`NEGATIVE_THRESHOLD` (0.2);
* ambiguous in between: NaN, left out of training and of testing.

Catalogs do not know every answer: Galaxy Zoo 1 classes say nothing about bars, rings or
dust lanes, and the loaders store NaN there. A fraction is *known* when it and its parent
path are finite, or when a known ancestor is 0 (a galaxy nobody called a disk is known not
to be barred). A tag whose fraction is unknown is neither evidence for nor against a label:
a galaxy is negative when a known fraction is <= 0.2, positive only when every fraction is
known and >= 0.5, and unlabelled (NaN) otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from galaxysd import morphology
from galaxysd.data.conditions import cumulative_fraction_matrix

POSITIVE_THRESHOLD = 0.5
NEGATIVE_THRESHOLD = 0.2


@dataclass(frozen=True)
class BinaryTask:
    """A yes/no morphology question: are all of ``tags`` present?"""

    name: str
    tags: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "tags", tuple(morphology.canonical_tag(t) for t in self.tags))
        if not self.tags:
            raise ValueError(f"task {self.name!r} names no tags")

    @property
    def slug(self) -> str:
        """The name as a file-name-safe word, e.g. ``dust-lane``."""
        return re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")

    def prompt(self, domain: str) -> dict[str, float]:
        """The synthesis prompt: survey tag, each tag's parent path, the tags (all weight 1),
        as prompts made from vote fractions name the parent answers too."""
        weights = {morphology.domain_tag(domain): 1.0}
        for tag in self.tags:
            for parent in reversed(parent_path(tag)):
                weights[parent] = 1.0
            weights[tag] = 1.0
        return weights


def parent_path(tag: str) -> list[str]:
    """The answers above ``tag`` in the tree, nearest first (``bar`` -> not edge-on, features)."""
    path, parent = [], morphology.answer(tag).parent
    while parent is not None:
        path.append(parent)
        parent = morphology.answer(parent).parent
    return path


#: The tasks studied by default: the paper's common morphologies plus a rare class.
DEFAULT_TASKS: tuple[BinaryTask, ...] = (
    BinaryTask("edge-on", ("edge-on galaxy",)),
    BinaryTask("spiral", ("spiral galaxy",)),
    BinaryTask("bar", ("bar-shaped structure in the galaxy center",)),
    BinaryTask("merger", ("merger",)),
    BinaryTask("ring", ("ring",)),
    BinaryTask("dust lane", ("dust lane",)),
    BinaryTask("cigar-shaped", ("cigar-shaped galaxy",)),  # the rare class: ~3% of GZ2
)
#: Smooth galaxies crossed by a dust lane, the object of the discovery search.
DUSTY_EARLY_TYPE = BinaryTask("dusty early type", ("smooth", "dust lane"))


def resolve_tasks(names: Sequence[str]) -> tuple[BinaryTask, ...]:
    """Tasks by name (``edge-on``) or by a tag of the tree (``4 spiral arms``)."""
    known = {t.name: t for t in DEFAULT_TASKS + (DUSTY_EARLY_TYPE,)}
    tasks = []
    for name in names:
        key = " ".join(str(name).strip().lower().split())
        if key in known:
            tasks.append(known[key])
            continue
        try:
            tasks.append(BinaryTask(key, (key,)))
        except ValueError as err:
            raise ValueError(
                f"unknown task {name!r}: use one of {', '.join(known)} or a morphology tag ({err})"
            ) from None
    if len({t.name for t in tasks}) != len(tasks):
        raise ValueError("each task may be named only once")
    return tuple(tasks)


def known_cumulative_fractions(catalog: pd.DataFrame, suffix: str = "debiased") -> pd.DataFrame:
    """Cumulative vote fraction of every answer tag (columns), NaN where the catalog cannot tell."""
    values = cumulative_fraction_matrix(catalog, suffix)
    known = np.zeros(values.shape, dtype=bool)
    position: dict[str, int] = {}
    for j, ans in enumerate(morphology.ANSWERS):
        column = morphology.fraction_column(ans, suffix)
        raw = (
            pd.to_numeric(catalog[column], errors="coerce").to_numpy(np.float64)
            if column in catalog
            else np.full(len(catalog), np.nan)
        )
        finite = np.isfinite(raw)
        if ans.parent is None:
            known[:, j] = finite
        else:
            p = position[ans.parent]
            known[:, j] = known[:, p] & (finite | (values[:, p] == 0))
        position[ans.tag] = j
    return pd.DataFrame(np.where(known, values, np.nan), columns=list(morphology.ANSWER_TAGS), index=catalog.index)


def task_labels(fractions: pd.DataFrame, task: BinaryTask) -> np.ndarray:
    """1 (positive), 0 (negative) or NaN (ambiguous or unknown) per galaxy.

    ``fractions`` comes from :func:`known_cumulative_fractions`.
    """
    table = fractions[list(task.tags)].to_numpy(np.float64)
    negative = np.any(table <= NEGATIVE_THRESHOLD, axis=1)  # NaN compares False
    positive = np.all(table >= POSITIVE_THRESHOLD, axis=1)
    labels = np.full(len(table), np.nan)
    labels[positive] = 1.0
    labels[negative] = 0.0
    return labels
