"""Joining derived labels (``python -m galaxysd.data label``) into a catalog: ``?labels=FILE``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from galaxysd.morphology import FRACTION_COLUMNS


def join_derived_labels(catalog: pd.DataFrame, labels_csv: str | Path) -> pd.DataFrame:
    """``catalog`` with the derived fractions of ``labels_csv`` filled into its empty
    fraction columns (votes are never overwritten), matched on ``id``; ``label_provenance``
    gains ``+derived`` and ``derived_answers`` names the answers filled."""
    path = Path(labels_csv)
    if not path.is_file():
        raise ValueError(f"derived labels file {path} does not exist (make it with python -m galaxysd.data label)")
    labels = pd.read_csv(path, dtype={"id": str}).drop_duplicates("id").set_index("id")
    out = catalog.copy()
    ids = out["id"].astype(str)
    derived = labels["derived_answers"].fillna("").reindex(ids).fillna("").to_numpy()
    for column in (c for c in FRACTION_COLUMNS if c in labels):
        values = labels[column].reindex(ids).to_numpy(dtype=float)
        current = (
            pd.to_numeric(out[column], errors="coerce").to_numpy(dtype=float)
            if column in out
            else np.full(len(out), np.nan)
        )
        out[column] = np.where(np.isnan(current), values, current)
    base = out["label_provenance"].astype(str) if "label_provenance" in out else pd.Series("votes", out.index)
    out["label_provenance"] = np.where(derived != "", base + "+derived", base)
    out["derived_answers"] = derived
    return out
