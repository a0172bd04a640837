"""Background jobs the app launches (training, embeddings), one of each kind at a time.

A job runs as its own process group, supervised by a small wrapper
(``python -m galaxysd.app.jobs --status FILE -- COMMAND...``) that records the job's state in
``<app data>/jobs/<kind>.json`` and its output in ``<kind>.log``. Everything the app needs
is in those files, so a page reload (or a restarted app) finds a running job again and can
cancel it. States: ``starting``, ``running``, ``finished``, ``failed``, ``cancelled``, and
``lost`` for a job whose supervisor disappeared without a word (e.g. a reboot).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

from galaxysd.app.appdata import app_home
from galaxysd.cli import JobParser
from galaxysd.runs import REPO_ROOT

ACTIVE = ("starting", "running")
START_GRACE_S = 30.0
_children: dict[str, subprocess.Popen] = {}


@dataclass
class JobStatus:
    """What is known of a job: its state, command, process and outcome."""

    kind: str
    state: str
    command: list[str]
    run_dir: str | None = None
    pid: int | None = None
    returncode: int | None = None
    started: float = field(default_factory=time.time)
    ended: float | None = None

    @property
    def active(self) -> bool:
        return self.state in ACTIVE


class JobRunning(RuntimeError):
    """A job of that kind is already running."""


def jobs_dir(home: Path | None = None) -> Path:
    folder = (home or app_home()) / "jobs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def status_path(kind: str, home: Path | None = None) -> Path:
    return jobs_dir(home) / f"{kind}.json"


def log_path(kind: str, home: Path | None = None) -> Path:
    return jobs_dir(home) / f"{kind}.log"


def _write_status(path: Path, status: JobStatus) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(asdict(status)))
    os.replace(tmp, path)


def _read_status(path: Path) -> JobStatus | None:
    try:
        return JobStatus(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    if stat.is_file():  # a zombie is finished, just not yet collected
        return stat.read_text().rsplit(")", 1)[-1].split()[0] != "Z"
    return True


def job_status(kind: str, home: Path | None = None) -> JobStatus | None:
    """The latest job of ``kind`` (``None`` if there never was one)."""
    child = _children.get(kind)
    child_code = child.poll() if child is not None else None
    if child_code is not None:
        _children.pop(kind, None)
    status = _read_status(status_path(kind, home))
    if status is None or not status.active:
        return status
    if child_code is not None:  # the supervisor ended without recording an outcome
        status.state = "cancelled" if child_code == -signal.SIGTERM else "lost"
    elif child is not None:
        return status  # launched by this process and still running
    elif status.pid is None and time.time() - status.started > START_GRACE_S:
        status.state = "lost"
    elif status.pid is not None and not _alive(status.pid):
        latest = _read_status(status_path(kind, home))  # it may have just finished
        if latest is not None and not latest.active:
            return latest
        status.state = "lost"
    if not status.active:
        status.ended = status.ended or time.time()
        _write_status(status_path(kind, home), status)
    return status


def module_command(module: str, options: dict) -> list[str]:
    """``python -m MODULE --option value ...`` from ``{"option": value}``.

    Underscores become dashes; ``True`` adds a bare flag; ``None`` and ``False`` are left
    out; a list repeats its flag once per item.
    """
    command = [sys.executable, "-m", module]
    for key, value in options.items():
        flag = f"--{key.replace('_', '-')}"
        if value is None or value is False:
            continue
        if value is True:
            command.append(flag)
        elif isinstance(value, (list, tuple)):
            for item in value:
                command += [flag, str(item)]
        else:
            command += [flag, str(value)]
    return command


def start_job(kind: str, command: Sequence[str], run_dir: str | None = None, home: Path | None = None) -> JobStatus:
    """Launch ``command`` (an argv list) in the background; ``JobRunning`` if one is active."""
    current = job_status(kind, home)
    if current is not None and current.active:
        raise JobRunning(f"a {kind} job is already running (pid {current.pid}); wait for it or cancel it")
    path = status_path(kind, home)
    status = JobStatus(kind=kind, state="starting", command=list(command), run_dir=run_dir)
    _write_status(path, status)
    try:
        with log_path(kind, home).open("wb") as log:
            child = subprocess.Popen(
                [sys.executable, "-m", "galaxysd.app.jobs", "--status", str(path), "--", *command],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=REPO_ROOT,
                start_new_session=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
    except OSError:
        status.state, status.ended = "failed", time.time()
        _write_status(path, status)
        raise
    _children[kind] = child
    return status


def cancel_job(kind: str, home: Path | None = None, wait_s: float = 10.0) -> JobStatus | None:
    """Stop a running job (SIGTERM to its process group) and wait for it to end."""
    status = job_status(kind, home)
    if status is None or not status.active:
        return status
    child = _children.get(kind)
    pid = status.pid or (child.pid if child is not None else None)
    if pid is None:
        return status
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.time() + wait_s
    while time.time() < deadline:
        status = job_status(kind, home)
        if status is None or not status.active:
            return status
        time.sleep(0.1)
    return status


def log_tail(kind: str, lines: int = 15, home: Path | None = None) -> str:
    """The last lines of a job's output (progress bars reduced to their latest state)."""
    try:
        text = log_path(kind, home).read_text(errors="replace")
    except OSError:
        return ""
    cleaned = [line.rsplit("\r", 1)[-1] for line in text.splitlines()]
    return "\n".join([line for line in cleaned if line.strip()][-lines:])


def supervise(status_file: Path, command: Sequence[str]) -> int:
    """Run ``command``, recording its state in ``status_file``; SIGTERM cancels it."""
    status = _read_status(status_file) or JobStatus(kind=status_file.stem, state="starting", command=list(command))
    cancelled = False

    def on_terminate(signum, frame):
        nonlocal cancelled
        cancelled = True

    signal.signal(signal.SIGTERM, on_terminate)
    status.pid, status.state = os.getpid(), "running"
    _write_status(status_file, status)
    try:
        child = subprocess.Popen(list(command), cwd=REPO_ROOT)
    except OSError as error:
        print(f"error: cannot start {command[0]}: {error}", file=sys.stderr)
        returncode = 127
    else:
        returncode = child.wait()
    status.returncode, status.ended = returncode, time.time()
    status.state = "cancelled" if cancelled else ("finished" if returncode == 0 else "failed")
    _write_status(status_file, status)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Supervisor entry point: ``python -m galaxysd.app.jobs --status FILE -- COMMAND...``."""
    parser = JobParser(
        prog="python -m galaxysd.app.jobs",
        description="Run a command as an app job, recording its state in a status file.",
    )
    parser.add_argument("--status", required=True, metavar="FILE", help="status file to maintain")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the job's command, after --")
    try:
        args = parser.parse_args(argv)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        print("error: give the job's command after --", file=sys.stderr)
        return 1
    return supervise(Path(args.status), command)


if __name__ == "__main__":
    sys.exit(main())
