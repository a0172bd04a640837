"""Shared fixtures: the real SDSS samples in ../shared/data (skipped where absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from app_runs import shared_tiny_run
from prerequisites import skip_unless

from galaxysd.app.database import AppDatabase

os.environ.setdefault("OMP_NUM_THREADS", "2")
# No background model load in app tests: it would run on while later tests build models in
# the same process (tests/test_warm_up.py tests it, and the browser test's server uses it).
os.environ["GALAXYSD_WARM_UP"] = "0"
REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of the real-data samples; skips the test with a reason where they are absent."""
    skip_unless(
        (SHARED_DATA / "gz2-sample" / "gz2_hart16_excerpt.csv").is_file(),
        f"real SDSS samples not found at {SHARED_DATA} (only present in the project's shared workspace and CI)",
    )
    return SHARED_DATA


@pytest.fixture(scope="module")
def tiny_pipe():
    """An untrained 16 px tag pipeline whose conditioning visibly matters (tag embeddings x4),
    laid out channels-last as ``load_pipeline`` does for inference."""
    import torch

    from galaxysd.model.saving import build_tag_pipeline
    from galaxysd.model.unet_presets import PRESETS

    torch.manual_seed(0)
    pipeline = build_tag_pipeline(PRESETS["tiny"])
    with torch.no_grad():
        pipeline.tag_encoder.tag_embedding.mul_(4.0)
    pipeline.unet.to(memory_format=torch.channels_last)
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A tiny trained run with evaluation, candidates and real galaxies (tests/app_runs.py)."""
    return shared_tiny_run(tmp_path_factory)


@pytest.fixture
def app_env(monkeypatch, tmp_path):
    """Point the app at a run; its data folder and database live in ``tmp_path``."""
    monkeypatch.setenv("GALAXYSD_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GALAXYSD_DATABASE_URL", f"sqlite:///{tmp_path / 'app.db'}")

    def use(run: Path):
        monkeypatch.setenv("GALAXYSD_RUN", str(run))
        return AppDatabase(f"sqlite:///{tmp_path / 'app.db'}")

    return use
