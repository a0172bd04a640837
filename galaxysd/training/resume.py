"""Resuming a run safely: the settings a resume must keep, and the append-only training log.

A resume that changed the seed, batch size, data, model or prediction type would silently mix
two experiments in one run directory, so it is refused with the differences named (``--force``
overrides and records them). ``--resume latest`` on a run without a checkpoint never touches an
existing ``train_log.jsonl``.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from galaxysd.training.config import TrainConfig

RESUME_KEYS = (
    "seed",
    "batch_size",
    "data",
    "model",
    "prediction_type",
    "pretrained",
    "lora_rank",
    "train_text_encoder",
)


def saved_config(run_dir: Path) -> dict:
    """The run's ``config.yaml`` as written by training (empty when absent)."""
    path = Path(run_dir) / "config.yaml"
    return (yaml.safe_load(path.read_text()) or {}) if path.is_file() else {}


def resume_differences(saved: dict, config: TrainConfig) -> list[str]:
    """``"key: old -> new"`` for each setting a resume must keep that differs from the run's."""
    current = config.to_dict()
    return [
        f"{key}: {saved[key]!r} -> {current[key]!r}"
        for key in RESUME_KEYS
        if key in saved and saved[key] != current[key]
    ]


def check_resume(run_dir: Path, config: TrainConfig, has_checkpoint: bool, force: bool = False) -> list[str]:
    """Refuse an unsafe ``--resume latest`` with a one-line ``ValueError``; returns the
    differences accepted with ``force`` (empty when none)."""
    log_path = Path(run_dir) / "train_log.jsonl"
    if not has_checkpoint:
        if log_path.is_file() and log_path.stat().st_size > 0:
            raise ValueError(
                f"nothing to resume in {run_dir}: it has no checkpoint, and its train_log.jsonl is kept; "
                "choose a new --run-dir or remove that run"
            )
        return []
    differences = resume_differences(saved_config(run_dir), config)
    if differences and not force:
        raise ValueError(
            f"cannot resume {run_dir} with changed settings ({'; '.join(differences)}); pass --force to override"
        )
    return differences


class JsonlLog:
    """``train_log.jsonl``: one JSON object per line, truncated to a step on resume."""

    def __init__(self, path: Path, resume_step: int | None):
        self.path = path
        if resume_step is not None and path.exists():
            kept = [
                line
                for line in path.read_text().splitlines()
                if line.strip() and json.loads(line).get("step", 0) <= resume_step
            ]
            tmp = path.with_suffix(".tmp")
            tmp.write_text("".join(line + "\n" for line in kept))
            tmp.replace(path)
        elif path.exists():
            path.unlink()

    def write(self, record: dict) -> None:
        with self.path.open("a") as handle:
            handle.write(json.dumps(record) + "\n")
