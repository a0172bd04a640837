"""What the jobs wrote into a run directory, read for display.

Each reader returns ``None`` when its file does not exist yet (the job has not run) and
raises ``ValueError`` naming the file when it exists but cannot be read.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import yaml

from galaxysd.evaluation.judge_trust import trust_basis, trusted_in_report
from galaxysd.evaluation.prompts import PAPER_PROMPTS, PromptSpec, with_domain
from galaxysd.runs import RunDir, model_image_size, read_json, weights_digest
from galaxysd.training.config import parse_source

#: Columns of ``augment/results.csv`` read as metrics, and as (task, training set) labels.
AUGMENT_METRICS = ("purity", "completeness", "f1")
AUGMENT_TASK_COLUMNS = ("task", "tag", "class")
AUGMENT_SETTING_COLUMNS = ("training", "condition", "setting", "method", "train_set", "variant")
#: Columns of ``augment/results.csv`` that split it into separate comparisons.
AUGMENT_SPLIT_COLUMNS = ("catalog", "shots")


def read_table(path: Path) -> pd.DataFrame | None:
    """A CSV file as a DataFrame; ``None`` if absent."""
    if not path.is_file():
        return None
    try:
        return pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError) as error:
        raise ValueError(f"cannot read {path}: {error}") from None


def eval_metrics(run: RunDir) -> dict | None:
    """``eval/metrics.json``."""
    return read_json(run.eval_dir / "metrics.json")


#: Sub-folders of ``eval/`` that hold something other than results in another survey's look.
EVAL_SUBFOLDERS_NOT_LOOKS = ("judge", "parts", "samples")


def eval_metrics_in_other_looks(run: RunDir) -> dict[str, dict]:
    """``eval/LOOK/metrics.json`` for each survey look the A-P prompts were also scored in
    (``evaluate --domain LOOK --out RUN/eval/LOOK``), by look; empty if none."""
    if not run.eval_dir.is_dir():
        return {}
    folders = sorted(p for p in run.eval_dir.iterdir() if p.is_dir() and p.name not in EVAL_SUBFOLDERS_NOT_LOOKS)
    found = {folder.name: read_json(folder / "metrics.json") for folder in folders}
    return {look: metrics for look, metrics in found.items() if metrics}


def eval_curves(run: RunDir) -> pd.DataFrame | None:
    """``eval/curves.csv``: metrics per checkpoint step and prompt (``all`` = mean)."""
    return read_table(run.eval_dir / "curves.csv")


def eval_pareto(run: RunDir) -> pd.DataFrame | None:
    """``eval/pareto.csv``: the guidance x steps x sampler sweep with front flags."""
    return read_table(run.eval_dir / "pareto.csv")


def eval_tag_response(run: RunDir) -> pd.DataFrame | None:
    """``eval/tag_response.csv``: each labelled answer's slider 0 -> 1.5 at paired seeds,
    as a readable table (answer, measured by, judge change and interval, the change between real
    galaxies without and with the answer where measured, pixel change, works)."""
    table = read_table(run.eval_dir / "tag_response.csv")
    if table is None or not len(table):
        return table
    judged = table.get("judge_delta", pd.Series(float("nan"), index=table.index))
    low = table.get("judge_delta_low", judged)
    high = table.get("judge_delta_high", judged)
    change = ["" if pd.isna(d) else f"{d:+.3f} [{lo:+.3f}, {hi:+.3f}]" for d, lo, hi in zip(judged, low, high)]
    readable = pd.DataFrame(
        {
            "answer": table["tag"],
            "measured by": table["measured_by"].map({"judge": "judge (trusted)", "pixels": "pixels (unjudged)"}),
            "judge p change [95% CI]": change,
            "pixel change / seed difference": table["pixel_ratio"].round(3),
            "works": table["works"].map({True: "yes", False: "no"}),
        }
    )
    if "real_delta" in table:  # written by ``response --real``
        gap = table["real_delta"]
        readable.insert(3, "real galaxies' p change", ["" if pd.isna(g) else f"{g:+.3f}" for g in gap])
    if "tag_guidance" in table:  # the answer boost the weight 1.5 was sampled with (older tables: none)
        readable.insert(len(readable.columns) - 1, "answer boost", table["tag_guidance"])
    return readable


#: result files that record the judge they were scored with (``judge_weights``)
JUDGED_FILES = ("metrics.json", "curves.json", "pareto.json")


def judge_trust(run: RunDir) -> tuple[str, pd.DataFrame] | None:
    """The run judge's trust gate: what it was checked on, and per answer the held-out AUC,
    the positives it was measured on and whether consistency and the sliders judge it."""
    report = read_json(run.eval_dir / "judge" / "report.json")
    if report is None:
        return None
    basis, per_tag = trust_basis(report)
    tags = report.get("tags", [])
    trusted = trusted_in_report(report, tags)
    rows = []
    for tag in tags:
        entry = per_tag.get(tag, {})
        auc = entry.get("auc")
        rows.append(
            {
                "answer": tag,
                "AUC": None if auc is None else round(float(auc), 3),
                "positives": entry.get("n_test_positive"),
                "judged": "yes" if tag in trusted else "no",
            }
        )
    return basis, pd.DataFrame(rows, columns=["answer", "AUC", "positives", "judged"])


def stale_judge_files(run: RunDir) -> list[str]:
    """The result files scored with another judge than the run's ``eval/judge`` (their
    ``judge_weights`` differ from its weights; files that record none are not listed)."""
    current = weights_digest(run.eval_dir / "judge")
    stale = []
    for name in JUDGED_FILES:
        recorded = (read_json(run.eval_dir / name) or {}).get("judge_weights")
        if current and recorded and recorded != current:
            stale.append(name)
    return stale


def eval_histograms(run: RunDir) -> pd.DataFrame | None:
    """``eval/histograms.csv``: physical statistics binned, real vs. generated."""
    return read_table(run.eval_dir / "histograms.csv")


def augment_results(run: RunDir) -> pd.DataFrame | None:
    """``augment/results.csv``: purity / completeness per task and training set."""
    return read_table(run.augment_dir / "results.csv")


def augment_layout(table: pd.DataFrame) -> tuple[str | None, str | None, list[str]]:
    """The task column, the training-set column and the metric columns of an augment table."""
    columns = {c.lower(): c for c in table.columns}
    task = next((columns[c] for c in AUGMENT_TASK_COLUMNS if c in columns), None)
    setting = next((columns[c] for c in AUGMENT_SETTING_COLUMNS if c in columns), None)
    metrics = [columns[c] for c in AUGMENT_METRICS if c in columns]
    return task, setting, metrics


def augment_splits(table: pd.DataFrame) -> dict[str, list[str]]:
    """Values of each split column with more than one value (``all`` first for ``shots``)."""
    splits = {}
    for column in AUGMENT_SPLIT_COLUMNS:
        if column in table:
            values = sorted(table[column].dropna().astype(str).unique(), key=lambda v: (v != "all", v))
            if len(values) > 1:
                splits[column] = values
    return splits


def augment_markdown(run: RunDir) -> str | None:
    """The augmentation job's markdown summary, if it wrote one."""
    found = sorted(run.augment_dir.glob("*.md")) if run.augment_dir.is_dir() else []
    return found[0].read_text() if found else None


def run_domains(run: RunDir) -> list[str]:
    """Survey domains of the run's training data, most data first."""
    shares: dict[str, float] = {}
    for entry in run.config().get("data") or []:
        source = parse_source(entry)
        shares[source.domain] = shares.get(source.domain, 0.0) + source.weight
    return sorted(shares, key=lambda d: -shares[d])


def eval_prompts(run: RunDir) -> tuple[PromptSpec, ...]:
    """The run's evaluation prompts, or the paper's A-P set in the run's survey domain."""
    metrics = eval_metrics(run)
    if metrics and metrics.get("prompts"):
        return tuple(PromptSpec(p["key"], p.get("label", p["key"]), p["prompt"]) for p in metrics["prompts"])
    domains = run_domains(run)
    return tuple(with_domain(p, domains[0]) for p in PAPER_PROMPTS) if domains else PAPER_PROMPTS


def _folder_size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20 if folder.is_dir() else 0.0


def run_summary(run: RunDir) -> dict:
    """What a run is: status, steps, model preset and size, and its training data."""
    config = run.config()
    log = run.train_log()
    last = log.iloc[-1].to_dict() if len(log) else {}
    return {
        "status": config.get("status", "unknown"),
        "steps": int(config.get("steps") or last.get("step") or 0),
        "max_steps": config.get("max_steps"),
        "model": config.get("model") if isinstance(config.get("model"), str) else "custom",
        "image_size": model_image_size(run),
        "model_mb": round(_folder_size_mb(run.model_dir), 1),
        "last_loss": last.get("loss"),
        "wall_minutes": round(config["wall_s"] / 60, 1) if config.get("wall_s") else None,
        "data": pd.DataFrame(config.get("data_summary") or []),
        "domains": run_domains(run),
    }


def training_outcome(summary: dict, config: dict) -> str:
    """Why training ended, in words: finished its steps, reached its time budget, or running."""
    status = summary["status"]
    budget = config.get("time_budget_minutes")
    if status == "training":
        return "training now"
    if summary["max_steps"] and summary["steps"] >= summary["max_steps"]:
        return f"finished all {summary['max_steps']:,} steps"
    if budget and summary["wall_minutes"] and summary["wall_minutes"] >= 0.95 * float(budget):
        return f"stopped at its {float(budget):g}-minute time budget"
    return status


CLEAN_SAMPLERS = ("dpmpp_sde", "euler_a")  # stochastic: no fine speckle (benchmarks/bench_grain.py)


def best_sampling(run: RunDir, fallback: dict, prefer: tuple[str, ...] = CLEAN_SAMPLERS) -> dict:
    """The sampling settings with the most realistic images of the run's Pareto sweep: the
    lowest Fréchet distance (mean over prompts) among the points on the realism-consistency
    front of the ``prefer`` samplers (people see the deterministic solver's speckle); when the
    front has none of theirs, among all their points of the sweep; with no ``prefer`` points at
    all, on the front. ``fallback`` (``steps``, ``guidance_scale``, ``sampler``) when there is
    no sweep."""
    pareto = eval_pareto(run)
    if pareto is None or "prompt" not in pareto or "pareto_realism_consistency" not in pareto:
        return dict(fallback)
    mean = pareto[(pareto["prompt"] == "all") & pareto["frechet"].notna()]
    front = mean[mean["pareto_realism_consistency"].astype(bool)]
    preferred = mean[mean["sampler"].isin(prefer)]
    preferred_on_front = preferred[preferred["pareto_realism_consistency"].astype(bool)]
    for candidates in (preferred_on_front, preferred, front):
        if len(candidates):
            best = candidates.sort_values("frechet").iloc[0]
            return {
                "steps": int(best["steps"]),
                "guidance_scale": float(best["guidance"]),
                "sampler": str(best["sampler"]),
            }
    return dict(fallback)


def model_card(run: RunDir) -> tuple[dict, str] | None:
    """The run's model card (``README.md`` in the Hugging Face format): its YAML metadata and
    its markdown body; ``None`` when the run has none. Unreadable metadata gives ``{}``."""
    path = run.path / "README.md"
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8", errors="replace")
    if text.startswith("---\n") and "\n---\n" in text[4:]:
        header, body = text[4:].split("\n---\n", 1)
        try:
            metadata = yaml.safe_load(header)
        except yaml.YAMLError:
            metadata = None
        return (metadata if isinstance(metadata, dict) else {}), body.strip()
    return {}, text.strip()


def finite(value) -> bool:
    """True for a real, finite number."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def format_number(value, spec: str = ".3f") -> str:
    """``value`` formatted with ``spec``, or ``n/a`` when missing or not finite."""
    return format(value, spec) if finite(value) else "n/a"
