"""Building blocks of a run's evaluation: the real reference sets, scoring one set of
generated images, physical statistics pooled over prompts, sample sheets, fingerprints of
settings and files. :mod:`galaxysd.evaluation.run_evaluation` strings them together.

Real reference of a prompt: the rows of the real cache matching its required tags (see
:func:`galaxysd.evaluation.prompts.matching_rows`), excluding galaxies the judge was trained on, at
most ``max_real`` of them (seeded sample).
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from PIL import Image

from galaxysd.atomic_files import to_json_value, write_atomic
from galaxysd.evaluation.judge import ImageSet, Judge, cache_images, unseen_rows
from galaxysd.evaluation.judge_trust import trusted_tags
from galaxysd.evaluation.metrics import CLOSEST_PAIR_IMAGES, closest_pair_pixels, score_prompt
from galaxysd.evaluation.physical import compare_statistics, measure_images
from galaxysd.evaluation.prompts import PromptSpec, matching_rows
from galaxysd.morphology import canonical_tag

#: ``generate(weights, n, seed, steps, guidance, sampler) -> (n, H, W, 3) uint8``
Generator = Callable[[dict, int, int, int, float, str], np.ndarray]


def fingerprint(*parts) -> str:
    """Short stable hash of JSON-able parts (settings, file listings)."""
    text = json.dumps(to_json_value(parts), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def folder_fingerprint(folder: Path) -> list:
    """Relative path, size and modification time of every file under ``folder``."""
    if not folder.is_dir():
        return []
    return sorted(
        [str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns] for p in folder.rglob("*") if p.is_file()
    )


# ------------------------------------------------------------------ real reference
@dataclass
class RealReference:
    """Real rows, judge features and tag probabilities for each prompt's morphology."""

    rows: dict[str, np.ndarray]  # prompt key -> cache rows
    features: dict[str, np.ndarray]
    probabilities: dict[str, pd.DataFrame]


def reference_rows(
    cache: ImageSet, judge: Judge, prompts: Sequence[PromptSpec], max_real: int, seed: int
) -> dict[str, np.ndarray]:
    """Cache rows of each prompt's morphology, not used to train the judge, at most ``max_real``."""
    catalog = cache.catalog.reset_index(drop=True)
    usable = unseen_rows(judge, catalog)
    rows = {}
    for spec in prompts:
        found = matching_rows(catalog, spec.required_tags)
        found = found[usable[found]]
        if len(found) > max_real:
            found = np.sort(np.random.default_rng(seed).choice(found, max_real, replace=False))
        rows[spec.key] = found
    return rows


def build_reference(
    cache: ImageSet, judge: Judge, prompts: Sequence[PromptSpec], max_real: int, seed: int, progress: bool = True
) -> RealReference:
    """Judge every real reference image once (shared rows are computed once)."""
    rows = reference_rows(cache, judge, prompts, max_real, seed)
    union = np.unique(np.concatenate([np.zeros(0, int), *rows.values()]))
    images = cache_images(cache, union)
    features = judge.features(images, progress=progress)
    probabilities = judge.predict_tags(images)
    position = {row: i for i, row in enumerate(union)}
    take = {key: np.array([position[r] for r in found], dtype=int) for key, found in rows.items()}
    return RealReference(
        rows=rows,
        features={key: features[idx] for key, idx in take.items()},
        probabilities={key: probabilities.iloc[idx].reset_index(drop=True) for key, idx in take.items()},
    )


# ------------------------------------------------------------------ scoring
def score_images(judge: Judge, spec: PromptSpec, images: np.ndarray, reference: RealReference, seed: int = 0) -> dict:
    """Consistency, realism and diversity of ``images`` generated for ``spec``."""
    trusted = trusted_tags(judge)
    judged = tuple(t for t in judge.judged(spec.required_tags) if t in trusted)
    gen_probs = judge.predict_tags(images)
    scores = score_prompt(
        judge.features(images),
        judge.presence(gen_probs, judged),
        reference.features[spec.key],
        judge.presence(reference.probabilities[spec.key], judged),
        seed,
    )
    return {
        "key": spec.key,
        "label": spec.label,
        "prompt": spec.text,
        "judged_tags": list(judged),
        "unjudged_tags": [t for t in (canonical_tag(t) for t in spec.required_tags) if t not in judged],
        **scores,
        "closest_pair_pixels": closest_pair_pixels(images[:CLOSEST_PAIR_IMAGES]),
    }


def physical_comparison(
    generated: dict[str, np.ndarray], cache: ImageSet, reference: RealReference, per_prompt: int, progress: bool = True
) -> tuple[pd.DataFrame, dict]:
    """statmorph statistics of generated and real images, pooled over prompts.

    For balance, each prompt with real matches contributes the same number of generated
    and real images (``per_prompt``, or fewer when it has fewer real ones); prompts with no
    real match are left out. Returns the per-image table (columns ``set``, ``prompt``,
    statistics, ``failure``) and the comparison of :func:`compare_statistics`.
    """
    parts = []
    for key, images_of_prompt in generated.items():
        count = min(per_prompt, len(images_of_prompt), len(reference.rows[key]))
        if count == 0:
            continue
        for name, images in (
            ("generated", images_of_prompt[:count]),
            ("real", cache_images(cache, reference.rows[key][:count])),
        ):
            table = measure_images(images, progress=progress, desc=f"statmorph {key} {name}")
            parts.append(table.assign(set=name, prompt=key))
    columns = ["set", "prompt"]
    if not parts:
        return pd.DataFrame(columns=columns), {}
    table = pd.concat(parts, ignore_index=True)
    table = table[columns + [c for c in table.columns if c not in columns]]
    comparison = compare_statistics(table[table.set == "real"], table[table.set == "generated"])
    return table, comparison


# ------------------------------------------------------------------ sample sheets
def image_sheet(rows: Sequence[np.ndarray], gap: int = 2, background: int = 255) -> Image.Image:
    """Grid PNG of image rows: ``rows[i]`` is ``(n_i, H, W, 3)`` uint8; empty rows are skipped."""
    rows = [r for r in rows if len(r)]
    if not rows:
        return Image.new("RGB", (1, 1), (background,) * 3)
    height, width = rows[0].shape[1:3]
    columns = max(len(r) for r in rows)
    sheet = np.full((len(rows) * (height + gap) - gap, columns * (width + gap) - gap, 3), background, np.uint8)
    for i, images in enumerate(rows):
        for j, image in enumerate(images):
            image = np.asarray(Image.fromarray(image).resize((width, height)))
            sheet[i * (height + gap) : i * (height + gap) + height, j * (width + gap) : j * (width + gap) + width] = (
                image
            )
    return Image.fromarray(sheet)


def save_sheet(path: Path, rows: Sequence[np.ndarray]) -> None:
    """Atomic PNG write of :func:`image_sheet`."""
    buffer = io.BytesIO()
    image_sheet(rows).save(buffer, format="PNG")
    write_atomic(path, buffer.getvalue())


def pipeline_generator(pipe, **fixed) -> Generator:
    """Wrap a ``GalaxyPipeline`` as a :data:`~galaxysd.evaluation.scoring.Generator`; ``fixed``
    are further pipeline arguments for every call (e.g. ``tag_guidance``)."""

    def generate(weights, n, seed, steps, guidance, sampler):
        return pipe(
            weights, num_images=n, seed=seed, steps=steps, guidance_scale=guidance, sampler=sampler, **fixed
        ).arrays

    return generate
