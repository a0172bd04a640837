"""``python -m galaxysd.explore --run DIR``: a UMAP map of real and generated galaxies.

Real galaxies of the run (see :mod:`galaxysd.evaluation.real_galaxies`) and galaxies generated for
each evaluation prompt are embedded in the judge's feature space (pixels reduced by PCA
when the run has no judge) and projected to 2-D with UMAP. Fitting UMAP costs tens of
seconds (mostly numba compilation), so it runs here, once, and the app only reads
``RUN/eval/umap.csv``: ``x, y, source (real|generated), domain, morphology, prompt,
galaxy_id, thumbnail`` (a small JPEG data URI), plus ``eval/umap.json`` with the settings.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from PIL import Image
from sklearn.decomposition import PCA
from tqdm.auto import tqdm

from galaxysd.cli import JobParser, run_cli
from galaxysd.evaluation.neighbours import PixelFeatures, feature_space
from galaxysd.evaluation.real_galaxies import RealGalaxies, open_real_galaxies
from galaxysd.evaluation.run_results import eval_prompts
from galaxysd.model.saving import load_pipeline
from galaxysd.morphology import DOMAIN_TAGS, format_prompt
from galaxysd.runs import RunDir, model_image_size

THUMB_PIXELS = 48
PCA_COMPONENTS = 50
UMAP_FILE, META_FILE = "umap.csv", "umap.json"


def coarse_morphology(weights: dict[str, float]) -> str:
    """A one-phrase class from tag weights or cumulative vote fractions (>= 0.5 counts)."""
    has = {tag for tag, value in weights.items() if value >= 0.5}
    for tag, label in (
        ("merger", "merger"),
        ("star or artifact", "star or artifact"),
        ("edge-on galaxy", "edge-on disk"),
        ("spiral galaxy", "spiral"),
        ("completely round galaxy", "smooth, round"),
        ("in-between round galaxy", "smooth, in-between"),
        ("cigar-shaped galaxy", "smooth, cigar-shaped"),
        ("smooth", "smooth"),
        ("features or disk-shaped", "disk"),
    ):
        if tag in has:
            return label
    return "unclear"


def thumbnail_uri(image: np.ndarray, pixels: int = THUMB_PIXELS) -> str:
    """A small JPEG of a uint8 image as a ``data:`` URI (what a tooltip can show)."""
    buffer = io.BytesIO()
    Image.fromarray(image).resize((pixels, pixels), Image.NEAREST if image.shape[0] < pixels else Image.LANCZOS).save(
        buffer, format="JPEG", quality=85
    )
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def project(features: np.ndarray, neighbours: int = 15, seed: int = 0) -> np.ndarray:
    """2-D UMAP coordinates of ``(N, D)`` features (seeded, so reproducible)."""
    import umap  # slow: numba compiles on import

    if len(features) < 4:
        raise ValueError(f"a map needs at least 4 galaxies, got {len(features)}")
    reducer = umap.UMAP(
        n_components=2, n_neighbors=max(2, min(neighbours, len(features) - 1)), min_dist=0.1, random_state=seed
    )
    return reducer.fit_transform(features)


def reduce_pixels(features: np.ndarray, seed: int = 0) -> np.ndarray:
    """PCA of pixel features down to at most :data:`PCA_COMPONENTS` dimensions."""
    components = min(PCA_COMPONENTS, features.shape[0], features.shape[1])
    return PCA(n_components=components, random_state=seed).fit_transform(features)


def real_sample(real: RealGalaxies, n: int, seed: int) -> tuple[np.ndarray, pd.DataFrame]:
    """Up to ``n`` random real galaxies: images and their table rows."""
    rows = np.arange(len(real))
    if len(rows) > n:
        rows = np.sort(np.random.default_rng(seed).choice(rows, n, replace=False))
    records = []
    for row in rows:
        weights = real.prompt_of(row)
        records.append(
            {
                "source": "real",
                "domain": real.catalog["domain"].iloc[row],
                "morphology": coarse_morphology(weights),
                "prompt": format_prompt(weights),
                "galaxy_id": real.catalog["id"].iloc[row],
            }
        )
    return real.images(rows), pd.DataFrame(records)


def generated_sample(
    run: RunDir, per_prompt: int, steps: int, guidance: float, seed: int, progress: bool = True
) -> tuple[np.ndarray, pd.DataFrame]:
    """``per_prompt`` galaxies for each evaluation prompt of the run, with their table rows."""
    pipe = load_pipeline(run.model_dir)
    images, records = [], []
    for spec in tqdm(eval_prompts(run), desc="generate", disable=not progress):
        weights = spec.weights
        out = pipe(weights, num_images=per_prompt, seed=seed, steps=steps, guidance_scale=guidance)
        images.append(out.arrays)
        domain = next((t for t in weights if t in DOMAIN_TAGS), "")
        records += [
            {
                "source": "generated",
                "domain": domain,
                "morphology": coarse_morphology(weights),
                "prompt": format_prompt(weights),
                "galaxy_id": f"{spec.key}-{i}",
            }
            for i in range(per_prompt)
        ]
    return np.concatenate(images), pd.DataFrame(records)


def fill_real_thumbnails(table: pd.DataFrame, real: RealGalaxies | None) -> pd.DataFrame:
    """Fill empty thumbnails of real galaxies from ``real`` (for maps written without them)."""
    missing = (table["source"] == "real") & (table["thumbnail"].fillna("") == "")
    if real is None or not missing.any():
        return table
    row_of = {gid: i for i, gid in enumerate(real.catalog["id"])}
    wanted = [
        (i, row_of[g]) for i, g in zip(table.index[missing], table["galaxy_id"][missing].astype(str)) if g in row_of
    ]
    if not wanted:
        return table
    out = table.copy()
    images = real.images([row for _, row in wanted])
    out.loc[[i for i, _ in wanted], "thumbnail"] = [thumbnail_uri(im) for im in images]
    return out


def build_map(
    run: RunDir,
    n_real: int = 800,
    per_prompt: int = 8,
    steps: int = 12,
    guidance: float = 3.0,
    seed: int = 0,
    neighbours: int = 15,
    real_thumbnails: bool = True,
    progress: bool = True,
    out_dir: Path | None = None,
) -> pd.DataFrame:
    """Embed and project the run's real and generated galaxies; write the table into
    ``out_dir`` (default ``RUN/eval``) and return it."""
    if not run.has_model():
        raise ValueError(f"{run.path} has no trained model (model/ is missing)")
    size = model_image_size(run)
    real = open_real_galaxies(run, size)
    parts = [generated_sample(run, per_prompt, steps, guidance, seed, progress)]
    if real is not None:
        parts.append(real_sample(real, n_real, seed))
    images = np.concatenate([p[0] for p in parts])
    table = pd.concat([p[1] for p in parts], ignore_index=True)
    space = feature_space(run)
    features = space.features(images)
    if isinstance(space, PixelFeatures):
        features = reduce_pixels(features, seed)
    coords = project(features, neighbours, seed)
    table.insert(0, "x", np.round(coords[:, 0], 4))
    table.insert(1, "y", np.round(coords[:, 1], 4))
    table["thumbnail"] = [
        thumbnail_uri(im) if real_thumbnails or source == "generated" else ""
        for im, source in zip(images, table["source"])
    ]
    meta = {
        "features": space.name,
        "n_real": int((table.source == "real").sum()),
        "n_generated": int((table.source == "generated").sum()),
        "real_source": real.origin if real is not None else None,
        "settings": {
            "n_real": n_real,
            "per_prompt": per_prompt,
            "steps": steps,
            "guidance": guidance,
            "seed": seed,
            "neighbours": neighbours,
        },
    }
    folder = Path(out_dir) if out_dir is not None else run.eval_dir
    _write(folder / UMAP_FILE, table.to_csv(index=False))
    _write(folder / META_FILE, json.dumps(meta, indent=2))
    return table


def read_map(run: RunDir, folders: Sequence[Path] = ()) -> tuple[pd.DataFrame, dict] | None:
    """The map table and its settings from the first of ``folders`` (then ``RUN/eval``) that
    has one, or ``None`` when the job has not run for this run."""
    folder = next((Path(f) for f in [*folders, run.eval_dir] if (Path(f) / UMAP_FILE).is_file()), None)
    if folder is None:
        return None
    path = folder / UMAP_FILE
    try:
        table = pd.read_csv(path, keep_default_na=False, na_values={"x": [""], "y": [""]})
        meta_path = folder / META_FILE
        meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    except (OSError, ValueError, pd.errors.ParserError) as error:
        raise ValueError(f"cannot read {path}: {error}") from None
    missing = {"x", "y", "source", "morphology", "thumbnail"} - set(table.columns)
    if missing:
        raise ValueError(f"{path} lacks column(s) {', '.join(sorted(missing))}")
    return table, meta


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line of the map job."""
    parser = JobParser(
        prog="python -m galaxysd.explore",
        description=("Embed a run's real and generated galaxies with UMAP into RUN/eval/umap.csv."),
    )
    parser.add_argument("--run", required=True, metavar="DIR", help="run directory")
    parser.add_argument("--out-dir", metavar="DIR", help="where umap.csv/umap.json go (default RUN/eval)")
    parser.add_argument("--n-real", type=int, default=800, help="real galaxies to map (default 800)")
    parser.add_argument(
        "--per-prompt", type=int, default=8, help="generated galaxies per evaluation prompt (default 8)"
    )
    parser.add_argument("--steps", type=int, default=12, help="sampling steps (default 12)")
    parser.add_argument("--guidance", type=float, default=3.0, help="guidance scale (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="seed of sampling and UMAP (default 0)")
    parser.add_argument("--neighbours", type=int, default=15, help="UMAP n_neighbors (default 15)")
    parser.add_argument(
        "--no-real-thumbnails",
        action="store_true",
        help="leave real galaxies' thumbnails out of the CSV (the app fills them in from the image cache where it can)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; bad input prints one line and returns 1."""

    def body() -> str:
        args = parse_args(argv)
        for name in ("n_real", "per_prompt", "steps", "neighbours"):
            if getattr(args, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be at least 1")
        table = build_map(
            RunDir(Path(args.run)),
            args.n_real,
            args.per_prompt,
            args.steps,
            args.guidance,
            args.seed,
            args.neighbours,
            not args.no_real_thumbnails,
            out_dir=Path(args.out_dir) if args.out_dir else None,
        )
        folder = Path(args.out_dir) if args.out_dir else Path(args.run) / "eval"
        return f"map of {len(table)} galaxies written to {folder / UMAP_FILE}"

    return run_cli(body)
