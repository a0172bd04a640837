"""Which of a judge's answers can be trusted: held-out AUC on real galaxies of the standard look.

A judge trained on mixed looks (the cyan GZ2 excerpt beside standard SDSS cutouts) can
score well on its mixed held-out split and still fail on standard-look galaxies. The
gate therefore reads, in this order,

1. ``report["standard_look"]``: a check on real standard-look galaxies the judge never saw
   (:func:`standard_look_check`, ``python -m galaxysd.evaluate judge-check``);
2. ``report["per_source"]["gz1"]``: its own held-out GZ1 (standard look) galaxies;
3. ``report["per_tag"]``: its whole held-out split (older judges).

Only answers with AUC >= :data:`TRUSTED_AUC` there are trusted; the others are listed as
unjudged by consistency, the design study and the slider response.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from galaxysd.evaluation.judge import unseen_rows
from galaxysd.evaluation.prompts import PRESENCE_THRESHOLD, cumulative_table

TRUSTED_AUC = 0.8
STANDARD_LOOK_SOURCE = "gz1"


def trust_basis(report: dict) -> tuple[str, dict]:
    """The per-tag held-out table the gate uses, and its name."""
    if report.get("standard_look", {}).get("per_tag"):
        return "standard-look check", report["standard_look"]["per_tag"]
    source = report.get("per_source", {}).get(STANDARD_LOOK_SOURCE, {})
    if source.get("per_tag"):
        return f"held-out {STANDARD_LOOK_SOURCE} galaxies", source["per_tag"]
    return "whole held-out split", report.get("per_tag", {})


def trusted_in_report(report: dict, tags, min_auc: float = TRUSTED_AUC) -> set[str]:
    """Of ``tags``, those with held-out AUC >= ``min_auc`` in a judge's ``report`` (all of
    them for a report with no held-out table at all, e.g. a judge built in code)."""
    _, per_tag = trust_basis(report or {})
    if not per_tag:
        return set(tags)
    return {t for t in tags if (per_tag.get(t, {}).get("auc") or 0.0) >= min_auc}


def trusted_tags(judge, min_auc: float = TRUSTED_AUC) -> set[str]:
    """The judge's answers with held-out AUC >= ``min_auc`` on the standard look."""
    return trusted_in_report(judge.report, judge.tags, min_auc)


def standard_look_check(judge, images: np.ndarray, catalog: pd.DataFrame, min_positives: int = 20) -> dict:
    """Per-tag AUC of ``judge`` on real galaxies (``images`` with their ``catalog``); tags
    with fewer than ``min_positives`` labelled positives or negatives get AUC None."""
    from sklearn.metrics import roc_auc_score  # scikit-learn loads slowly; only a check needs it

    table = cumulative_table(catalog.reset_index(drop=True))
    probabilities = judge.predict_tags(images)
    per_tag = {}
    for tag in judge.tags:
        known = table[tag].notna().to_numpy() if tag in table else np.zeros(len(catalog), bool)
        truth = table[tag].to_numpy()[known] >= PRESENCE_THRESHOLD if known.any() else np.array([], bool)
        positives, negatives = int(truth.sum()), int((~truth).sum())
        enough = positives >= min_positives and negatives >= min_positives
        auc = float(roc_auc_score(truth, probabilities[tag].to_numpy()[known])) if enough else None
        per_tag[tag] = {"auc": auc, "n_test": int(known.sum()), "n_test_positive": positives}
    return {
        "n_images": int(len(catalog)),
        "n_seen_in_training": int((~unseen_rows(judge, catalog)).sum()),
        "per_tag": per_tag,
    }
