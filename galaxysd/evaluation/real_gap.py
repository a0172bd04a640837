"""How far the judge itself moves between real galaxies with and without an answer.

The slider table (:mod:`galaxysd.evaluation.tag_response`) asks whether raising an answer's
weight from 0 raises the judge's probability of that answer. How much it *can* rise depends
on real galaxies: where the base morphology already mostly shows the answer (most smooth
galaxies are in-between round), real galaxies with the answer score only a little higher
than real galaxies of the base morphology. For each answer this module measures, on real
galaxies the judge never saw:

* ``real_p_base``: the judge's mean probability of the answer over real galaxies of the
  slider's base morphology (its parent answers; every galaxy where it has none);
* ``real_p_answer``: the same over real galaxies that also show the answer;
* ``real_delta = real_p_answer - real_p_base``, the change a perfect slider would give if
  it turned a typical base galaxy into a typical galaxy with the answer.

Counts below :data:`MIN_REAL_POSITIVES` give NaN: the gap is not measured there.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from galaxysd import morphology
from galaxysd.evaluation.judge import Judge, unseen_rows
from galaxysd.evaluation.prompts import matching_rows

#: Fewest real galaxies with the answer for its gap to be reported.
MIN_REAL_POSITIVES = 20


def real_gaps(
    judge: Judge,
    images: np.ndarray,
    catalog: pd.DataFrame,
    tags: Sequence[str],
    min_positives: int = MIN_REAL_POSITIVES,
) -> pd.DataFrame:
    """One row per judged answer of ``tags``: real galaxies' judge probability off and on.

    ``images`` (N, H, W, 3) uint8 and ``catalog`` (N rows with vote or derived fractions)
    are real galaxies; galaxies the judge was trained on are left out.
    """
    if len(images) != len(catalog):
        raise ValueError(f"{len(images)} images but {len(catalog)} catalog rows")
    catalog = catalog.reset_index(drop=True)
    usable = unseen_rows(judge, catalog)
    judged = [morphology.canonical_tag(t) for t in tags if morphology.canonical_tag(t) in judge.tags]
    probabilities = judge.predict_tags(images[usable]) if judged and usable.any() else pd.DataFrame()
    kept = catalog[usable].reset_index(drop=True)
    rows = []
    for tag in judged:
        parents = morphology.parent_answers(tag)
        base = matching_rows(kept, parents) if parents else np.arange(len(kept))
        positives = matching_rows(kept, parents + (tag,))
        row = {"tag": tag, "real_base_n": int(len(base)), "real_answer_n": int(len(positives))}
        if len(positives) >= min_positives and len(base):
            p = probabilities[tag].to_numpy()
            row.update(real_p_base=float(p[base].mean()), real_p_answer=float(p[positives].mean()))
            row["real_delta"] = row["real_p_answer"] - row["real_p_base"]
        else:
            row.update(real_p_base=np.nan, real_p_answer=np.nan, real_delta=np.nan)
        rows.append(row)
    return pd.DataFrame(
        rows, columns=["tag", "real_base_n", "real_answer_n", "real_p_base", "real_p_answer", "real_delta"]
    )


def with_real_gaps(table: pd.DataFrame, gaps: pd.DataFrame) -> pd.DataFrame:
    """The slider table with the real gaps joined on ``tag`` and ``share_of_real_gap``
    (the slider's judge change over the real gap, where the gap is positive)."""
    merged = table.merge(gaps, on="tag", how="left")
    if "judge_delta" in merged:
        gap = merged["real_delta"].where(merged["real_delta"] > 0)
        merged["share_of_real_gap"] = merged["judge_delta"] / gap
    return merged
