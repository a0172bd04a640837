"""The README's results tables, generated from a run's files so they cannot drift.

Each table sits in the README between ``<!-- results:NAME -->`` and ``<!-- /results:NAME -->``;
``python -m galaxysd.evaluation.results_tables --run assets/default-run --readme README.md``
rewrites them from ``eval/metrics.json``, ``augment/results.csv`` and
``discover/demo_eval.json``, and ``--check`` exits 1 (naming the table) when the README
differs from the files (``tests/test_readme_numbers.py`` runs it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from galaxysd.cli import JobParser, run_cli
from galaxysd.runs import RunDir, read_json

SHOTS = (10, 30, 100)
SETTING_CELL = "real -> real+synthetic (reweighted)"
DISCOVERY_K = (25, 200)
_CATALOG_NAMES = {"demo": "demo", "gz1": "GZ1 (real SDSS)", "gz2": "GZ2 excerpt"}


def _number(value, digits: int = 2) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:.{digits}f}"


def _figures(value) -> str:
    """Three significant figures, no exponent (1.10, 12.5, 192)."""
    if value is None or pd.isna(value):
        return "–"
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def evaluation_table(run: RunDir) -> str:
    """Per prompt with enough real galaxies to compare with: consistency (generated, real ceiling), Fréchet / floor,
    diversity; then the mean over every prompt (``eval/metrics.json``)."""
    metrics = read_json(run.eval_dir / "metrics.json")
    if not metrics:
        raise ValueError(f"{run.eval_dir / 'metrics.json'} is missing: run python -m galaxysd.evaluate first")
    lines = [
        "| prompt (A-P) | real images | consistency, generated | consistency, real (ceiling) "
        "| Fréchet / real-vs-real floor | diversity vs real |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    with_real = [p for p in metrics["prompts"] if p.get("frechet") is not None]  # enough real galaxies
    for p in with_real:
        lines.append(
            f"| {p['key']} {p['label']} | {p['n_real']} | {_number(p['consistency'])} "
            f"| {_number(p['consistency_real'])} | {_figures(p['frechet'])} / {_figures(p['frechet_floor'])} "
            f"| {_number(p['diversity'])} |"
        )
    s = metrics["summary"]
    lines.append(
        f"| **mean** ({len(metrics['prompts'])} prompts; real: the {len(with_real)} above) | "
        f"| **{_number(s['consistency'])}** | **{_number(s['consistency_real'])}** "
        f"| **{_figures(s['frechet'])} / {_figures(s['frechet_floor'])}** | **{_number(s['diversity'])}** |"
    )
    return "\n".join(lines)


def _catalog_name(catalog: str) -> str:
    return _CATALOG_NAMES.get(catalog.split(":", 1)[0], catalog)


def augmentation_table(run: RunDir) -> str:
    """How often synthetic galaxies raised or lowered F1 (by the bootstrap interval), and F1
    real -> real+synthetic (reweighted) per task at 10/30/100 real positives."""
    table = pd.read_csv(run.augment_dir / "results.csv")
    studied = table[table["training"].notna()]
    gains = studied[studied["training"] == "real+synthetic"]
    raised = int((gains["f1_gain_low"] > 0).sum())
    lowered = int((gains["f1_gain_high"] < 0).sum())
    lines = [
        f"Adding synthetic galaxies to the rare side raised F1 in {raised} of {len(gains)} settings and "
        f"lowered it in {lowered} (95% interval of the paired gain above or below zero); "
        f"the other {len(gains) - raised - lowered} are unchanged within their intervals.",
        "",
        "| catalog, task | " + " | ".join(f"{k} real positives: {SETTING_CELL}" for k in SHOTS) + " |",
        "|---|" + "---|" * len(SHOTS),
    ]
    f1 = studied.pivot_table(index=["catalog", "task", "shots"], columns="training", values="f1")
    for (catalog, task), group in f1.groupby(level=[0, 1], sort=False):
        cells = []
        for shots in SHOTS:
            key = (catalog, task, float(shots))
            if key not in group.index:
                cells.append("–")
                continue
            row = group.loc[key]
            cells.append(
                f"{_number(row.get('real'))} -> {_number(row.get('real+synthetic'))} ({_number(row.get('reweighted'))})"
            )
        lines.append(f"| {_catalog_name(catalog)}, {task} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


DETECTOR_NAMES = {
    "augmented": "synthetic + real positives",
    "real_only": "real positives only",
    "combined": "mean of both",
}
RANKING_MARK = " (the search's ranking)"


def detector_name(kind: str, ranked_by: str | None) -> str:
    """A detector's name in the tables, marked where it is the one the search ranks by."""
    return DETECTOR_NAMES.get(kind, kind) + (RANKING_MARK if kind == ranked_by else "")


def discovery_table(run: RunDir) -> str:
    """Held-out recall of the dusty early-type detectors on surveys with planted truth."""
    evaluation = read_json(run.discover_dir / "demo_eval.json")
    if not evaluation:
        raise ValueError(f"{run.discover_dir / 'demo_eval.json'} is missing: run python -m galaxysd.discover first")
    header = " | ".join(f"recall in top {k}" for k in DISCOVERY_K)
    lines = [f"| catalog, detector | held-out true | {header} | average precision |", "|---|---:|" + "---:|" * 3]
    summary = read_json(run.discover_dir / "summary.json") or {}
    for catalog, result in evaluation.items():
        ranked_by = summary.get(catalog, {}).get("ranked_by")
        rows = [("chance", result["chance"])] + [
            (detector_name(k, ranked_by), v) for k, v in result["detectors"].items() if isinstance(v, dict)
        ]
        for name, scores in rows:
            recalls = " | ".join(f"{scores[f'recall_at_{k}']:.0%}" for k in DISCOVERY_K)
            lines.append(
                f"| {_catalog_name(catalog)}, {name} | {result['n_true']} | {recalls} "
                f"| {_number(scores.get('average_precision'))} |"
            )
    return "\n".join(lines)


FEW_POSITIVES_KEY = "few_real_positives"  # demo_eval.json key that python -m galaxysd.discover writes


def few_positive_frame(run: RunDir) -> pd.DataFrame | None:
    """The few-real-positives study of ``discover/demo_eval.json`` (``None`` when absent): per
    catalog, budget and detector the mean held-out recall in the top 50 and 200 and average
    precision over the draws of real positives."""
    rows = []
    for catalog, result in (read_json(run.discover_dir / "demo_eval.json") or {}).items():
        for k, detectors in result.get(FEW_POSITIVES_KEY, {}).items():
            ranked_by = detectors.get("ranked_by")  # written by the study since the rule depends on k
            for kind, scores in detectors.items():
                if not isinstance(scores, dict):
                    continue  # a reason it was not run
                name = "synthetic positives only" if int(k) == 0 else detector_name(kind, ranked_by)
                rows.append(
                    {
                        "catalog": _catalog_name(catalog),
                        "real positives": int(k),
                        "detector": name,
                        "held-out true": result["n_true"],
                        "recall in top 50": scores["recall_at_50"],
                        "recall in top 200": scores["recall_at_200"],
                        "average precision": scores["average_precision"],
                        "draws": len(scores.get("draws", [])),
                    }
                )
    return pd.DataFrame(rows) if rows else None


def few_positives_table(run: RunDir) -> str:
    """Detectors given 0, 3 or 7 real positives, with and without the synthetic set."""
    frame = few_positive_frame(run)
    if frame is None:
        raise ValueError(
            f"{run.discover_dir / 'demo_eval.json'} has no {FEW_POSITIVES_KEY}: rerun python -m galaxysd.discover"
        )
    lines = [
        "| catalog, real positives, detector | held-out true | recall in top 50 | recall in top 200 "
        "| average precision | draws |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in frame.to_dict("records"):
        lines.append(
            f"| {r['catalog']}, {r['real positives']}, {r['detector']} | {r['held-out true']} "
            f"| {r['recall in top 50']:.0%} | {r['recall in top 200']:.0%} | {_number(r['average precision'])} "
            f"| {r['draws']} |"
        )
    return "\n".join(lines)


TABLES: dict[str, Callable[[RunDir], str]] = {
    "evaluation": evaluation_table,
    "augmentation": augmentation_table,
    "discovery": discovery_table,
    "few_positives": few_positives_table,
}


def _block(name: str) -> re.Pattern:
    return re.compile(rf"(<!-- results:{name} [^>]*-->\n)(.*?)(\n<!-- /results:{name} -->)", re.S)


def render_readme(text: str, run: RunDir) -> str:
    """``text`` with every results block regenerated from ``run``'s files."""
    for name, make in TABLES.items():
        pattern = _block(name)
        if not pattern.search(text):
            raise ValueError(f"the README has no <!-- results:{name} ... --> block")
        table = make(run)
        text = pattern.sub(lambda match, table=table: match.group(1) + table + match.group(3), text)
    return text


def stale_tables(text: str, run: RunDir) -> list[str]:
    """Names of the README's results blocks that differ from ``run``'s files."""
    stale = []
    for name, make in TABLES.items():
        match = _block(name).search(text)
        if match is None or match.group(2) != make(run):
            stale.append(name)
    return stale


def main(argv: list[str] | None = None) -> int:
    """Command line: rewrite (or ``--check``) the README's results tables."""

    def body() -> str:
        parser = JobParser(prog="python -m galaxysd.evaluation.results_tables", description=__doc__.split("\n")[0])
        parser.add_argument("--run", default="assets/default-run", help="run directory the numbers come from")
        parser.add_argument("--readme", default="README.md")
        parser.add_argument("--check", action="store_true", help="only check; exit 1 when a table is out of date")
        args = parser.parse_args(argv)
        readme, run = Path(args.readme), RunDir(Path(args.run))
        text = readme.read_text()
        if args.check:
            stale = stale_tables(text, run)
            if stale:
                names = ", ".join(stale)
                raise ValueError(f"README tables out of date with {run.path}: {names} (rerun without --check)")
            return f"README tables match {run.path}"
        readme.write_text(render_readme(text, run))
        return f"rewrote the results tables of {readme} from {run.path}"

    return run_cli(body)


if __name__ == "__main__":
    raise SystemExit(main())
