"""Every job has the same command-line shape: usage errors are one line on stderr and exit 1,
``--help`` exits 0, and the installed ``galaxysd-*`` commands point at the same entry points."""

import importlib
import tomllib
from pathlib import Path

import pytest

from galaxysd.cli import JobParser

ENTRY_POINTS = ["galaxysd.train", "galaxysd.generate", "galaxysd.evaluate", "galaxysd.explore",
                "galaxysd.augment", "galaxysd.discover", "galaxysd.data.__main__", "galaxysd.app.jobs"]  # fmt: skip


@pytest.mark.parametrize("module", ENTRY_POINTS)
def test_a_usage_error_is_one_line_and_exit_code_1(module, capsys):
    main = importlib.import_module(module).main
    assert main(["--no-such-option"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "--help" in err[0], err


@pytest.mark.parametrize("module", ENTRY_POINTS)
def test_help_exits_0(module, capsys):
    main = importlib.import_module(module).main
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_every_job_parser_is_the_shared_one(monkeypatch):
    made = []
    original = JobParser.__init__

    def record(self, *args, **kwargs):
        made.append(kwargs.get("prog") or (args[0] if args else None))
        original(self, *args, **kwargs)

    monkeypatch.setattr(JobParser, "__init__", record)
    for module in ENTRY_POINTS:
        try:
            importlib.import_module(module).main(["--no-such-option"])
        except SystemExit:
            pass
    for job in ("train", "generate", "evaluate", "explore", "augment", "discover", "data"):
        assert any(prog and prog.endswith(f"galaxysd.{job}") for prog in made), (job, made)


def test_installed_commands_name_real_entry_points():
    project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    scripts = project["project"]["scripts"]
    assert {"galaxysd-train", "galaxysd-generate", "galaxysd-data"} <= set(scripts)
    for target in scripts.values():
        module, _, function = target.partition(":")
        assert callable(getattr(importlib.import_module(module), function)), target
