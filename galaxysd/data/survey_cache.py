"""Catalog specs -> image caches for the science jobs, and the survey tag of a catalog.

The caches live where training keeps its own (:func:`galaxysd.data.cache.cache_folder`
under ``.data/cache`` by default), so a catalog the run was trained on is decoded once.
"""

from __future__ import annotations

import os
from pathlib import Path

from galaxysd import morphology
from galaxysd.data.cache import ImageCache, build_cache, cache_folder
from galaxysd.data.loaders import load_catalog_spec
from galaxysd.runs import DEFAULT_CACHE_ROOT, RunDir, model_image_size

REAL_SOURCES = ("gz2", "gz1", "kaggle", "folder")


def open_survey(
    spec: str, size: int, cache_root: str | os.PathLike = DEFAULT_CACHE_ROOT, workers: int = 2, progress: bool = True
) -> ImageCache:
    """Load catalog ``spec`` and build (or reuse) its image cache at ``size`` px.

    Rows without an image are dropped; ``ValueError`` when none is left.
    """
    catalog = load_catalog_spec(spec)
    catalog = catalog[catalog["image_path"].astype(str).str.len() > 0].reset_index(drop=True)
    if catalog.empty:
        raise ValueError(f"catalog {spec!r} has no galaxies with images")
    return build_cache(
        catalog, cache_folder(Path(cache_root), spec, size), size=size, workers=workers, progress=progress
    )


def survey_tag(spec: str, cache: ImageCache, run: RunDir | None = None) -> str:
    """The survey tag prompts for this catalog use: the run's ``domain`` for the spec when it
    was a training source, else the catalog's most common ``domain`` (``sdss`` without one)."""
    for source in (run.config().get("data") or []) if run is not None else []:
        if isinstance(source, dict) and source.get("catalog") == spec and source.get("domain"):
            return morphology.domain_tag(source["domain"])
    if "domain" in cache.catalog and cache.catalog["domain"].notna().any():
        return morphology.domain_tag(cache.catalog["domain"].mode().iat[0])
    return "sdss"


def is_real_survey(cache: ImageCache) -> bool:
    """True when any galaxy comes from a real survey (its images must not be copied)."""
    sources = set(cache.catalog["source"].astype(str)) if "source" in cache.catalog else {"folder"}
    return bool(sources & set(REAL_SOURCES))


def run_image_size(run: RunDir) -> int:
    """The image size of a run's model (``FileNotFoundError`` when it has none yet)."""
    size = model_image_size(run)
    if size is None:
        raise FileNotFoundError(f"run {run.path} has no model yet ({run.model_dir / 'model_index.json'} is missing)")
    return size
