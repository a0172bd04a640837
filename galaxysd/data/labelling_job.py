"""``python -m galaxysd.data label``: derived GZ2 answers for a catalog with coarse labels.

1. Measure the shape of every galaxy of the catalog and of the calibration galaxies
   (:mod:`galaxysd.data.shape_measure`); measurements are kept in ``OUT/measurements.csv``
   by image path, so a rerun (or a run after a kill) measures only what is new.
2. Calibration galaxies: those of a GZ2 catalog with images and real votes (look
   ``gz2cyan`` for the ``gz2-sample`` excerpt), plus the catalog's own galaxies that are rows
   of the same Hart16 table (look ``sdss``: the standard look).
3. Fit and check each question of :data:`~galaxysd.data.derived_labels.DERIVED_QUESTIONS`,
   write ``OUT/label_report.csv`` (held-out AUC and calibration per answer), and
   ``OUT/derived_labels.csv`` (id, measurements, failure, the passing answers' fractions,
   ``derived_answers``). Load the labels with the catalog option
   ``?labels=OUT/derived_labels.csv``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from galaxysd.atomic_files import write_csv
from galaxysd.data.derived_labels import DERIVED_QUESTIONS, QuestionFit, derive_labels, fit_question
from galaxysd.data.label_join import join_derived_labels  # noqa: F401 - part of this job's API
from galaxysd.data.loaders import load_catalog_spec
from galaxysd.data.shape_measure import MEASUREMENTS, measure_cached

REPORT_NAME, LABELS_NAME = "label_report.csv", "derived_labels.csv"


def hart16_table(gz2_spec: str) -> pd.DataFrame:
    """The GZ2 catalog's Hart16 rows: debiased fractions and, per question, its vote count
    (``{task}_votes``, summed over the answers' ``_count`` columns where the table has them)."""
    catalog = load_catalog_spec(gz2_spec)
    table_path = Path(catalog.attrs["load_report"].origin)
    counts = pd.read_csv(table_path, usecols=lambda c: c == "dr7objid" or c.endswith("_count"), dtype={"dr7objid": str})
    votes = pd.DataFrame({"id": counts["dr7objid"].astype(str)})
    for task in DERIVED_QUESTIONS:
        columns = [c for c in counts.columns if c.startswith(task + "_")]
        votes[f"{task}_votes"] = counts[columns].sum(axis=1) if columns else np.nan
    return catalog.merge(votes, on="id", how="left")


@dataclass
class LabellingResult:
    """What the job wrote: the labels, the report, and how many images failed."""

    labels: pd.DataFrame
    report: pd.DataFrame
    failures: dict[str, int]


def run_labelling(
    catalog_spec: str, calibration_spec: str, out_dir: str | Path, calibration_look: str = "gz2cyan"
) -> LabellingResult:
    """Derive labels for ``catalog_spec``, calibrated on ``calibration_spec`` (a ``gz2:``
    catalog with images and votes, whose images have the look ``calibration_look``: the
    shared excerpt's cyan rendering by default, ``sdss`` for the full GZ2 release's images);
    writes the three files into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    catalog = load_catalog_spec(catalog_spec).reset_index(drop=True)
    catalog = catalog[catalog["image_path"] != ""].reset_index(drop=True)
    if catalog.empty:
        raise ValueError(f"{catalog_spec} holds no images to measure")
    votes = hart16_table(calibration_spec)
    imaged = votes[votes["image_path"].map(lambda p: bool(p) and Path(p).is_file())].reset_index(drop=True)
    overlap = catalog[catalog["id"].astype(str).isin(set(votes["id"]))]
    standard = votes.set_index("id").loc[overlap["id"].astype(str)].reset_index()
    standard["image_path"] = overlap["image_path"].to_numpy()
    standard["look"] = "sdss"
    imaged["look"] = calibration_look
    calibration = pd.concat([imaged, standard], ignore_index=True)
    calibration = pd.concat(
        [calibration, measure_cached(calibration["image_path"], out_dir, "measuring calibration galaxies")], axis=1
    )
    measured = measure_cached(catalog["image_path"], out_dir, "measuring catalog galaxies")
    fits: list[QuestionFit] = [fit_question(calibration, task) for task in DERIVED_QUESTIONS]
    report = pd.concat([fit.report for fit in fits], ignore_index=True)
    labels = derive_labels(catalog, measured, fits)
    labels = pd.concat(
        [labels[["id"]], measured[list(MEASUREMENTS)], measured[["failure"]], labels.drop(columns="id")], axis=1
    )
    write_csv(out_dir / REPORT_NAME, report)
    write_csv(out_dir / LABELS_NAME, labels)
    failures = {k: int(v) for k, v in measured["failure"].replace("", np.nan).value_counts().items()}
    return LabellingResult(labels, report, failures)
