"""A missing prerequisite skips on a user's machine and fails under CI=true."""

import prerequisites
import pytest


def test_missing_prerequisite_skips_outside_ci(monkeypatch):
    monkeypatch.setattr(prerequisites, "IN_CI", False)
    with pytest.raises(pytest.skip.Exception, match="no data"):
        prerequisites.skip_unless(False, "no data")


def test_missing_prerequisite_fails_under_ci(monkeypatch):
    monkeypatch.setattr(prerequisites, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match="no data.*CI=true"):
        prerequisites.skip_unless(False, "no data")


def test_present_prerequisite_passes_either_way(monkeypatch):
    for in_ci in (False, True):
        monkeypatch.setattr(prerequisites, "IN_CI", in_ci)
        assert prerequisites.skip_unless(True, "unused") is None
