"""Does every labelled answer work as a slider? Slider 0 vs 1.5 at paired seeds.

For each answer that a run's training data labels (its ``data_report.csv``: at least
:data:`MIN_LABELLED` galaxies of the survey domain), the answer's weight goes from 0 to
:data:`RESPONSE_WEIGHT` on a base prompt (the survey tag and the answer's parent answers
along the GZ2 tree) at the same :data:`RESPONSE_SEEDS` seeds. Two measures:

* the judge's probability of the answer, on vs off, per seed: mean change with a 95%
  bootstrap interval, where the judge has an output for it;
* the mean absolute pixel change over the mean seed-to-seed pixel difference of the off
  images (1 = the slider changes an image as much as drawing another seed does).

An answer *works* when the judge is trusted for it (held-out AUC >= :data:`TRUSTED_AUC` on
real galaxies of the standard look, :func:`galaxysd.evaluation.judge_trust.trusted_tags`) and the
interval lies above zero, or, where the judge is not trusted, when the pixel change reaches
the seed-to-seed difference. ``python -m galaxysd.evaluate response --run RUN`` writes the
table to ``RUN/eval/tag_response.csv``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from galaxysd import morphology
from galaxysd.atomic_files import write_csv
from galaxysd.evaluation.judge import Judge
from galaxysd.evaluation.judge_trust import TRUSTED_AUC, trusted_tags
from galaxysd.evaluation.scoring import Generator
from galaxysd.model.samplers import RECOMMENDED_SAMPLING
from galaxysd.model.tag_guidance import DEFAULT_TAG_GUIDANCE
from galaxysd.training.data_report import simulated_rows

RESPONSE_WEIGHT = 1.5
RESPONSE_SEEDS = 16
MIN_LABELLED = 20
BOOTSTRAP = 2000
RESPONSE_FILE = "tag_response.csv"


@dataclass(frozen=True)
class ResponseSettings:
    """How the slider pairs are sampled (by default as the app samples)."""

    weight: float = RESPONSE_WEIGHT
    seeds: int = RESPONSE_SEEDS
    seed: int = 5000
    steps: int = RECOMMENDED_SAMPLING["steps"]
    guidance: float = RECOMMENDED_SAMPLING["guidance_scale"]
    sampler: str = RECOMMENDED_SAMPLING["sampler"]
    tag_guidance: float = DEFAULT_TAG_GUIDANCE  # how the generator applies weights above 1 (for the table)
    fill_open_questions: bool = False  # whether the generator answers open questions (for the table)


def labelled_answers(data_report: pd.DataFrame, domain: str, min_galaxies: int = MIN_LABELLED) -> list[str]:
    """Answers with at least ``min_galaxies`` labelled galaxies of ``domain`` in a run's
    data report (summed over its sources), in GZ2 tree order. Labels a source simulated
    (provenance ``simulated``: a ``+dust_lane`` source's dust lanes) are not counted: the
    slider table covers what volunteers or measurements label."""
    rows = data_report[data_report["domain"].astype(str) == domain]
    rows = rows[~simulated_rows(rows)]
    counts = rows.groupby("tag")["galaxies"].sum()
    return [a.tag for a in morphology.ANSWERS if counts.get(a.tag, 0) >= min_galaxies]


def base_weights(tag: str, domain: str) -> dict[str, float]:
    """The survey tag plus the parent answers of ``tag`` along the decision tree."""
    return {domain: 1.0, **dict.fromkeys(morphology.parent_answers(tag), 1.0)}


def bootstrap_ci(values: np.ndarray, seed: int, draws: int = BOOTSTRAP) -> tuple[float, float]:
    """95% percentile bootstrap interval of the mean of ``values``."""
    values = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), (draws, len(values)))].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def seed_difference(images: np.ndarray) -> float:
    """Mean absolute pixel difference between images of different seeds (all pairs)."""
    pixels = np.asarray(images, dtype=np.float32)
    pairs = [np.abs(pixels[a] - pixels[b]).mean() for a in range(len(pixels)) for b in range(a + 1, len(pixels))]
    return float(np.mean(pairs)) if pairs else float("nan")


def tag_response(
    generate: Generator,
    judge: Judge | None,
    tag: str,
    domain: str,
    trusted: set[str],
    settings: ResponseSettings = ResponseSettings(),
    off_images: np.ndarray | None = None,
) -> tuple[dict, np.ndarray, np.ndarray]:
    """One row of the response table for ``tag``, the off images (to reuse for answers with
    the same base prompt) and the on images."""
    tag = morphology.canonical_tag(tag)
    base = base_weights(tag, domain)
    s = settings
    if off_images is None:
        off_images = generate(base, s.seeds, s.seed, s.steps, s.guidance, s.sampler)
    on_images = generate({**base, tag: s.weight}, s.seeds, s.seed, s.steps, s.guidance, s.sampler)
    change = float(np.abs(on_images.astype(np.float32) - off_images.astype(np.float32)).mean())
    between_seeds = seed_difference(off_images)
    row = {
        "tag": tag,
        "prompt": f"{morphology.format_prompt(base)}, {{{tag}:0 -> {s.weight:g}}}",
        "seeds": s.seeds,
        "tag_guidance": s.tag_guidance,
        "fill_open_questions": s.fill_open_questions,
        "pixel_change": change,
        "seed_difference": between_seeds,
        "pixel_ratio": change / between_seeds if between_seeds > 0 else float("nan"),
        "judged": bool(judge is not None and tag in judge.tags),
        "judge_trusted": tag in trusted,
    }
    if row["judged"]:
        p_off = judge.predict_tags(off_images)[tag].to_numpy()
        p_on = judge.predict_tags(on_images)[tag].to_numpy()
        low, high = bootstrap_ci(p_on - p_off, s.seed + len(tag))
        row.update(judge_p_off=float(p_off.mean()), judge_p_on=float(p_on.mean()))
        row.update(judge_delta=float((p_on - p_off).mean()), judge_delta_low=low, judge_delta_high=high)
    if row["judge_trusted"]:
        row.update(works=bool(row["judge_delta_low"] > 0), measured_by="judge")
    else:
        row.update(works=bool(row["pixel_ratio"] >= 1.0), measured_by="pixels")
    return row, off_images, on_images


def response_table(
    generate: Generator,
    judge: Judge | None,
    tags: Sequence[str],
    domain: str,
    settings: ResponseSettings = ResponseSettings(),
    min_auc: float = TRUSTED_AUC,
    progress: bool = True,
) -> pd.DataFrame:
    """:func:`tag_response` of every tag, sharing the off images of equal base prompts."""
    trusted = trusted_tags(judge, min_auc) if judge is not None else set()
    rows, off_by_base = [], {}
    for tag in tqdm(list(tags), desc="slider response", unit="answer", disable=not progress):
        key = morphology.format_prompt(base_weights(tag, domain))
        row, off_by_base[key], _ = tag_response(generate, judge, tag, domain, trusted, settings, off_by_base.get(key))
        rows.append(row)
    return pd.DataFrame(rows)


def write_response_table(table: pd.DataFrame, eval_dir: str | Path) -> Path:
    """Write the table atomically as ``eval_dir/tag_response.csv``."""
    path = Path(eval_dir) / RESPONSE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    write_csv(path, table)
    return path
