"""Where the app keeps its own files, and which runs it offers.

The app data folder (``GALAXYSD_HOME``, default ``.galaxysd/`` in the project root) holds
the SQLite database and the status files of background jobs. ``GALAXYSD_DATABASE_URL``
points the database anywhere SQLAlchemy can reach (e.g. PostgreSQL); ``GALAXYSD_RUN``
names the run directory the app opens first (default: the shipped ``assets/default-run``).
"""

from __future__ import annotations

import os
from pathlib import Path

from galaxysd.runs import CANDIDATE_RUNS, DEFAULT_RUN, REPO_ROOT, RUNS_ROOT, RunDir, list_runs

HOME_ENV = "GALAXYSD_HOME"
DATABASE_ENV = "GALAXYSD_DATABASE_URL"
RUN_ENV = "GALAXYSD_RUN"


def app_home() -> Path:
    """The app data folder (created on first use)."""
    home = Path(os.environ.get(HOME_ENV) or REPO_ROOT / ".galaxysd")
    home.mkdir(parents=True, exist_ok=True)
    return home


def database_url() -> str:
    """``GALAXYSD_DATABASE_URL``, or an SQLite file ``app.db`` in the app data folder."""
    return os.environ.get(DATABASE_ENV) or f"sqlite:///{app_home() / 'app.db'}"


def preferred_run() -> Path:
    """The run the app opens first: ``GALAXYSD_RUN`` or the shipped default run."""
    chosen = os.environ.get(RUN_ENV)
    return Path(chosen).resolve() if chosen else DEFAULT_RUN


def available_runs() -> list[RunDir]:
    """Every run under ``assets/``, ``assets/candidate-runs/`` (kept rival and earlier models) and
    ``runs/``, plus ``GALAXYSD_RUN``; the preferred one first."""
    runs = list_runs((DEFAULT_RUN.parent, CANDIDATE_RUNS, RUNS_ROOT))
    preferred = preferred_run()
    if (preferred / "config.yaml").is_file() and all(r.path.resolve() != preferred for r in runs):
        runs.append(RunDir(preferred))
    return sorted(runs, key=lambda r: r.path.resolve() != preferred)


def run_label(run: RunDir) -> str:
    """A short label for a run: its path relative to the project root where possible."""
    try:
        return str(run.path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(run.path)


def map_folder(run: RunDir) -> Path:
    """Where the app's "Recompute the map" writes: ``RUN/eval`` for a run under ``runs/``, the
    app data folder for a shipped run under ``assets/`` (never changed from the browser)."""
    assets = DEFAULT_RUN.parent.resolve()
    if run.path.resolve().is_relative_to(assets):
        return app_home() / "maps" / run.name
    return run.eval_dir
