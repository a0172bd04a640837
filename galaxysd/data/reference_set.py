"""The small real reference set shipped with the app (``assets/reference``): a few hundred
SDSS galaxies at the model's resolution and framing, with their Galaxy Zoo vote fractions.

It lets the Real vs synthetic and Quiz pages show real galaxies in a clone without
``../shared/data``; richer local data (the run's image caches or catalog images) is used
first whenever present. Build it with
``python -m galaxysd.data reference --catalog gz1:../shared/data/gz1-sdss --n 300``:
galaxies are drawn evenly across GZ1's classes (smooth, edge-on, spiral, merger, ...)
from the held-out split, so they are not the model's training images.

Files: ``galaxies.npz`` (``images``: ``(N, S, S, 3)`` uint8, ``ids``) and ``catalog.csv``
(``id, ra, dec, domain``, the vote-fraction columns). SDSS and Galaxy Zoo credits apply
(``CREDITS.md``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from galaxysd.atomic_files import write_csv
from galaxysd.data.cache import IMAGE_ERRORS, load_image
from galaxysd.data.loaders import load_catalog_spec
from galaxysd.morphology import FRACTION_COLUMNS
from galaxysd.runs import REPO_ROOT

REFERENCE_DIR = REPO_ROOT / "assets" / "reference"
MAX_MEGABYTES = 3.0
_STRATA = (  # (name, column of the answer that defines it), drawn in turn
    ("smooth", "t01_smooth_or_features_a01_smooth"),
    ("edge-on", "t02_edgeon_a04_yes"),
    ("spiral", "t04_spiral_a08_spiral"),
    ("merger", "t08_odd_feature_a24_merger"),
)


def _stratum(catalog: pd.DataFrame) -> np.ndarray:
    """Each galaxy's stratum: the first of :data:`_STRATA` whose vote fraction is >= 0.5."""
    labels = np.full(len(catalog), "other", dtype=object)
    for name, base in reversed(_STRATA):
        column = next((c for c in catalog.columns if c.startswith(base)), None)
        if column is not None:
            labels[pd.to_numeric(catalog[column], errors="coerce").fillna(0).to_numpy() >= 0.5] = name
    return labels


def build_reference_set(spec: str, out_dir: Path, n: int = 300, size: int = 64, seed: int = 0) -> pd.DataFrame:
    """Pick ``n`` imaged galaxies of ``spec`` evenly across strata, decode them at ``size`` px
    with the catalog's framing (its per-galaxy ``crop`` column, as ``?framing=measured``
    gives, else the source's fixed crop), and write the set; returns its catalog."""
    if n < 1:
        raise ValueError(f"the reference set needs at least 1 galaxy, got {n}")
    catalog = load_catalog_spec(spec)
    catalog = catalog[catalog["image_path"].astype(str).str.len() > 0].reset_index(drop=True)
    if catalog.empty:
        raise ValueError(f"{spec} has no galaxies with images")
    rng = np.random.default_rng(seed)
    strata = _stratum(catalog)
    pools = {name: list(rng.permutation(np.flatnonzero(strata == name))) for name in dict.fromkeys(strata)}
    picked: list[int] = []
    while len(picked) < min(n, len(catalog)):
        for pool in pools.values():
            if pool and len(picked) < n:
                picked.append(int(pool.pop()))
    kind = spec.split(":", 1)[0]
    images, kept = [], []
    for row in sorted(picked):
        try:
            crop = catalog.at[row, "crop"] if "crop" in catalog else None  # e.g. ?framing=measured
            crop = None if crop is None or pd.isna(crop) else float(crop)
            images.append(load_image(catalog.at[row, "image_path"], size=size, crop=crop, source=kind))
            kept.append(row)
        except IMAGE_ERRORS:
            continue  # an unreadable file is left out
    chosen = catalog.iloc[kept].reset_index(drop=True)
    fractions = [c for c in FRACTION_COLUMNS if c in chosen]
    keep = [c for c in ("id", "ra", "dec", "crop", "framing") if c in chosen] + fractions
    table = chosen[keep].assign(domain="sdss", stratum=strata[kept], source_catalog=spec.split("?")[0])
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    partial = out_dir / ".galaxies.partial.npz"
    np.savez_compressed(partial, images=np.stack(images), ids=np.asarray(table["id"].astype(str).tolist(), dtype=str))
    partial.replace(out_dir / "galaxies.npz")
    write_csv(out_dir / "catalog.csv", table)
    (out_dir / "README.md").write_text(_readme(table, size, spec))
    megabytes = sum(p.stat().st_size for p in out_dir.iterdir() if p.is_file()) / 2**20
    if megabytes > MAX_MEGABYTES:
        raise ValueError(f"the reference set is {megabytes:.1f} MB (limit {MAX_MEGABYTES:g} MB): use a smaller --n")
    return table


def _readme(table: pd.DataFrame, size: int, spec: str) -> str:
    counts = json.dumps(table["stratum"].value_counts().to_dict())
    return (
        f"# Reference galaxies\n\n{len(table)} real SDSS galaxies at {size} px from `{spec}` (strata: {counts}),\n"
        "with their Galaxy Zoo vote fractions, for the app in clones without `../shared/data`.\n"
        "Made by `python -m galaxysd.data reference`. Images: Sloan Digital Sky Survey; labels: Galaxy Zoo\n"
        "volunteers (Lintott et al. 2008, 2011); see CREDITS.md.\n"
    )


def load_reference_set(folder: Path = REFERENCE_DIR) -> tuple[pd.DataFrame, np.ndarray] | None:
    """The shipped reference set's catalog and images, or ``None`` when it is absent or broken."""
    folder = Path(folder)
    try:
        with np.load(folder / "galaxies.npz", allow_pickle=False) as data:
            images, ids = data["images"], data["ids"].astype(str)
        catalog = pd.read_csv(folder / "catalog.csv", dtype={"id": str})
    except (OSError, ValueError, KeyError, pd.errors.ParserError):
        return None
    if len(catalog) != len(images) or list(catalog["id"]) != list(ids):
        return None
    return catalog, images
