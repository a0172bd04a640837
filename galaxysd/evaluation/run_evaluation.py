"""A run's evaluation, part by part: the final model's metrics, checkpoint curves and the
Pareto sweep. Each part keeps its work under ``RUN/eval/parts/<part>-<fingerprint>/`` and
skips what is already there, so a killed evaluation resumes; changed settings, prompts,
judge, data or model give a new fingerprint and a fresh start.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from galaxysd.atomic_files import save_array, write_csv, write_json
from galaxysd.evaluation.judge import ImageSet, Judge, cache_images
from galaxysd.evaluation.metrics import mark_pareto_fronts
from galaxysd.evaluation.physical import STATISTICS, histogram_table
from galaxysd.evaluation.prompts import MEAN_KEY, PromptSpec
from galaxysd.evaluation.scoring import (
    Generator,
    RealReference,
    build_reference,
    fingerprint,
    folder_fingerprint,
    physical_comparison,
    save_sheet,
    score_images,
)
from galaxysd.model.tag_guidance import DEFAULT_TAG_GUIDANCE, check_tag_guidance
from galaxysd.runs import weights_digest
from galaxysd.training.checkpoints import checkpoint_dirs, checkpoint_step

PARTS = ("metrics", "curves", "pareto")
# The settings each part uses, recorded beside its output (metrics.json, curves.json, pareto.json),
# so a file never claims settings of a part that ran with others.
PART_SETTINGS = {
    "metrics": ("n_images", "seed", "steps", "guidance", "sampler", "tag_guidance", "max_real", "physical_per_prompt"),
    "curves": ("curve_images", "seed", "steps", "guidance", "sampler", "tag_guidance"),
    "pareto": ("pareto_images", "seed", "pareto_guidance", "pareto_steps", "pareto_samplers", "tag_guidance"),
}
CURVE_COLUMNS = ("consistency", "consistency_real", "frechet", "frechet_floor", "diversity")
SHEET_COLUMNS = 8
#: Consistency of real images quoted by Ma et al. (2026), for comparison with ours.
PAPER_REAL_CONSISTENCY = 0.895


@dataclass(frozen=True)
class EvalSettings:
    """How many images, which sampling settings, and the Pareto sweep grid."""

    n_images: int = 96  # with 16, diversity and Fréchet distance swing with the draw (README)
    seed: int = 0
    steps: int = 20
    guidance: float = 3.0
    sampler: str = "dpmpp"
    tag_guidance: float = DEFAULT_TAG_GUIDANCE  # the answer boost for weights above 1 (every part)
    max_real: int = 200
    physical_per_prompt: int = 4
    curve_images: int = 8
    pareto_images: int = 8
    pareto_guidance: tuple[float, ...] = (1.0, 2.0, 3.0, 5.0, 7.5)
    pareto_steps: tuple[int, ...] = (10, 20, 40)
    pareto_samplers: tuple[str, ...] = ("dpmpp", "dpmpp_sde", "euler_a")

    def __post_init__(self) -> None:
        for name in ("n_images", "curve_images", "pareto_images"):
            if getattr(self, name) < 2:
                raise ValueError(f"{name} must be at least 2 (distances need pairs), got {getattr(self, name)}")
        if self.steps < 1 or self.max_real < 2 or self.physical_per_prompt < 0:
            raise ValueError("steps must be >= 1, max_real >= 2 and physical_per_prompt >= 0")
        check_tag_guidance(self.tag_guidance)
        if not (self.pareto_guidance and self.pareto_steps and self.pareto_samplers):
            raise ValueError("the Pareto sweep needs at least one guidance, step count and sampler")

    @classmethod
    def quick(cls, **overrides) -> "EvalSettings":
        """Few images, a 2x2 sweep: minutes on a CPU, for tests and smoke checks."""
        values = dict(
            n_images=4,
            max_real=32,
            physical_per_prompt=1,
            curve_images=4,
            pareto_images=4,
            pareto_guidance=(1.0, 3.0),
            pareto_steps=(4, 8),
            pareto_samplers=("dpmpp",),
        )
        return cls(**{**values, **overrides})


def check_parts(parts: Sequence[str]) -> list[str]:
    """``parts`` as a list, or ``ValueError`` naming unknown ones."""
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        raise ValueError(f"unknown evaluation part(s) {', '.join(unknown)}; known: {', '.join(PARTS)}")
    return list(parts)


def _sheet_rows(real: np.ndarray, generated: np.ndarray) -> list[np.ndarray]:
    rows = [real[:SHEET_COLUMNS]]
    rows += [generated[i : i + SHEET_COLUMNS] for i in range(0, len(generated), SHEET_COLUMNS)]
    return rows


def mean_over_prompts(rows: list[dict]) -> dict:
    """Mean of each metric over prompts (NaN-skipping) and the total image count."""
    means = {}
    for column in CURVE_COLUMNS:  # values read back from JSON hold None for NaN
        values = np.array([np.nan if r[column] is None else r[column] for r in rows], float)
        means[column] = float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")
    return {**means, "n_generated": int(sum(r["n_generated"] for r in rows))}


def _read_rows(path: Path, columns: Sequence[str]) -> pd.DataFrame:
    return pd.read_csv(path) if path.is_file() else pd.DataFrame(columns=list(columns))


def _append_rows(path: Path, done: pd.DataFrame, rows: list[dict]) -> pd.DataFrame:
    """``done`` plus ``rows``, saved to ``path`` at once (the resume point)."""
    both = pd.DataFrame(rows) if done.empty else pd.concat([done, pd.DataFrame(rows)], ignore_index=True)
    write_csv(path, both)
    return both


class RunEvaluation:
    """One evaluation of a run; each ``evaluate_*`` method is resumable on its own."""

    def __init__(
        self,
        run_dir: Path,
        cache: ImageSet,
        judge: Judge,
        judge_dir: Path | None,
        settings: EvalSettings,
        prompts: Sequence[PromptSpec],
        load: Callable[[Path], Generator],
        progress: bool,
        eval_dir: Path | None = None,
    ):
        self.run_dir = Path(run_dir)
        self.eval_dir = Path(eval_dir) if eval_dir is not None else self.run_dir / "eval"
        self.cache, self.judge, self.settings, self.prompts = cache, judge, settings, prompts
        self.load, self.progress = load, progress
        cache_id = getattr(cache, "meta", {}).get("fingerprint", len(cache.catalog))
        self.base = [
            asdict(settings),
            [asdict(p) for p in prompts],
            cache_id,
            folder_fingerprint(judge_dir) if judge_dir else judge.report,
        ]
        self.judge_weights = weights_digest(judge_dir)
        self._reference: RealReference | None = None
        self._final_generator: Generator | None = None

    @property
    def reference(self) -> RealReference:
        """Real reference sets of the prompts, judged on first use."""
        if self._reference is None:
            s = self.settings
            self._reference = build_reference(self.cache, self.judge, self.prompts, s.max_real, s.seed, self.progress)
        return self._reference

    def part_settings(self, part: str) -> dict:
        """The settings that ``part`` uses, as written beside its output."""
        return {name: value for name, value in asdict(self.settings).items() if name in PART_SETTINGS[part]}

    def work_dir(self, part: str, *extra) -> Path:
        """The resumable work folder of ``part`` under the current fingerprint."""
        folder = self.eval_dir / "parts" / f"{part}-{fingerprint(*self.base, *extra)}"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def final_generator(self) -> Generator:
        """The run's final model (``RUN/model``), loaded on first use."""
        if self._final_generator is None:
            self._final_generator = self.load(self.run_dir / "model")
        return self._final_generator

    def _score(self, spec: PromptSpec, images: np.ndarray) -> dict:
        return score_images(self.judge, spec, images, self.reference, self.settings.seed)

    def evaluate_metrics(self) -> dict:
        """Score the run's final model on every prompt; write metrics, physics, sheets."""
        s = self.settings
        work = self.work_dir("metrics", folder_fingerprint(self.run_dir / "model"))
        results, generated = [], {}
        for spec in tqdm(self.prompts, desc="prompts", disable=not self.progress):
            result_path, images_path = work / f"prompt_{spec.key}.json", work / f"images_{spec.key}.npy"
            if result_path.is_file() and images_path.is_file():
                images, result = np.load(images_path), json.loads(result_path.read_text())
            else:
                images = self.final_generator()(spec.weights, s.n_images, s.seed, s.steps, s.guidance, s.sampler)
                save_array(images_path, images)
                result = self._score(spec, images)
                write_json(result_path, result)
            results.append(result)
            generated[spec.key] = images
            real = cache_images(self.cache, self.reference.rows[spec.key][:SHEET_COLUMNS])
            save_sheet(self.eval_dir / "samples" / f"{spec.key}.png", _sheet_rows(real, images))
        save_sheet(self.eval_dir / "samples" / "overview.png", [generated[p.key][:SHEET_COLUMNS] for p in self.prompts])
        physical = self._physical(work, generated)
        metrics = {
            "settings": self.part_settings("metrics"),
            "judge_weights": self.judge_weights,
            "paper_real_consistency": PAPER_REAL_CONSISTENCY,
            "summary": mean_over_prompts(results),
            "prompts": results,
            "physical": physical,
            "judge": {
                k: self.judge.report.get(k)
                for k in (
                    "tags",
                    "n_train",
                    "n_test",
                    "mean_accuracy",
                    "mean_balanced_accuracy",
                    "mean_auc",
                    "per_tag",
                    "dropped_tags",
                )
            },
        }
        write_json(self.eval_dir / "metrics.json", metrics)
        return json.loads((self.eval_dir / "metrics.json").read_text())

    def _physical(self, work: Path, generated: dict[str, np.ndarray]) -> dict:
        table_path, comparison_path = work / "physical.csv", work / "physical.json"
        if table_path.is_file() and comparison_path.is_file():
            table = pd.read_csv(table_path, keep_default_na=False, na_values=[""])
            comparison = json.loads(comparison_path.read_text())
        else:
            table, comparison = physical_comparison(
                generated, self.cache, self.reference, self.settings.physical_per_prompt, self.progress
            )
            write_csv(table_path, table)
            write_json(comparison_path, comparison)
        write_csv(self.eval_dir / "physical.csv", table)
        if len(table):
            sets = {name: table[table.set == name] for name in ("real", "generated")}
            histograms = histogram_table(sets)
        else:
            histograms = histogram_table({})
        write_csv(self.eval_dir / "histograms.csv", histograms)
        write_json(
            self.eval_dir / "histograms.json",
            {
                name: {
                    key: group[["bin_left", "bin_right", "count", "density"]].to_dict("list")
                    for key, group in histograms[histograms.statistic == name].groupby("set")
                }
                for name in STATISTICS
            },
        )
        failures = (
            table[table.failure.fillna("") != ""].groupby(["set", "failure"]).size()
            if len(table)
            else pd.Series(dtype=int)
        )
        return {
            "statistics": comparison,
            "n_images": {k: int(v) for k, v in table.groupby("set").size().items()} if len(table) else {},
            "failures": {f"{a}: {b}": int(n) for (a, b), n in failures.items()},
        }

    def evaluate_curves(self) -> pd.DataFrame:
        """Feature metrics of every checkpoint vs. training step -> ``eval/curves.csv``."""
        s = self.settings
        work = self.work_dir("curves")
        done = _read_rows(work / "curves.csv", ["step", "prompt", "n_generated", *CURVE_COLUMNS])
        steps_done = set(done["step"])
        for folder in tqdm(checkpoint_dirs(self.run_dir), desc="checkpoints", disable=not self.progress):
            step = checkpoint_step(folder)
            if step in steps_done:
                continue
            generate = self.load(folder)
            rows = []
            for spec in self.prompts:
                images = generate(spec.weights, s.curve_images, s.seed, s.steps, s.guidance, s.sampler)
                result = self._score(spec, images)
                rows.append(
                    {
                        "step": step,
                        "prompt": spec.key,
                        "n_generated": len(images),
                        **{c: result[c] for c in CURVE_COLUMNS},
                    }
                )
            rows.append({"step": step, "prompt": MEAN_KEY, **mean_over_prompts(rows)})
            done = _append_rows(work / "curves.csv", done, rows)
        write_csv(self.eval_dir / "curves.csv", done)
        write_json(
            self.eval_dir / "curves.json",
            {"settings": self.part_settings("curves"), "judge_weights": self.judge_weights},
        )
        return done

    def evaluate_pareto(self) -> pd.DataFrame:
        """Sweep guidance, steps and sampler per prompt -> ``eval/pareto.csv`` with fronts."""
        s = self.settings
        work = self.work_dir("pareto", folder_fingerprint(self.run_dir / "model"))
        done = _read_rows(
            work / "points.csv", ["prompt", "guidance", "steps", "sampler", "n_generated", *CURVE_COLUMNS]
        )
        keys = set(zip(done.prompt, done.guidance, done.steps, done.sampler))
        grid = [(g, n, sampler) for sampler in s.pareto_samplers for n in s.pareto_steps for g in s.pareto_guidance]
        for spec in tqdm(self.prompts, desc="pareto sweep", disable=not self.progress):
            rows = []
            for guidance, steps, sampler in grid:
                if (spec.key, guidance, steps, sampler) in keys:
                    continue
                images = self.final_generator()(spec.weights, s.pareto_images, s.seed, steps, guidance, sampler)
                result = self._score(spec, images)
                rows.append(
                    {
                        "prompt": spec.key,
                        "guidance": guidance,
                        "steps": steps,
                        "sampler": sampler,
                        "n_generated": len(images),
                        **{c: result[c] for c in CURVE_COLUMNS},
                    }
                )
            if rows:
                done = _append_rows(work / "points.csv", done, rows)
        points = done
        means = [
            {
                "prompt": MEAN_KEY,
                "guidance": g,
                "steps": n,
                "sampler": sm,
                **mean_over_prompts(group.to_dict("records")),
            }
            for (g, n, sm), group in points.groupby(["guidance", "steps", "sampler"])
        ]
        points = pd.concat([points, pd.DataFrame(means)], ignore_index=True) if means else points
        pareto = mark_pareto_fronts(points)
        write_csv(self.eval_dir / "pareto.csv", pareto)
        write_json(
            self.eval_dir / "pareto.json",
            {"settings": self.part_settings("pareto"), "judge_weights": self.judge_weights},
        )
        return pareto
