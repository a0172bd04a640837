"""Write a run's answer prior (:mod:`galaxysd.model.answer_prior`), during training or after.

The training job calls :func:`write_training_prior` with its batches' labels; for a run trained
before the prior existed, ``python -m galaxysd.training.prior_job --run assets/default-run``
rebuilds ``RUN/answer_prior.csv`` from the catalogs its ``config.yaml`` names (labels only; no
image is read).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from galaxysd.cli import JobParser, run_cli
from galaxysd.data.conditions import condition_matrix
from galaxysd.data.loaders import load_catalog_spec
from galaxysd.model.answer_prior import write_answer_prior
from galaxysd.model.saving import load_pipeline
from galaxysd.runs import RunDir
from galaxysd.training.batches import DataSource, TrainingSet
from galaxysd.training.config import real_source_indices, saved_train_config


def write_training_prior(run_dir: Path, data: TrainingSet, sources: Sequence[DataSource], tags) -> Path:
    """``RUN/answer_prior.csv`` from the training set's real sources (:func:`real_source_indices`)."""
    real = real_source_indices(sources)
    return write_answer_prior(run_dir, [data.conditions[i] for i in real], [sources[i].domain for i in real], tags)


def prior_from_config(run: RunDir) -> Path:
    """Rebuild ``RUN/answer_prior.csv`` from the labels of the catalogs the run's config names."""
    config = saved_train_config(run.path)
    tags = list(load_pipeline(run.model_dir, device="cpu").tag_encoder.tags)
    real = [config.data[i] for i in real_source_indices(config.data)]
    conditions = []
    for source in real:
        catalog = load_catalog_spec(source.catalog)
        catalog = catalog[catalog["image_path"].astype(str).str.len() > 0].reset_index(drop=True)
        conditions.append(condition_matrix(catalog, tags, domain=source.domain, threshold=config.threshold))
    return write_answer_prior(run.path, conditions, [source.domain for source in real], tags)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m galaxysd.training.prior_job --run RUN``."""

    def body() -> str:
        parser = JobParser(prog="python -m galaxysd.training.prior_job", description=__doc__.split("\n")[0])
        parser.add_argument("--run", required=True, help="run directory with config.yaml and model/")
        args = parser.parse_args(argv)
        return f"answer prior written to {prior_from_config(RunDir(Path(args.run)))}"

    return run_cli(body)


if __name__ == "__main__":
    raise SystemExit(main())
