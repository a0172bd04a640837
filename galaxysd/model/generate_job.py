"""Generate a synthetic galaxy set from a run: PNG images plus a catalog that loads like real data.

``python -m galaxysd.generate --run runs/default --prompt "sdss, smooth, completely round galaxy"
--n 100 --out synthetic/round`` writes ``OUT/images/*.png``, ``OUT/catalog.csv`` (the
catalog schema, see :mod:`galaxysd.model.generated_catalog`; ``load_catalog_spec("synthetic:OUT")``
reads it) and ``OUT/job.json`` (the settings). Image ``i`` of prompt ``k`` has seed
``seed + k * n + i``, and batches are cut the same way every time, so a killed job rerun
with the same command resumes where it stopped and ends with the same files as a job that
never stopped. A different job never overwrites ``OUT`` unless ``--overwrite`` is given.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

from diffusers.utils import logging as diffusers_logging
from PIL import Image
from tqdm.auto import tqdm

from galaxysd import morphology
from galaxysd.atomic_files import write_atomic, write_json
from galaxysd.cli import JobParser, add_synthesis_options, run_cli
from galaxysd.data.loaders import FOLDER_CATALOG_NAME
from galaxysd.model import generated_catalog as gc
from galaxysd.model.fast import BACKENDS, SpeedSettings, load_fast_pipeline
from galaxysd.model.pipeline import MAX_GUIDANCE, MAX_IMAGES, MAX_STEPS, as_weights
from galaxysd.model.samplers import DEFAULT_SAMPLER, sampler_name
from galaxysd.model.saving import check_model_dir
from galaxysd.model.tag_guidance import DEFAULT_TAG_GUIDANCE, check_tag_guidance

MAX_PER_PROMPT = 5000
MAX_SEED = 2**32 - 1
DEFAULT_STEPS = 15  # bulk sets favour quality: within ~3/255 of 50 steps (benchmarks/RESULTS.md)
DEFAULT_GUIDANCE = 3.0
DEFAULT_BATCH = 16
JOB_FILE, CATALOG_FILE, IMAGES_DIR = "job.json", FOLDER_CATALOG_NAME, "images"


@dataclass(frozen=True)
class GenerateJob:
    """What to generate: prompts (canonical text), images per prompt, sampling settings."""

    prompts: tuple[str, ...]
    n: int
    steps: int = DEFAULT_STEPS
    guidance: float = DEFAULT_GUIDANCE
    sampler: str = DEFAULT_SAMPLER
    seed: int = 0
    tag_guidance: float = DEFAULT_TAG_GUIDANCE
    fill_open_questions: bool = False  # galaxysd.model.answer_prior: open questions from real galaxies

    @classmethod
    def checked(
        cls,
        prompts: Sequence[str],
        n: int,
        steps: int = DEFAULT_STEPS,
        guidance: float = DEFAULT_GUIDANCE,
        sampler: str = DEFAULT_SAMPLER,
        seed: int = 0,
        tag_guidance: float = DEFAULT_TAG_GUIDANCE,
        fill_open_questions: bool = False,
    ) -> "GenerateJob":
        """A job from user input, or ``ValueError`` saying what is wrong."""
        if not prompts:
            raise ValueError("give at least one prompt (--prompt or --prompt-file)")
        texts = []
        for text in prompts:
            weights = as_weights(text)
            if not gc.has_morphology(weights):
                raise ValueError(
                    f"prompt {text!r} names no morphology answer; a synthetic catalog "
                    "row needs at least one (e.g. 'sdss, smooth')"
                )
            texts.append(morphology.format_prompt(weights))
        _check_range("--n", n, 1, MAX_PER_PROMPT)
        _check_range("--steps", steps, 1, MAX_STEPS)
        _check_range("--seed", seed, 0, MAX_SEED)
        if not 0.0 <= float(guidance) <= MAX_GUIDANCE:
            raise ValueError(f"--guidance must be between 0 and {MAX_GUIDANCE:g}, got {guidance}")
        gain = check_tag_guidance(tag_guidance)
        fill = bool(fill_open_questions)
        return cls(tuple(texts), int(n), int(steps), float(guidance), sampler_name(sampler), int(seed), gain, fill)

    @property
    def total(self) -> int:
        return len(self.prompts) * self.n

    def plan(self) -> list[tuple[str, int, int]]:
        """``(id, prompt index, seed)`` of every image, in catalog order."""
        return [
            (f"p{k:03d}_{i:05d}", k, self.seed + k * self.n + i)
            for k in range(len(self.prompts))
            for i in range(self.n)
        ]

    def to_dict(self) -> dict:
        """The job as ``job.json`` holds it (without ``fill_open_questions`` when off, as jobs
        written before it had none, so that they still resume)."""
        saved = {**asdict(self), "prompts": list(self.prompts)}
        if not self.fill_open_questions:
            saved.pop("fill_open_questions")
        return saved


def _check_range(name: str, value, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer from {low} to {high:,}, got {value!r}")


def resolve_model_dir(run: str | Path) -> Path:
    """The pipeline folder of a run directory (``RUN/model``) or the folder itself."""
    run = Path(run)
    return check_model_dir(run / "model" if (run / "model").is_dir() else run)


def check_out(out: Path, job: GenerateJob, overwrite: bool) -> bool:
    """Whether ``out`` holds this job's unfinished or finished files (resume), or is free.

    Raises ``FileExistsError`` when it holds anything else and ``overwrite`` is off.
    """
    if not out.exists() or (out.is_dir() and not any(out.iterdir())):
        return False
    if not out.is_dir():
        raise FileExistsError(f"--out {out} is a file")
    saved = out / JOB_FILE
    same_job = saved.is_file() and json.loads(saved.read_text()) == job.to_dict()
    if same_job and not overwrite:
        return True
    if not overwrite:
        raise FileExistsError(
            f"{out} already holds other files; pass --overwrite to replace "
            "them, or rerun the exact command that made it to resume"
        )
    return False


def clear_out(out: Path) -> None:
    """Remove a previous job's files (only those this job writes)."""
    if not out.is_dir():
        return
    for name in (JOB_FILE, CATALOG_FILE):
        (out / name).unlink(missing_ok=True)
    shutil.rmtree(out / IMAGES_DIR, ignore_errors=True)


def _png_bytes(array) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def run_job(
    pipe,
    job: GenerateJob,
    out: str | Path,
    batch_size: int = DEFAULT_BATCH,
    overwrite: bool = False,
    progress: bool = True,
) -> Path:
    """Generate ``job`` into ``out`` with a loaded pipeline (resuming a killed run); returns the CSV."""
    out = Path(out)
    _check_range("--batch-size", batch_size, 1, MAX_IMAGES)
    resume = check_out(out, job, overwrite)
    weights = [as_weights(text) for text in job.prompts]
    pipe.encode(weights)  # fails now, before anything is written, on tags the model lacks
    catalog = out / CATALOG_FILE
    if not resume:
        clear_out(out)
        write_json(out / JOB_FILE, job.to_dict())
    (out / IMAGES_DIR).mkdir(parents=True, exist_ok=True)
    if not catalog.is_file():
        gc.start_csv(catalog)
    done = set(gc.read_rows(catalog, out)["id"])
    plan = job.plan()
    settings = {"steps": job.steps, "guidance": job.guidance, "sampler": job.sampler}
    with tqdm(total=len(plan), initial=len(done), desc="generate", unit="img", disable=not progress) as bar:
        for start in range(0, len(plan), batch_size):
            batch = plan[start : start + batch_size]
            missing = [j for j, (image_id, _, _) in enumerate(batch) if image_id not in done]
            if not missing:
                continue
            output = pipe(
                [weights[k] for _, k, _ in batch],
                num_images=len(batch),
                seed=[s for _, _, s in batch],
                steps=job.steps,
                guidance_scale=job.guidance,
                sampler=job.sampler,
                tag_guidance=job.tag_guidance,
                fill_open_questions=job.fill_open_questions,
            )
            paths = []
            for j in missing:
                paths.append(f"{IMAGES_DIR}/{batch[j][0]}.png")
                write_atomic(out / paths[-1], _png_bytes(output.arrays[j]))
            rows = gc.catalog_rows(
                [batch[j][0] for j in missing],
                paths,
                [output.prompts[j] for j in missing],  # as drawn: tree completed, open questions filled
                [batch[j][2] for j in missing],
                settings,
            )
            gc.append_rows(catalog, rows)
            done.update(rows["id"])
            bar.update(len(missing))
    order = {image_id: i for i, (image_id, _, _) in enumerate(plan)}
    rows = gc.read_rows(catalog, out)
    write_atomic(catalog, rows.sort_values("id", key=lambda ids: ids.map(order)).to_csv(index=False))
    return catalog


def read_prompt_file(path: str | Path) -> list[str]:
    """Prompts from a text file: one a line; blank lines and ``#`` comments skipped."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"prompt file not found: {path}")
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def parse_args(argv=None) -> argparse.Namespace:
    parser = JobParser(prog="python -m galaxysd.generate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", required=True, help="run directory (with model/) or a saved pipeline folder")
    parser.add_argument(
        "--prompt",
        action="append",
        default=[],
        help='a weighted prompt, e.g. "sdss, smooth, {dust lane:1.3}"; repeat for several',
    )
    parser.add_argument("--prompt-file", help="a text file with one prompt per line (# comments allowed)")
    parser.add_argument("--n", type=int, required=True, help=f"images per prompt (1-{MAX_PER_PROMPT})")
    parser.add_argument("--out", required=True, help="output folder (images/, catalog.csv, job.json)")
    add_synthesis_options(parser, DEFAULT_STEPS, DEFAULT_GUIDANCE, DEFAULT_SAMPLER, DEFAULT_TAG_GUIDANCE)
    parser.add_argument("--seed", type=int, default=0, help="seed of the first image (default %(default)s)")
    parser.add_argument(
        "--fill-open-questions",
        action="store_true",
        help="answer the questions a prompt leaves open as one of the run's real galaxies does, per image "
        "(RUN/answer_prior.csv); the catalog records each image's answers",
    )
    parser.add_argument(
        "--batch-size", type=int, default=DEFAULT_BATCH, help="images per forward pass (default %(default)s)"
    )
    parser.add_argument(
        "--backend",
        default="auto",
        choices=BACKENDS,
        help="CPU UNet runtime (default %(default)s: ONNX Runtime when installed)",
    )
    parser.add_argument("--threads", type=int, help="CPU threads (default: every available core)")
    parser.add_argument("--device", help="torch device (default: cuda when present, else cpu)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out folder")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    """Command-line entry point; returns the exit code."""

    def body() -> str:
        args = parse_args(argv)
        prompts = args.prompt + (read_prompt_file(args.prompt_file) if args.prompt_file else [])
        job = GenerateJob.checked(
            prompts,
            args.n,
            args.steps,
            args.guidance,
            args.sampler,
            args.seed,
            args.tag_guidance,
            args.fill_open_questions,
        )
        _check_range("--batch-size", args.batch_size, 1, MAX_IMAGES)
        if args.threads is not None:
            _check_range("--threads", args.threads, 1, 256)
        model_dir = resolve_model_dir(args.run)
        check_out(Path(args.out), job, args.overwrite)

        diffusers_logging.disable_progress_bar()
        pipe = load_fast_pipeline(
            model_dir, SpeedSettings(backend=args.backend, threads=args.threads), device=args.device
        )
        catalog = run_job(pipe, job, args.out, args.batch_size, args.overwrite)
        return f"wrote {job.total} images and {catalog}"

    return run_cli(body, interrupted="rerun the same command to resume into the same --out folder")
