"""Sample sheets of a run's model: one row of seeds per prompt, optionally above rows of real
galaxies at the same size, saved as one labelled PNG (the scripts' prompt and composition sheets)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from galaxysd.cli import add_synthesis_options
from galaxysd.grids import save_grid
from galaxysd.model.fast import load_fast_pipeline
from galaxysd.model.pipeline import GalaxyPipeline
from galaxysd.model.samplers import RECOMMENDED_SAMPLING
from galaxysd.model.tag_guidance import DEFAULT_TAG_GUIDANCE


def sheet_arguments(description: str, out_default: str, n_default: int) -> argparse.ArgumentParser:
    """The options every sample sheet takes: --run, --out, --n (seeds per prompt), and --steps,
    --guidance, --sampler, --tag-guidance (default: the app's sampling and answer boost)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--run", default="assets/default-run", help="run whose model generates")
    parser.add_argument("--out", default=out_default, help="PNG to write")
    parser.add_argument("--n", type=int, default=n_default, help="seeds per prompt")
    sampling = RECOMMENDED_SAMPLING
    add_synthesis_options(
        parser, sampling["steps"], sampling["guidance_scale"], sampling["sampler"], DEFAULT_TAG_GUIDANCE
    )
    return parser


def write_sample_sheet(
    args: argparse.Namespace,
    prompts: Sequence[str],
    real_rows: Callable[[GalaxyPipeline], tuple[list[np.ndarray], list[str]]] | None = None,
) -> Path:
    """Generate ``args.n`` seeds (0, 1, ...) per prompt with the run's model and save the sheet.

    ``real_rows(pipe)`` may add rows below (images of the pipeline's size, one label each)."""
    pipe = load_fast_pipeline(Path(args.run) / "model")
    settings = {
        "steps": args.steps,
        "guidance_scale": args.guidance,
        "sampler": args.sampler,
        "tag_guidance": args.tag_guidance,
    }
    rows = [pipe(p, num_images=args.n, seed=0, **settings).arrays for p in prompts]
    labels = list(prompts)
    if real_rows is not None:
        extra, extra_labels = real_rows(pipe)
        rows += extra
        labels += extra_labels
    save_grid(np.stack(rows), args.out, labels)
    print(f"wrote {args.out}")
    return Path(args.out)
