"""Catalog rows for generated galaxies, and the append-only CSV a generation job keeps.

A generated galaxy's row follows the catalog schema (:mod:`galaxysd.data.catalog`) so a
synthetic set loads with ``load_catalog_spec("synthetic:OUT")`` exactly like real data.
Its vote-fraction columns come from the prompt (:func:`prompt_fractions`); the prompt text
and the sampling settings follow as extra columns (:data:`SETTING_COLUMNS`).

The CSV is written for jobs that may be killed: the header is created atomically, each
batch of rows is appended with one write, and :func:`read_rows` drops a torn last line (and
rows whose image is missing) before a job resumes.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from galaxysd import morphology
from galaxysd.atomic_files import write_atomic
from galaxysd.data.catalog import CATALOG_COLUMNS

DEFAULT_DOMAIN = "sdss"  # the domain of prompts without a survey tag (as load_folder assumes)
SETTING_COLUMNS: tuple[str, ...] = ("prompt", "seed", "steps", "guidance", "sampler")
COLUMNS: tuple[str, ...] = CATALOG_COLUMNS + SETTING_COLUMNS


def prompt_fractions(weights: Mapping[str, float]) -> dict[str, float]:
    """Vote-fraction-like catalog values for a prompt: ``{fraction column: value or NaN}``.

    Each answer's weight, clipped to [0, 1], is read as a *cumulative* fraction, the way
    :func:`galaxysd.morphology.vote_fractions_to_weights` makes prompts from catalogs;
    divided by its parent answer's value it becomes the per-question fraction a catalog
    stores, so loading the row and turning it back into weights gives the prompt again.
    Parent answers a prompt implies (``spiral galaxy`` implies ``not edge-on`` and
    ``features or disk-shaped``) count as 1 unless the prompt weighs their question. In a
    question the prompt reaches, the answers it does not name share what is left (named
    ones summing past 1 are scaled to sum to 1); questions it never reaches stay NaN.
    """
    clean = morphology.validate_weights(weights)
    cumulative = {tag: min(w, 1.0) for tag, w in clean.items() if tag in morphology.ANSWER_TAGS}
    named_tasks = {morphology.answer(tag).task for tag in cumulative}
    for tag in list(cumulative):
        parent = morphology.answer(tag).parent
        while parent is not None and morphology.answer(parent).task not in named_tasks:
            cumulative.setdefault(parent, 1.0)
            parent = morphology.answer(parent).parent
    out = dict.fromkeys(morphology.FRACTION_COLUMNS, math.nan)
    for question in morphology.TREE:
        named = {a.tag: _per_question(cumulative, a) for a in question.answers if a.tag in cumulative}
        if not named:
            continue
        total = sum(named.values())
        if total > 1.0:
            named = {tag: value / total for tag, value in named.items()}
        rest = max(0.0, 1.0 - sum(named.values())) / max(1, len(question.answers) - len(named))
        for ans in question.answers:
            out[morphology.fraction_column(ans)] = named.get(ans.tag, rest)
    return out


def _per_question(cumulative: Mapping[str, float], ans: morphology.Answer) -> float:
    parent = cumulative.get(ans.parent, 1.0) if ans.parent else 1.0
    return min(1.0, cumulative[ans.tag] / parent) if parent > 0 else cumulative[ans.tag]


def prompt_domain(weights: Mapping[str, float]) -> str:
    """The prompt's survey tag with the largest weight, else :data:`DEFAULT_DOMAIN`."""
    domains = [(w, tag) for tag, w in weights.items() if tag in morphology.DOMAIN_TAGS and w > 0]
    return max(domains)[1] if domains else DEFAULT_DOMAIN


def has_morphology(weights: Mapping[str, float]) -> bool:
    """True when a prompt names at least one GZ2 answer (so its catalog row has labels)."""
    return any(tag in morphology.ANSWER_TAGS for tag in weights)


def catalog_rows(ids, image_paths, prompts, seeds, settings: Mapping) -> pd.DataFrame:
    """Rows in :data:`COLUMNS` order for generated images (``settings``: steps, guidance, sampler)."""
    records = []
    for image_id, path, weights, seed in zip(ids, image_paths, prompts, seeds):
        records.append(
            {
                "id": image_id,
                "image_path": path,
                "ra": np.nan,
                "dec": np.nan,
                "source": "synthetic",
                "domain": prompt_domain(weights),
                **prompt_fractions(weights),
                "prompt": morphology.format_prompt(weights),
                "seed": int(seed),
                "steps": settings["steps"],
                "guidance": settings["guidance"],
                "sampler": settings["sampler"],
            }
        )
    return pd.DataFrame.from_records(records, columns=list(COLUMNS))


def start_csv(path: Path) -> None:
    """Create the CSV with its header only (atomically)."""
    write_atomic(path, ",".join(COLUMNS) + "\n")


def append_rows(path: Path, rows: pd.DataFrame) -> None:
    """Append rows with a single write, flushed to disk before returning."""
    text = rows[list(COLUMNS)].to_csv(index=False, header=False)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def read_rows(path: Path, folder: Path) -> pd.DataFrame:
    """The complete rows of a job's CSV whose image exists, first of each id; the file is
    rewritten (atomically) when anything had to be dropped, e.g. a line torn by a kill."""
    if not path.is_file():
        return pd.DataFrame(columns=list(COLUMNS))
    text = path.read_text(encoding="utf-8")
    complete = text if text.endswith("\n") else text[: text.rfind("\n") + 1]
    rows = pd.read_csv(io.StringIO(complete), dtype={"id": str, "image_path": str}) if complete else None
    if rows is None or list(rows.columns) != list(COLUMNS):
        raise ValueError(f"{path} is not a generation catalog (unexpected header)")
    exists = np.array([(folder / p).is_file() for p in rows["image_path"]], dtype=bool)
    kept = rows.loc[exists].drop_duplicates("id")
    if len(kept) != len(rows) or complete != text:
        write_atomic(path, kept.to_csv(index=False))
    return kept.reset_index(drop=True)
