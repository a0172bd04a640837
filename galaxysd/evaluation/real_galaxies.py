"""Real galaxies of a run, for side-by-side views, nearest-neighbour checks and the quiz.

A run names its training catalogs in ``config.yaml``. Their images are found, in order:

1. the image caches training built (``cache_dir``), at the model's resolution;
2. the catalogs' own image files, decoded on demand (e.g. ``../shared/data`` present);
3. the small real reference set shipped in ``assets/reference`` (300 labelled SDSS galaxies,
   :mod:`galaxysd.data.reference_set`), for clones without ``../shared/data``;
4. the real first row of each evaluation sample sheet ``eval/samples/KEY.png``, labelled
   with that prompt's tags.

Apart from that small reference set, real survey images are never copied into the
repository: when none of these exist the run has no real galaxies here, and callers say so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from PIL import Image

from galaxysd.data.cache import IMAGE_ERRORS, ImageCache, cache_folder, load_image
from galaxysd.data.loaders import load_catalog_spec
from galaxysd.data.reference_set import REFERENCE_DIR, load_reference_set
from galaxysd.evaluation.prompts import matching_rows, parse_prompt, required_tags
from galaxysd.morphology import DOMAIN_TAGS, answer, fraction_column, vote_fractions_to_weights
from galaxysd.runs import RunDir, resolve_project_path
from galaxysd.training.config import real_image_sources

SHEET_GAP = 2
SHEET_BACKGROUND = 255

#: ``load(rows) -> (len(rows), size, size, 3) uint8`` for the rows of one source's catalog.
ImageLoader = Callable[[np.ndarray], np.ndarray]


@dataclass
class RealGalaxies:
    """Real galaxies from one or more sources: ``catalog`` row ``i`` is ``images([i])[0]``.

    ``catalog`` holds ``id``, ``domain``, the vote-fraction columns, and ``source`` /
    ``source_row`` saying which loader holds the image.
    """

    catalog: pd.DataFrame
    loaders: list[ImageLoader]
    size: int
    origin: str

    def __len__(self) -> int:
        return len(self.catalog)

    def images(self, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        """uint8 images ``(len(rows), size, size, 3)`` of catalog rows."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.empty((len(rows), self.size, self.size, 3), dtype=np.uint8)
        sources = self.catalog["source"].to_numpy()[rows]
        local = self.catalog["source_row"].to_numpy()[rows]
        for source in np.unique(sources):
            picked = np.flatnonzero(sources == source)
            out[picked] = self.loaders[source](local[picked])
        return out

    def domains(self) -> list[str]:
        """Survey domains present, most common first."""
        return list(self.catalog["domain"].value_counts().index)

    def rows(self, domain: str | None = None) -> np.ndarray:
        """Catalog rows of one survey domain (all rows for ``None``)."""
        if domain is None:
            return np.arange(len(self.catalog))
        return np.flatnonzero(self.catalog["domain"].to_numpy() == domain)

    def matching(self, weights: dict[str, float], n: int, seed: int = 0, domain: str | None = None) -> np.ndarray:
        """Up to ``n`` random rows whose morphology has every required tag of ``weights``."""
        found = matching_rows(self.catalog, required_tags(weights))
        found = np.intersect1d(found, self.rows(domain))
        if len(found) > n:
            found = np.sort(np.random.default_rng(seed).choice(found, n, replace=False))
        return found

    def prompt_of(self, row: int) -> dict[str, float]:
        """The weighted prompt a galaxy's vote fractions give (with its survey tag)."""
        record = self.catalog.iloc[int(row)]
        return vote_fractions_to_weights(record.to_dict(), domain=record["domain"])


def _file_loader(paths: np.ndarray, size: int, crops: list, source: str) -> ImageLoader:

    def load(rows: np.ndarray) -> np.ndarray:
        out = np.zeros((len(rows), size, size, 3), dtype=np.uint8)
        for i, row in enumerate(rows):
            try:
                out[i] = load_image(paths[row], size=size, crop=crops[row], source=source)
            except IMAGE_ERRORS:
                pass  # a file that vanished shows as a black square
        return out

    return load


def _resolved_spec(spec: str) -> str:
    kind, _, rest = spec.partition(":")
    path, mark, query = rest.partition("?")
    return f"{kind}:{resolve_project_path(path)}{mark}{query}"


def _training_sources(run: RunDir, size: int) -> list[tuple[pd.DataFrame, ImageLoader, str]]:
    """(catalog, loader, origin) of each real training source whose images can be read here
    (simulated sources left out: :func:`galaxysd.training.config.real_image_sources`)."""
    config = run.config()
    cache_root = resolve_project_path(config.get("cache_dir") or ".data/cache")
    found = []
    for source in real_image_sources(config.get("data") or []):
        folder = cache_folder(cache_root, source.catalog, size)
        try:
            cache = ImageCache.open(folder)
            found.append((cache.catalog.assign(domain=source.domain), cache.batch, "image cache"))
            continue
        except FileNotFoundError:
            pass
        try:
            catalog = load_catalog_spec(_resolved_spec(source.catalog))
        except (OSError, ValueError):
            continue
        catalog = catalog[catalog["image_path"].astype(str).str.len() > 0].reset_index(drop=True)
        if len(catalog):
            crops = (
                [None if c != c else float(c) for c in catalog["crop"]] if "crop" in catalog else [None] * len(catalog)
            )
            kind = source.catalog.split(":", 1)[0]
            loader = _file_loader(catalog["image_path"].to_numpy(str), size, crops, kind)
            found.append((catalog.assign(domain=source.domain), loader, "catalog images"))
    return found


def _reference_source(size: int) -> tuple[pd.DataFrame, ImageLoader, str] | None:
    """The shipped reference set (``assets/reference``), resized to ``size`` when needed."""
    found = load_reference_set(REFERENCE_DIR)
    if found is None:
        return None
    catalog, images = found
    if images.shape[1] != size:
        images = np.stack([np.asarray(Image.fromarray(im).resize((size, size), Image.BILINEAR)) for im in images])
    return catalog, lambda rows: images[rows], "shipped reference set"


def sheet_tiles(path: Path, size: int, gap: int = SHEET_GAP) -> list[np.ndarray]:
    """The rows of an evaluation sample sheet as ``(n, size, size, 3)`` arrays (blank slots dropped)."""
    sheet = np.asarray(Image.open(path).convert("RGB"))
    step = size + gap
    if (sheet.shape[0] + gap) % step or (sheet.shape[1] + gap) % step:
        raise ValueError(f"{path} is not a sheet of {size}px images")
    rows = []
    for top in range(0, sheet.shape[0], step):
        tiles = [sheet[top : top + size, left : left + size] for left in range(0, sheet.shape[1], step)]
        rows.append(np.stack([t for t in tiles if not np.all(t == SHEET_BACKGROUND)]))
    return rows


def _eval_prompts_with_real(run: RunDir) -> dict[str, str]:
    """Evaluation prompts whose sample sheet starts with a row of real galaxies."""
    metrics = run.eval_dir / "metrics.json"
    if not metrics.is_file():
        return {}
    try:
        prompts = json.loads(metrics.read_text()).get("prompts", [])
        return {p["key"]: p["prompt"] for p in prompts if p.get("n_real", 0) > 0}
    except (ValueError, KeyError, TypeError, AttributeError):
        return {}


def _sheet_source(run: RunDir, size: int) -> tuple[pd.DataFrame, ImageLoader, str] | None:
    """The real rows of the evaluation sample sheets, labelled with their prompts' tags."""
    images, records = [], []
    for key, text in _eval_prompts_with_real(run).items():
        path = run.eval_dir / "samples" / f"{key}.png"
        try:
            real = sheet_tiles(path, size)[0]
            weights = parse_prompt(text)
        except (OSError, ValueError):
            continue
        domain = next((t for t in weights if t in DOMAIN_TAGS), "sdss")
        fractions = {fraction_column(answer(t)): 1.0 for t in weights if t not in DOMAIN_TAGS}
        for i, image in enumerate(real):
            images.append(image)
            records.append({"id": f"eval-{key}-{i}", "domain": domain, **fractions})
    if not images:
        return None
    stack = np.stack(images)
    return pd.DataFrame(records), (lambda rows: stack[rows]), "evaluation sample sheets"


def open_real_galaxies(run: RunDir, size: int) -> RealGalaxies | None:
    """The run's real galaxies at ``size`` px from the best available source, or ``None``."""
    sources = _training_sources(run, size)
    if not sources:
        fallback = _reference_source(size) or _sheet_source(run, size)
        sources = [fallback] if fallback else []
    if not sources:
        return None
    parts = [catalog.assign(source=i, source_row=np.arange(len(catalog))) for i, (catalog, _, _) in enumerate(sources)]
    catalog = pd.concat(parts, ignore_index=True)
    catalog["id"] = catalog["id"].astype(str)
    origin = ", ".join(sorted({origin for _, _, origin in sources}))
    return RealGalaxies(catalog, [loader for _, loader, _ in sources], size, origin)
