"""The training data report: per source and answer, how many galaxies carry the answer, where
the label comes from, and how often training batches show it.

The training job writes it as ``RUN/data_report.csv``; the app reads it to mark sliders of
answers the run never saw labelled. For a run trained before the report existed:
``python -m galaxysd.training.data_report --run assets/default-run`` rebuilds it from the
run's ``config.yaml`` (the image caches are reused or rebuilt).

Columns: ``catalog, domain, tag, galaxies, galaxy_share, provenance, sampling_share``, where
``provenance`` is the mix of label sources of the galaxies with the answer (``votes``,
``derived`` from measured shapes, ``catalogue``: a published table), and
``sampling_share`` is the expected fraction of all training draws that are galaxies of this
source with this answer (source share x the draw probability of its galaxies with it).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from galaxysd import morphology
from galaxysd.atomic_files import write_csv
from galaxysd.cli import JobParser, run_cli
from galaxysd.model.saving import load_pipeline
from galaxysd.runs import RunDir
from galaxysd.training.batches import PROVENANCE, TrainingSet, load_training_set
from galaxysd.training.config import saved_train_config

REPORT_FILE = "data_report.csv"
COLUMNS = ["catalog", "domain", "tag", "galaxies", "galaxy_share", "provenance", "sampling_share"]


def data_report(data: TrainingSet, tags: Sequence[str], domains: Sequence[str]) -> pd.DataFrame:
    """One row per source and answer tag (survey tags left out), in tree order."""
    rows = []
    answers = [(i, t) for i, t in enumerate(tags) if t not in morphology.DOMAIN_TAGS]
    for s, (name, conditions) in enumerate(zip(data.names, data.conditions)):
        n = len(conditions)
        draws = data.draw_weights[s] if data.draw_weights is not None else np.full(n, 1.0 / max(n, 1))
        codes = data.provenance[s] if data.provenance is not None else np.zeros(conditions.shape, np.uint8)
        for column, tag in answers:
            positive = conditions[:, column] > 0
            rows.append(
                {
                    "catalog": name,
                    "domain": domains[s],
                    "tag": tag,
                    "galaxies": int(positive.sum()),
                    "galaxy_share": round(float(positive.mean()) if n else 0.0, 4),
                    "provenance": provenance_mix(codes[positive, column]),
                    "sampling_share": round(float(data.shares[s] * draws[positive].sum()), 5),
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS)


def provenance_mix(codes: np.ndarray) -> str:
    """``"votes"``, or a mix such as ``"votes 81%, catalogue 19%"`` ("" for no galaxy)."""
    if len(codes) == 0:
        return ""
    counts = np.bincount(codes.astype(int), minlength=len(PROVENANCE))
    used = [(PROVENANCE[i], c / len(codes)) for i, c in enumerate(counts) if c]
    return used[0][0] if len(used) == 1 else ", ".join(f"{name} {share:.0%}" for name, share in used)


def write_data_report(run_dir: Path, data: TrainingSet, tags: Sequence[str], domains: Sequence[str]) -> Path:
    """Write ``RUN/data_report.csv`` atomically; returns its path."""
    path = Path(run_dir) / REPORT_FILE
    write_csv(path, data_report(data, tags, domains))
    return path


def read_data_report(run: RunDir) -> pd.DataFrame | None:
    """The run's data report, or ``None`` when it has none (or it cannot be read)."""
    path = run.path / REPORT_FILE
    if not path.is_file():
        return None
    try:
        table = pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError):
        return None
    return table if set(COLUMNS) <= set(table.columns) else None


def labelled_tags(report: pd.DataFrame, domain: str | None = None) -> set[str]:
    """Answer tags with at least one labelled galaxy (in ``domain``'s sources when given)."""
    rows = report if domain is None else report[report["domain"] == domain]
    return set(rows.loc[rows["galaxies"] > 0, "tag"])


def simulated_rows(report: pd.DataFrame) -> pd.Series:
    """Per report row, whether every one of its labels is simulated (provenance ``simulated``);
    all False for a report without the provenance column."""
    if "provenance" not in report:
        return pd.Series(False, index=report.index)
    return report["provenance"].fillna("").astype(str) == "simulated"


def simulated_only_tags(report: pd.DataFrame, domain: str | None = None) -> set[str]:
    """Answer tags whose labelled galaxies (in ``domain``'s sources when given) are all simulated
    (a ``+dust_lane`` source's dust lanes where no real galaxy of the survey has one)."""
    rows = report if domain is None else report[report["domain"] == domain]
    rows = rows[rows["galaxies"] > 0]
    simulated = simulated_rows(rows)
    return set(rows.loc[simulated, "tag"]) - set(rows.loc[~simulated, "tag"])


def main(argv: Sequence[str] | None = None) -> int:
    """Rebuild a run's data report from its config (for runs trained before the report)."""

    def body() -> str:
        parser = JobParser(prog="python -m galaxysd.training.data_report", description=__doc__.split("\n")[0])
        parser.add_argument("--run", required=True, help="run directory with config.yaml and model/")
        parser.add_argument("--cache-dir", help="image caches (default: the run's cache_dir)")
        args = parser.parse_args(argv)
        run = RunDir(Path(args.run))
        config = saved_train_config(run.path)
        pipe = load_pipeline(run.model_dir, device="cpu")
        tags = list(pipe.tag_encoder.tags)
        data = load_training_set(
            config.data,
            Path(args.cache_dir or config.cache_dir),
            int(pipe.config.image_size),
            tags,
            config.threshold,
            config.workers,
            balanced=config.balanced_sampling,
            balance_by=config.balance_by,
            balance_power=config.balance_power,
        )
        path = write_data_report(run.path, data, tags, [d.domain for d in config.data])
        return f"data report written to {path}"

    return run_cli(body)


if __name__ == "__main__":
    raise SystemExit(main())
