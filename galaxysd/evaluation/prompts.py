"""Evaluation prompt sets and the real catalog rows that match a prompt.

:data:`PAPER_PROMPTS` follows the A-P legend of Ma et al. (2026), Figs. 4-5. Each prompt
lists the parent answers of its tags too (``features or disk-shaped, not edge-on, spiral
galaxy``), as prompts made from vote fractions do.

"Real images of that morphology" are the catalog rows whose *cumulative* vote fraction
(the answer's fraction times its parent path's, see
:func:`galaxysd.morphology.cumulative_fractions`) is at least 0.5 for every required tag of
the prompt. Required tags are the prompt's answer tags with weight >= 0.5; survey tags
(``sdss``) are not morphology and are never required.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from galaxysd.morphology import (
    ANSWER_TAGS,
    ANSWERS,
    DOMAIN_TAGS,
    domain_tag,
    format_prompt,
    fraction_column,
    parse_prompt,
)

PRESENCE_THRESHOLD = 0.5
REQUIRED_WEIGHT = 0.5
#: Prompt key of rows that average over all prompts in evaluation tables.
MEAN_KEY = "all"


@dataclass(frozen=True)
class PromptSpec:
    """A named evaluation prompt: ``key`` (``"A"``), a short ``label`` and the prompt text."""

    key: str
    label: str
    text: str

    @property
    def weights(self) -> dict[str, float]:
        """The parsed ``{tag: weight}`` of :attr:`text`."""
        return parse_prompt(self.text)

    @property
    def required_tags(self) -> tuple[str, ...]:
        """Answer tags the judge must find and real matches must have (weight >= 0.5)."""
        return required_tags(self.weights)


_DISK = "features or disk-shaped, not edge-on"
_SPIRAL = f"{_DISK}, spiral galaxy"
PAPER_PROMPTS: tuple[PromptSpec, ...] = tuple(
    PromptSpec(k, label, f"sdss, {text}")
    for k, label, text in (
        ("A", "cigar-shaped", "smooth, cigar-shaped galaxy"),
        ("B", "completely round", "smooth, completely round galaxy"),
        ("C", "edge-on", "features or disk-shaped, edge-on galaxy"),
        ("D", "in-between", "smooth, in-between round galaxy"),
        ("E", "ring", "odd feature, ring"),
        ("F", "4-arm spiral", f"{_SPIRAL}, 4 spiral arms"),
        ("G", "loosely wound 2-arm spiral", f"{_SPIRAL}, loosely wound spiral arms, 2 spiral arms"),
        ("H", "tightly wound spiral", f"{_SPIRAL}, tightly wound spiral arms"),
        ("I", "just-noticeable bulge", f"{_DISK}, just noticeable bulge prominence"),
        ("J", "obvious bulge", f"{_DISK}, obvious bulge prominence"),
        ("K", "in-between + dust lane", "smooth, in-between round galaxy, odd feature, dust lane"),
        (
            "L",
            "edge-on + dust lane + rounded bulge",
            "features or disk-shaped, edge-on galaxy, rounded bulge, odd feature, dust lane",
        ),
        ("M", "bar", f"{_DISK}, bar-shaped structure in the galaxy center"),
        ("N", "edge-on + rounded bulge", "features or disk-shaped, edge-on galaxy, rounded bulge"),
        ("O", "in-between + merger", "smooth, in-between round galaxy, odd feature, merger"),
        ("P", "spiral + merger", f"{_SPIRAL}, odd feature, merger"),
    )
)


def required_tags(weights: dict[str, float]) -> tuple[str, ...]:
    """The answer tags of a prompt with weight >= 0.5, in tree order."""
    return tuple(t for t in ANSWER_TAGS if weights.get(t, 0.0) >= REQUIRED_WEIGHT)


def with_domain(spec: PromptSpec, domain: str) -> PromptSpec:
    """The same prompt with its survey tag replaced by ``domain`` (e.g. ``"demo"``)."""
    weights = {t: w for t, w in spec.weights.items() if t not in DOMAIN_TAGS}
    return PromptSpec(spec.key, spec.label, format_prompt({domain_tag(domain): 1.0, **weights}))


_LINE = re.compile(r"^\s*([\w-]+)\s*=\s*(.+)$")


def load_prompt_file(path: str | Path) -> tuple[PromptSpec, ...]:
    """Read prompts, one per line: ``KEY = prompt text`` or just the prompt text.

    Blank lines and lines starting with ``#`` are skipped; unnamed prompts get keys
    ``p1, p2, ...``. Raises ``ValueError`` naming the line of a bad prompt.
    """
    specs = []
    lines = Path(path).read_text().splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line)
        key, text = (match.group(1), match.group(2)) if match else (f"p{len(specs) + 1}", line)
        try:
            weights = parse_prompt(text)
        except ValueError as err:
            raise ValueError(f"{path}:{number}: {err}") from None
        specs.append(
            PromptSpec(key, format_prompt({t: w for t, w in weights.items() if t not in DOMAIN_TAGS}), text.strip())
        )
    if not specs:
        raise ValueError(f"{path}: no prompts")
    if len({s.key for s in specs}) != len(specs):
        raise ValueError(f"{path}: prompt keys are not unique")
    if any(s.key == MEAN_KEY for s in specs):
        raise ValueError(f"{path}: the key {MEAN_KEY!r} is reserved for the mean over prompts")
    return tuple(specs)


def cumulative_table(catalog: pd.DataFrame, suffix: str = "debiased") -> pd.DataFrame:
    """Cumulative vote fraction of every answer tag for every catalog row, NaN where unknown.

    Unlike :func:`galaxysd.morphology.cumulative_fractions`, a missing fraction stays NaN
    (a label the source does not provide), except where the other factor is 0: an answer
    under a parent nobody chose is known to be absent.
    """
    values: dict[str, np.ndarray] = {}
    ones = np.ones(len(catalog))
    for ans in ANSWERS:  # parents come before children
        column = fraction_column(ans, suffix)
        frac = (
            pd.to_numeric(catalog[column], errors="coerce").to_numpy(float)
            if column in catalog
            else np.full(len(catalog), np.nan)
        )
        frac = np.clip(frac, 0.0, 1.0)
        parent = values[ans.parent] if ans.parent else ones
        values[ans.tag] = np.where((frac == 0) | (parent == 0), 0.0, frac * parent)
    return pd.DataFrame(values, index=catalog.index)


def matching_rows(
    catalog: pd.DataFrame, tags: tuple[str, ...] | list[str], threshold: float = PRESENCE_THRESHOLD
) -> np.ndarray:
    """Positions of catalog rows whose cumulative fraction is >= ``threshold`` for all ``tags``.

    An empty tag list matches nothing (there is no morphology to compare with).
    """
    if not tags:
        return np.zeros(0, dtype=int)
    table = cumulative_table(catalog)[list(tags)].to_numpy()
    return np.flatnonzero(np.all(table >= threshold, axis=1))
