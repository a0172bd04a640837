"""Training from the app: a validated request -> a ``python -m galaxysd.train`` background job,
and its progress read back from the run directory."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from galaxysd.app.jobs import JobStatus, module_command, start_job
from galaxysd.data.loaders import LOADERS
from galaxysd.runs import RUNS_ROOT, RunDir, resolve_project_path
from galaxysd.training.checkpoints import checkpoint_dirs
from galaxysd.training.config import SOURCE_FORM, TrainConfig, parse_source, source_text

KIND = "train"
RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


DEMO_ON_DEMAND = 2000  # galaxies of a demo survey the job makes when its folder is missing


def check_catalog_exists(spec: str, demo_on_demand: bool = False) -> None:
    """``ValueError`` in plain words when a catalog's kind is unknown or its folder is missing
    (a missing ``demo:`` folder is fine with ``demo_on_demand``: the job makes it first)."""
    kind, _, rest = spec.partition(":")
    if kind not in LOADERS:
        raise ValueError(f"unknown catalog kind {kind!r} in {spec!r}; use one of {', '.join(LOADERS)}")
    path = rest.split("?", 1)[0]
    if kind == "demo" and demo_on_demand:
        return
    if not resolve_project_path(path).exists():
        hint = f"; make it with: python -m galaxysd.data demo --n 10000 --out {path}" if kind == "demo" else ""
        raise ValueError(f"catalog folder {path!r} does not exist{hint}")


@dataclass
class TrainingRequest:
    """The main options of a training run, as the app's form offers them."""

    name: str
    data: list[str] = field(default_factory=list)  # SPEC[@DOMAIN][*WEIGHT][+SIMULATION] per source
    model: str = "cpu-default"
    max_steps: int = 2000
    batch_size: int = 32
    learning_rate: float = 5e-4
    time_budget_minutes: float | None = None
    checkpoint_every: int = 500
    sample_every: int = 500
    seed: int = 0
    resume: bool = False
    make_missing_demo: bool = True  # render a missing demo: survey before training

    @property
    def run_dir(self) -> Path:
        return RUNS_ROOT / self.name

    def validate(self) -> "TrainingRequest":
        """Raise ``ValueError`` with a clear message on a bad name, data line or number."""
        if not RUN_NAME.match(self.name or ""):
            raise ValueError("the run name may use letters, digits, '.', '_' and '-' (at most 64)")
        data = [line.strip() for line in self.data if line.strip()]
        if not data:
            raise ValueError("give at least one training catalog, e.g. demo:.data/demo@demo")
        sources = []
        for line in data:
            if ":" not in line.split("@")[0]:
                raise ValueError(f"catalog {line!r} must look like {SOURCE_FORM.replace('SPEC', 'KIND:PATH')}")
            sources.append(parse_source(line))
            check_catalog_exists(sources[-1].catalog, demo_on_demand=self.make_missing_demo)
        config = TrainConfig(
            run_dir=str(self.run_dir),
            data=sources,
            model=self.model,
            max_steps=self.max_steps,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            seed=self.seed,
            time_budget_minutes=self.time_budget_minutes,
            checkpoint_every=self.checkpoint_every,
            sample_every=self.sample_every,
        )
        config.validate()
        if checkpoint_dirs(self.run_dir) and not self.resume:
            raise ValueError(
                f"runs/{self.name} already has checkpoints: tick 'resume' to continue it, or choose a new name"
            )
        self.data = data
        return self

    def command(self) -> list[str]:
        """The training command line."""
        options = {
            "run_dir": self.run_dir,
            "data": self.data,
            "model": self.model,
            "max_steps": self.max_steps,
            "batch_size": self.batch_size,
            "learning_rate": self.learning_rate,
            "seed": self.seed,
            "time_budget_minutes": self.time_budget_minutes,
            "checkpoint_every": self.checkpoint_every,
            "sample_every": self.sample_every,
            "resume": "latest" if self.resume else None,
            "make_missing_demo": DEMO_ON_DEMAND if self.make_missing_demo else None,
        }
        return module_command("galaxysd.train", options)


def data_lines(run: RunDir, available_only: bool = False) -> list[str]:
    """A run's training data in the ``SPEC@DOMAIN*WEIGHT[+SIMULATION]`` form the request takes;
    ``available_only`` keeps the catalogs this machine has (and demo surveys, made on demand)."""
    lines = []
    for entry in run.config().get("data") or []:
        source = parse_source(entry)
        if available_only:
            try:
                check_catalog_exists(source.catalog, demo_on_demand=True)
            except ValueError:
                continue
        lines.append(source_text(source))
    return lines


def start_training(request: TrainingRequest) -> JobStatus:
    """Validate the request and launch training in the background (one at a time)."""
    request.validate()
    return start_job(KIND, request.command(), run_dir=str(request.run_dir))


def training_progress(run_dir: str | Path) -> dict:
    """Progress of a run: ``step``, ``max_steps``, ``fraction``, ``loss``, ``images_per_s``, ``log``."""
    run = RunDir(Path(run_dir))
    log = run.train_log()
    max_steps = int(run.config().get("max_steps") or 0)
    step = int(log["step"].iloc[-1]) if len(log) else 0
    last = log.iloc[-1] if len(log) else {}
    return {
        "step": step,
        "max_steps": max_steps,
        "fraction": min(1.0, step / max_steps) if max_steps else 0.0,
        "loss": last.get("loss") if len(log) else None,
        "images_per_s": last.get("images_per_s") if len(log) else None,
        "log": log,
    }
