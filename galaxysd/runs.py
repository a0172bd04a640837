"""Run directories: the one contract between the jobs and the app.

```
runs/<name>/
  config.yaml          what was trained, on what data, with which seed
  model/               the pipeline (safetensors only)
  checkpoints/         resumable training state (step_XXXXXXX/)
  samples/             seeded sample grids written during training
  train_log.jsonl      one line per logged step
  eval/                metrics.json, curves.csv, pareto.csv, samples/*.png
  augment/results.csv  purity / completeness per task, real vs real+synthetic
  discover/candidates.csv + thumbs/
```
The repository ships one run, ``assets/default-run``, so everything works on a fresh clone.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_RUN = REPO_ROOT / "assets" / "default-run"
RUNS_ROOT = REPO_ROOT / "runs"
CANDIDATE_RUNS = REPO_ROOT / "assets" / "candidate-runs"  # kept earlier defaults and rival models
DEFAULT_CACHE_ROOT = REPO_ROOT / ".data" / "cache"


@dataclass(frozen=True)
class RunDir:
    """Read-only accessors for one run directory."""

    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def model_dir(self) -> Path:
        return self.path / "model"

    @property
    def eval_dir(self) -> Path:
        return self.path / "eval"

    @property
    def augment_dir(self) -> Path:
        return self.path / "augment"

    @property
    def discover_dir(self) -> Path:
        return self.path / "discover"

    @property
    def samples_dir(self) -> Path:
        return self.path / "samples"

    def has_model(self) -> bool:
        """True once training has written ``model/``."""
        return (self.model_dir / "model_index.json").is_file()

    def config(self) -> dict:
        """``config.yaml`` as a dict (empty when absent)."""
        path = self.path / "config.yaml"
        return yaml.safe_load(path.read_text()) or {} if path.is_file() else {}

    def train_log(self) -> pd.DataFrame:
        """``train_log.jsonl`` as a DataFrame (skips a half-written last line)."""
        path = self.path / "train_log.jsonl"
        rows = []
        if path.is_file():
            for line in path.read_text().splitlines():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return pd.DataFrame(rows)

    def sample_grids(self) -> list[Path]:
        """Training sample grids, oldest first."""
        return sorted(self.samples_dir.glob("step_*.png")) if self.samples_dir.is_dir() else []


def list_runs(roots: tuple[Path, ...] = (DEFAULT_RUN.parent, RUNS_ROOT)) -> list[RunDir]:
    """Every run directory (a folder with ``config.yaml``) under the given roots."""
    found: list[RunDir] = []
    for root in roots:
        if not Path(root).is_dir():
            continue
        for child in sorted(Path(root).iterdir()):
            if child.is_dir() and (child / "config.yaml").is_file():
                found.append(RunDir(child))
    return found


def resolve_project_path(path: str | Path) -> Path:
    """A path from a run's config: absolute as is, relative ones taken from the project root."""
    path = Path(path)
    return path if path.is_absolute() else REPO_ROOT / path


def read_json(path: Path) -> dict | None:
    """A JSON file (``NaN`` allowed); ``None`` if absent."""
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ValueError(f"cannot read {path}: {error}") from None


def model_image_size(run: RunDir) -> int | None:
    """Side in pixels of the images the run's model makes (``None`` without a model)."""
    index = read_json(run.model_dir / "model_index.json")
    return int(index.get("image_size", 64)) if index else None


def weights_digest(folder: Path | None, name: str = "model.safetensors") -> str | None:
    """The first 16 hex digits of the SHA-256 of ``folder/name`` (``None`` when absent): which
    judge an evaluation file was scored with, checkable against the judge a run ships."""
    path = Path(folder) / name if folder is not None else None
    if path is None or not path.is_file():
        return None
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]
