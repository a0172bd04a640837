"""Skips that cannot hide a broken CI: a missing prerequisite skips a test on a user's
machine, but fails it where ``CI=true`` (CI always has ../shared and Chromium)."""

from __future__ import annotations

import os

import pytest

IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def skip_unless(available: bool, reason: str) -> None:
    """Skip the running test with ``reason`` when ``available`` is false; fail it under CI."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this prerequisite is required, not skippable)")
    pytest.skip(reason)
