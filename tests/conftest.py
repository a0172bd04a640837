"""Shared fixtures: the real SDSS samples in ../shared/data (skipped where absent)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "2")
REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of the real-data samples; skips the test with a reason where they are absent."""
    if not (SHARED_DATA / "gz2-sample" / "gz2_hart16_excerpt.csv").is_file():
        pytest.skip(f"real SDSS samples not found at {SHARED_DATA} (only present in the "
                    "project's shared workspace and CI)")
    return SHARED_DATA
