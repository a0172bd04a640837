"""Command-line plumbing shared by the jobs (train, generate, evaluate, augment, discover, explore).

One parser class that turns usage errors into ``ValueError``, the options every
run-directory job takes, and one wrapper that turns user errors into a one-line message
and exit code 1 instead of a traceback.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Callable

from galaxysd.runs import DEFAULT_CACHE_ROOT, RunDir

USER_ERRORS = (ValueError, OSError)  # OSError covers missing and existing files too


class JobParser(argparse.ArgumentParser):
    """``ArgumentParser`` whose usage errors raise ``ValueError`` (so ``run_cli`` reports them)."""

    def error(self, message: str):
        raise ValueError(f"{message} (see {self.prog} --help)")


def comma_numbers(kind: Callable = int, minimum: float | None = None) -> Callable[[str], tuple]:
    """An argparse ``type``: ``"0,3,7"`` -> ``(0, 3, 7)`` (``""`` -> ``()``), each at least ``minimum``."""

    def parse(text: str) -> tuple:
        try:
            values = tuple(kind(part) for part in text.split(",") if part.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
        if minimum is not None and any(v < minimum for v in values):
            raise argparse.ArgumentTypeError(f"every number must be at least {minimum}, got {text!r}")
        return values

    return parse


def add_synthesis_options(
    parser: argparse.ArgumentParser,
    steps: int,
    guidance: float,
    sampler: str,
    tag_guidance: float,
    inherit: bool = False,
) -> None:
    """``--steps``, ``--guidance``, ``--sampler`` and ``--tag-guidance`` for jobs that generate images.

    ``inherit=True`` is for a subcommand whose parent command has the same options: the
    subcommand then sets no default of its own (argparse would let it silently overwrite a
    value given before the subcommand's name), and the job fills what is still ``None`` with
    :func:`fill_missing`.
    """

    def default(value):
        return argparse.SUPPRESS if inherit else value

    parser.add_argument("--steps", type=int, default=default(steps), help=f"sampling steps (default {steps})")
    parser.add_argument(
        "--guidance", type=float, default=default(guidance), help=f"guidance scale (default {guidance:g})"
    )
    parser.add_argument(
        "--sampler", default=default(sampler), help=f"dpmpp, dpmpp_sde, euler_a, ddim (default {sampler})"
    )
    parser.add_argument(
        "--tag-guidance",
        type=float,
        default=default(tag_guidance),
        help="guidance per unit of an answer's weight above 1, along that answer alone; 0 extrapolates "
        f"its embedding instead (default {tag_guidance:g})",
    )


def add_fill_open_questions_option(parser: argparse.ArgumentParser) -> None:
    """``--fill-open-questions`` for jobs that generate images (off by default: prompts as typed)."""
    parser.add_argument(
        "--fill-open-questions",
        action="store_true",
        help="answer the questions a prompt leaves open as the run's real training galaxies do "
        "(the app's checkbox; galaxysd.model.answer_prior)",
    )


def fill_missing(args: argparse.Namespace, **defaults) -> argparse.Namespace:
    """Set each of ``defaults`` on ``args`` where it is absent or ``None`` (see ``inherit``)."""
    for name, value in defaults.items():
        if getattr(args, name, None) is None:
            setattr(args, name, value)
    return args


def add_job_options(parser: argparse.ArgumentParser, parts_dir: str) -> None:
    """Device, cache, worker, thread, restart and progress options of a resumable run job."""
    parser.add_argument("--device", default="auto", help="classifier device: auto, cpu, cuda (default %(default)s)")
    parser.add_argument("--cache-dir", default=str(DEFAULT_CACHE_ROOT), help="image cache root (default %(default)s)")
    parser.add_argument("--workers", type=int, default=2, help="image decoding processes (default %(default)s)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--fresh", action="store_true", help=f"discard earlier work in RUN/{parts_dir}/parts")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def open_run(args: argparse.Namespace, parts_dir: str) -> RunDir:
    """The ``--run`` folder (``FileNotFoundError`` when missing), with ``--threads`` applied
    and ``RUN/<parts_dir>/parts`` cleared when ``--fresh`` was given."""
    run = RunDir(Path(args.run))
    if not run.path.is_dir():
        raise FileNotFoundError(f"run directory not found: {run.path}")
    if getattr(args, "threads", None):
        if args.threads < 1:
            raise ValueError("--threads must be at least 1")
        import torch  # slow to import; only jobs that set a thread count need it

        torch.set_num_threads(args.threads)
    if getattr(args, "fresh", False):
        shutil.rmtree(run.path / parts_dir / "parts", ignore_errors=True)
    return run


def run_cli(body: Callable[[], str | None], interrupted: str | None = None) -> int:
    """Run a job's body; print its returned message and return 0, or print a user error on
    one line and return 1 (130 with ``interrupted`` printed on Ctrl-C when given)."""
    try:
        message = body()
    except USER_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if interrupted is None:
            raise
        print(f"interrupted: {interrupted}", file=sys.stderr)
        return 130
    if message:
        print(message)
    return 0
