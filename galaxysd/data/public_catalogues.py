"""Published Galaxy Zoo tables as extra label evidence, joined by SDSS DR7 object id.

``../shared/data/gz-catalogues/`` holds Darg et al. 2010 merging pairs, Hoyle et al. 2011
bar lengths and Masters et al. 2010 red and blue spirals. A galaxy listed in one of them
gets that answer's vote fraction (and those of the answers its question hangs under) set
to at least :data:`EVIDENCE_FRACTION`, and ``label_provenance`` says where its labels come
from: ``votes`` or ``votes+catalogue`` (``catalogue_evidence`` names the tables).

Use it from any catalog spec: ``gz1:../shared/data/gz1-sdss?catalogues=../shared/data/gz-catalogues``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from galaxysd.morphology import answer, fraction_column

EVIDENCE_FRACTION = 0.8
#: table -> the answers it is evidence for (parents first, as the GZ2 tree asks them)
EVIDENCE = {
    "darg_mergers": ("odd feature", "merger"),
    "hoyle_barlengths": ("features or disk-shaped", "not edge-on", "bar-shaped structure in the galaxy center"),
    "masters_spirals": ("features or disk-shaped", "not edge-on", "spiral galaxy"),
}


def _ids(values) -> set[str]:
    return {str(v).strip() for v in values if str(v).strip() not in ("", "nan")}


def catalogue_ids(folder: str | Path) -> dict[str, set[str]]:
    """The SDSS object ids each published table lists (tables that are absent are skipped)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"catalogue folder {folder} does not exist")
    found: dict[str, set[str]] = {}
    if (folder / "darg_mergers.csv").is_file():
        pairs = pd.read_csv(folder / "darg_mergers.csv", dtype={"object1": str, "object2": str})
        found["darg_mergers"] = _ids(pairs["object1"]) | _ids(pairs["object2"])
    if (folder / "hoyle_barlengths.csv").is_file():
        found["hoyle_barlengths"] = _ids(pd.read_csv(folder / "hoyle_barlengths.csv", dtype={"objid": str})["objid"])
    spirals: set[str] = set()
    for name in ("RedSpiralsA1.txt", "BlueSpiralsA2.txt"):
        if (folder / name).is_file():
            rows = [line.split() for line in (folder / name).read_text().splitlines()]
            spirals |= {r[0] for r in rows if r and r[0].isdigit()}
    if spirals:
        found["masters_spirals"] = spirals
    return found


def join_catalogues(catalog: pd.DataFrame, folder: str | Path) -> pd.DataFrame:
    """``catalog`` with the published tables' evidence folded into its vote fractions and
    the ``label_provenance`` / ``catalogue_evidence`` columns (matched on ``id``)."""
    out = catalog.copy()
    ids = out["id"].astype(str).str.strip()
    evidence = pd.Series([""] * len(out), index=out.index, dtype=object)
    for table, members in catalogue_ids(folder).items():
        listed = ids.isin(members).to_numpy()
        if not listed.any():
            continue
        for tag in EVIDENCE[table]:
            column = fraction_column(answer(tag))
            current = pd.to_numeric(out[column], errors="coerce") if column in out else pd.Series(np.nan, out.index)
            out[column] = np.where(listed, np.fmax(current.to_numpy(dtype=float), EVIDENCE_FRACTION), current)
        evidence[listed] = [f"{e}+{table}" if e else table for e in evidence[listed]]
    out["catalogue_evidence"] = evidence
    base = out["label_provenance"].astype(str) if "label_provenance" in out else pd.Series("votes", out.index)
    out["label_provenance"] = np.where(evidence != "", base + "+catalogue", base)
    return out
