"""Making a run the shipped default without losing the model it was warm-started from.

A run warm-started from ``assets/default-run/model`` (``init_from``) is a continuation of the
default. Shipping it overwrites that folder, which would leave its own ``config.yaml`` pointing
at itself and the outgoing weights gone. :func:`prepare_shipped_config` first keeps the outgoing
default in ``assets/candidate-runs/<its run name>/`` (model, config, log, data report), then
writes the run's config into the default folder with ``init_from`` pointing at the kept copy.
``scripts/ship_run.sh`` calls it before copying the new model in.

    python -m galaxysd.training.shipping RUN [--default assets/default-run] [--keep-outgoing]
"""

from __future__ import annotations

import hashlib
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from galaxysd.atomic_files import write_atomic
from galaxysd.cli import JobParser, run_cli
from galaxysd.runs import CANDIDATE_RUNS, DEFAULT_RUN, REPO_ROOT, resolve_project_path

KEPT_FILES = ("config.yaml", "train_log.jsonl", "data_report.csv")
_INIT_FROM_LINE = re.compile(r"^init_from:.*$", re.MULTILINE)


@dataclass(frozen=True)
class ShippedConfig:
    """What :func:`prepare_shipped_config` did: the config written and the outgoing model kept."""

    config_path: Path
    init_from: str | None
    kept_outgoing: Path | None  # the candidate folder the outgoing default went to, if it was needed


def _repo_relative(path: Path) -> str:
    """``path`` relative to the repository root where it lies inside it (configs stay portable)."""
    path = path.resolve()
    try:
        return path.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(path)


def _folder_digest(folder: Path) -> str:
    """SHA-256 over every file's relative name and bytes: equal digests mean identical folders."""
    digest = hashlib.sha256()
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(file.relative_to(folder).as_posix().encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()


def _read_config(run: Path) -> tuple[str, dict]:
    path = run / "config.yaml"
    if not path.is_file():
        raise ValueError(f"{run} has no config.yaml: is it a run directory?")
    text = path.read_text()
    config = yaml.safe_load(text)
    if not isinstance(config, dict):
        raise ValueError(f"{path} is not a YAML mapping")
    return text, config


def keep_outgoing_default(default: Path = DEFAULT_RUN, candidates: Path = CANDIDATE_RUNS) -> Path:
    """Copy the current default's model, config, log and data report to ``candidates/<run name>``.

    The name is the ``run_dir`` the default was trained in. A folder of that name that already
    holds the same model is reused; one holding a different model is an error, never overwritten.
    """
    _, config = _read_config(default)
    name = Path(str(config.get("run_dir") or "previous-default")).name
    target = candidates / name
    model = default / "model"
    if not (model / "model_index.json").is_file():
        raise ValueError(f"{model} is not a saved model folder (no model_index.json)")
    if target.exists():
        if (target / "model").is_dir() and _folder_digest(target / "model") == _folder_digest(model):
            return target
        raise ValueError(f"{target} already exists with a different model: move it before shipping")
    partial = candidates / f".{name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    shutil.copytree(model, partial / "model")
    for file_name in KEPT_FILES:
        if (default / file_name).is_file():
            shutil.copy2(default / file_name, partial / file_name)
    partial.rename(target)  # atomic: a killed copy leaves only the .partial folder
    return target


def prepare_shipped_config(
    run: Path, default: Path = DEFAULT_RUN, candidates: Path = CANDIDATE_RUNS, keep_outgoing: bool = False
) -> ShippedConfig:
    """Write ``run``'s config as ``default/config.yaml``, keeping the outgoing default if ``run`` needs it.

    Call it before the default's model is replaced. When ``run`` was warm-started from the
    default's own model folder, that model is kept first (:func:`keep_outgoing_default`) and the
    written config's ``init_from`` names the kept copy; otherwise the config is copied unchanged.
    ``keep_outgoing`` keeps the outgoing default even when ``run`` does not descend from it (a
    rival lineage replacing it), so the old model's figures can still be reproduced.
    """
    run, default = Path(run), Path(default)
    text, config = _read_config(run)
    init_from = config.get("init_from")
    descends = bool(init_from) and resolve_project_path(str(init_from)).resolve() == (default / "model").resolve()
    has_outgoing = (default / "config.yaml").is_file()
    outgoing = _read_config(default)[1] if has_outgoing and (descends or keep_outgoing) else {}
    reshipping = outgoing.get("run_dir") == config.get("run_dir")  # the same run shipped again
    kept = None
    if descends:
        if reshipping:  # keep the init_from the first shipping wrote
            init_from = outgoing.get("init_from")
        else:
            kept = keep_outgoing_default(default, candidates)
            init_from = _repo_relative(kept / "model")
        text = _INIT_FROM_LINE.sub(f"init_from: {init_from}", text, count=1)
        if yaml.safe_load(text).get("init_from") != init_from:
            raise ValueError(f"could not repoint init_from in {run / 'config.yaml'}")
    elif keep_outgoing and has_outgoing and not reshipping:
        kept = keep_outgoing_default(default, candidates)
    write_atomic(default / "config.yaml", text)
    return ShippedConfig(config_path=default / "config.yaml", init_from=init_from, kept_outgoing=kept)


def main(argv=None) -> int:
    """Command line: ``python -m galaxysd.training.shipping RUN [--default D] [--candidates C]``."""
    parser = JobParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="the run directory about to become the default")
    parser.add_argument("--default", type=Path, default=DEFAULT_RUN, help="the shipped run folder")
    parser.add_argument("--candidates", type=Path, default=CANDIDATE_RUNS, help="where outgoing defaults are kept")
    parser.add_argument(
        "--keep-outgoing", action="store_true", help="keep the outgoing default also when the run is not its descendant"
    )

    def body() -> str:
        args = parser.parse_args(argv)
        shipped = prepare_shipped_config(args.run, args.default, args.candidates, args.keep_outgoing)
        kept = ""
        if shipped.kept_outgoing is not None:
            where = _repo_relative(shipped.kept_outgoing)
            kept = f"kept the outgoing default in {where}; init_from {shipped.init_from}\n"
        return f"{kept}wrote {shipped.config_path}"

    return run_cli(body)


if __name__ == "__main__":
    raise SystemExit(main())
