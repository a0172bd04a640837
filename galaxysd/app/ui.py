"""Shared Streamlit widgets of the app's pages: run selector, cached models, generation, image
grids and downloads (the prompt widgets are in :mod:`galaxysd.app.prompt_widgets`, the sampling
controls in :mod:`galaxysd.app.sampling_widgets`).

With those two, the only modules of the package that import Streamlit; pages call these
helpers and the core modules, and hold layout only. State shared between pages lives in
``st.session_state``: the chosen run, the current prompt weights, the sampling settings.
"""

from __future__ import annotations

import atexit
import functools
import gc
import hashlib
import html
import os
import threading
import time
from pathlib import Path

import numpy as np
import streamlit as st
from PIL import Image
from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

from galaxysd.app.appdata import available_runs, database_url, run_label
from galaxysd.app.database import AppDatabase
from galaxysd.app.exports import image_filename, images_zip, png_bytes
from galaxysd.app.figures import PLOTLY_CONFIG
from galaxysd.app.jobs import JobStatus, cancel_job, job_status, log_tail
from galaxysd.app.shared_pipeline import SharedPipeline
from galaxysd.evaluation.neighbours import NeighbourIndex, build_index, feature_space
from galaxysd.evaluation.real_galaxies import RealGalaxies, open_real_galaxies
from galaxysd.model.answer_prior import drawn_answers
from galaxysd.model.pipeline import GalaxyOutput
from galaxysd.model.samplers import RECOMMENDED_SAMPLING
from galaxysd.model.tag_guidance import DEFAULT_TAG_GUIDANCE
from galaxysd.morphology import ANSWER_TAGS
from galaxysd.runs import RunDir, model_image_size

RUN_KEY, WEIGHTS_KEY, PROMPT_KEY, PRESET_KEY = "run_label", "weights", "prompt_text", "preset"
DOMAIN_KEY, ERROR_KEY, GENERATED_KEY = "domain_choice", "prompt_error", "generated"
SLIDER_PREFIX = "tag::"
# DPM-Solver++ SDE, 20 steps, guidance 1 (RECOMMENDED_SAMPLING): the most realistic clean setting,
# without the deterministic solver's fine speckle (benchmarks/bench_grain.py, benchmarks/RESULTS.md).
APP_SAMPLER = RECOMMENDED_SAMPLING["sampler"]
SAMPLING_DEFAULTS = {
    "seed": 0,
    "num_images": 4,
    **RECOMMENDED_SAMPLING,
    "tag_guidance": DEFAULT_TAG_GUIDANCE,
    "fill_open_questions": False,  # on, a slider at 0 means "as real galaxies answer" (README)
}
SLIDER_MAX, SLIDER_STEP = 2.0, 0.05
NO_DOMAIN, CUSTOM = "(none)", "(custom prompt)"
DEFAULT_PROMPT = "features or disk-shaped, not edge-on, spiral galaxy, 2 spiral arms"
DISPLAY_PIXELS = 192
NEIGHBOUR_POOL = 2000
PERSISTENT_KEYS = (PROMPT_KEY, DOMAIN_KEY, PRESET_KEY, *SAMPLING_DEFAULTS, *(SLIDER_PREFIX + t for t in ANSWER_TAGS))


# ---------------------------------------------------------------------- runs
def run_selector() -> RunDir:
    """Sidebar choice of run (kept across pages); stops the page when there is no run."""
    for key in PERSISTENT_KEYS:  # widget values survive switching pages
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
    runs = available_runs()
    if not runs:
        st.error("No run found under assets/ or runs/. Train one on the Train page or with `python -m galaxysd.train`.")
        st.stop()
    labels = [run_label(r) for r in runs]
    current = st.session_state.get(RUN_KEY)
    choice = st.sidebar.selectbox(
        "Run",
        labels,
        index=labels.index(current) if current in labels else 0,
        help="A run directory: a trained model and what the jobs measured",
    )
    st.session_state[RUN_KEY] = choice
    return runs[labels.index(choice)]


def require_model(run: RunDir) -> None:
    """Stop the page with a message when the run has no trained model yet."""
    if not run.has_model():
        status = run.config().get("status", "unknown")
        st.info(
            f"Run `{run.name}` has no trained model yet (status: {status}). Pick another run "
            "in the sidebar, or wait for training to finish."
        )
        st.stop()


def missing(what: str, command: str) -> None:
    """An info box: a run output is not there yet, and the command that makes it."""
    st.info(f"{what} is not available for this run yet. Make it with `{command}`.")


def _stamp(path: Path) -> float:
    return path.stat().st_mtime if path.exists() else 0.0


# ---------------------------------------------------------------------- cached resources
@st.cache_resource(show_spinner="Loading the model...", max_entries=2)
def _pipeline(model_dir: str, stamp: float) -> SharedPipeline:
    pipe = SharedPipeline.load(model_dir)
    # The half million objects of PyTorch, diffusers and the model never become garbage: one
    # collection now, then keep them out of later full collections, which would otherwise
    # pause a rerun for ~0.3 s (the app also turns off Streamlit's collection after each run).
    gc.collect()
    gc.freeze()
    return pipe


def cached_pipeline(run: RunDir) -> SharedPipeline:
    """The run's pipeline, loaded once per process (reloaded when the model changes)."""
    wait_for_warm_up()
    return _pipeline(str(run.model_dir), _stamp(run.model_dir / "model_index.json"))


_WARMING: dict[str, threading.Thread] = {}
WARM_UP_ENV = "GALAXYSD_WARM_UP"  # "0": load the model only when a page first needs it


def warm_up(run: RunDir) -> threading.Thread | None:
    """Start loading ``run``'s pipeline in the background (once per server process), so the
    first images of the Generate page do not wait for the model load and ONNX start.

    Returns the loading thread (``None`` when nothing starts). Loading libraries change
    process-wide torch state for a moment, so every other cached model of this module waits
    for the thread first (:func:`wait_for_warm_up`)."""
    if os.environ.get(WARM_UP_ENV, "1") == "0" or str(run.path) in _WARMING or not run.has_model():
        return None

    def load() -> None:
        try:
            cached_pipeline(run)
        except Exception:  # noqa: BLE001 - the page loading it later shows the error
            _WARMING.pop(str(run.path), None)

    thread = threading.Thread(target=load, name="galaxysd-warm-up", daemon=True)
    _WARMING[str(run.path)] = thread
    add_script_run_ctx(thread, get_script_run_ctx())
    thread.start()
    # a process must not exit while the thread is inside torch or ONNX Runtime (that aborts)
    atexit.register(thread.join, 300)
    return thread


def wait_for_warm_up(timeout: float = 300.0) -> None:
    """Block until background model loads have finished (called before building any other model)."""
    threads = list(_WARMING.values())
    if threading.current_thread() in threads:
        return  # a warm-up never waits for another (two would wait for each other)
    for thread in threads:
        thread.join(timeout)


@st.cache_resource(show_spinner="Finding real galaxies...", max_entries=4)
def _real_galaxies(run_path: str, size: int, stamp: float) -> RealGalaxies | None:
    return open_real_galaxies(RunDir(Path(run_path)), size)


def real_galaxies(run: RunDir) -> RealGalaxies | None:
    """The run's real galaxies at the model's resolution (``None`` when none are readable)."""
    size = model_image_size(run) or 64
    return _real_galaxies(str(run.path), size, _stamp(run.path / "config.yaml"))


@st.cache_resource(show_spinner=False, max_entries=4)
def _feature_space(run_path: str, stamp: float):
    wait_for_warm_up()
    return feature_space(RunDir(Path(run_path)))


def cached_feature_space(run: RunDir):
    """The run's judge features (or the pixel fallback), loaded once."""
    return _feature_space(str(run.path), _stamp(run.eval_dir / "judge"))


@st.cache_resource(show_spinner="Measuring real galaxies in feature space...", max_entries=8)
def _neighbour_index(run_path: str, domain: str | None, stamp: float) -> NeighbourIndex | None:
    run = RunDir(Path(run_path))
    real = real_galaxies(run)
    if real is None or not len(real.rows(domain)):
        return None
    rows = real.rows(domain)
    if len(rows) > NEIGHBOUR_POOL:
        rows = np.sort(np.random.default_rng(0).choice(rows, NEIGHBOUR_POOL, replace=False))
    return build_index(cached_feature_space(run), real.images(rows), rows)


def neighbour_index(run: RunDir, domain: str | None) -> NeighbourIndex | None:
    """Feature index of the run's real galaxies of ``domain`` (at most 2000 of them)."""
    return _neighbour_index(str(run.path), domain, _stamp(run.eval_dir / "judge"))


@st.cache_resource(show_spinner=False)
def _database(url: str) -> AppDatabase:
    return AppDatabase(url)


def database() -> AppDatabase:
    """The app database (``GALAXYSD_DATABASE_URL`` or SQLite in the app data folder)."""
    return _database(database_url())


# ---------------------------------------------------------------------- sampling
def generate(
    run: RunDir,
    weights: dict[str, float],
    settings: dict,
    reference: np.ndarray | None = None,
    strength: float = 0.6,
    slot: str = GENERATED_KEY,
) -> GalaxyOutput | None:
    """Images for the settings, regenerated only when something changed; errors shown.

    ``slot`` names the session-state entry remembering the last result (one per page).
    """
    ref_hash = hashlib.sha1(reference.tobytes()).hexdigest() if reference is not None else None
    key = (
        str(run.model_dir),
        _stamp(run.model_dir / "model_index.json"),
        tuple(sorted(weights.items())),
        tuple(sorted(settings.items())),
        ref_hash,
        strength if reference is not None else None,
    )
    memo = st.session_state.get(slot)
    if not (memo and memo["key"] == key):
        try:
            pipe = cached_pipeline(run)
            fill = bool(settings.get("fill_open_questions")) and pipe.can_fill_open_questions
            asked = {**settings, "fill_open_questions": fill}
            output, seconds = pipe.generate(weights, reference=reference, strength=strength, **asked)
        except ValueError as error:
            st.error(f"Cannot generate: {error}")
            return None
        count = memo["count"] + 1 if memo else 1
        memo = st.session_state[slot] = {"key": key, "output": output, "seconds": seconds, "count": count}
    if settings.get("fill_open_questions") and not memo["output"].settings.get("fill_open_questions"):
        st.caption(
            "This run has no answer prior (RUN/answer_prior.csv; paper-mode runs never use one): open questions "
            "stay open. Build it with python -m galaxysd.training.prior_job --run RUN."
        )
    return memo["output"]


def last_generation_seconds() -> float | None:
    """Seconds the latest generation took."""
    memo = st.session_state.get(GENERATED_KEY)
    return memo["seconds"] if memo else None


# ---------------------------------------------------------------------- charts
def chart(figure, container=None) -> None:
    """A Plotly figure at full width (of ``container``, e.g. a column), without the mode bar
    over its title."""
    (container or st).plotly_chart(figure, config=PLOTLY_CONFIG)


# ---------------------------------------------------------------------- images
def display_image(image: np.ndarray, pixels: int = DISPLAY_PIXELS) -> Image.Image:
    """A small galaxy scaled up without blurring (nearest neighbour) for the screen."""
    picture = Image.fromarray(np.asarray(image, dtype=np.uint8))
    return picture.resize((pixels, pixels), Image.NEAREST) if picture.width < pixels else picture


def seed_captions(output: GalaxyOutput, prompt: dict[str, float]) -> list[str]:
    """``seed N`` per image, with the answers drawn from real galaxies where open questions
    were answered (``fill_open_questions``)."""
    captions = []
    for seed, drawn in zip(output.seeds, output.prompts):
        extra = drawn_answers(prompt, drawn) if output.settings.get("fill_open_questions") else {}
        answers = ", ".join(f"{tag} {weight:.2g}" for tag, weight in extra.items())
        captions.append(f"seed {seed}" + (f" · drawn: {answers}" if answers else ""))
    return captions


def image_grid(
    images: np.ndarray, captions: list[str] | None = None, columns: int = 4, pixels: int = DISPLAY_PIXELS
) -> None:
    """Images in rows of ``columns``, each with its caption."""
    for start in range(0, len(images), columns):
        cells = st.columns(columns)
        for offset, image in enumerate(images[start : start + columns]):
            caption = captions[start + offset] if captions else None
            cells[offset].image(display_image(image, pixels), caption=caption, output_format="PNG")


_BOX = (
    "aspect-ratio:1;background:#161a26;border-radius:0.5rem;overflow:hidden;"
    "margin-bottom:0.5rem;color:#8a90a6;display:flex;align-items:center;justify-content:center"
)


def remote_image(url: str, caption: str | None = None, alt: str = "survey cutout") -> None:
    """An image the user's browser loads from ``url`` (square box kept when offline)."""
    st.markdown(
        f'<div style="{_BOX}"><img src="{html.escape(url)}" alt="{html.escape(alt)}" '
        f'style="width:100%;height:100%;object-fit:cover"></div>',
        unsafe_allow_html=True,
    )
    if caption:
        st.caption(caption)


def empty_box(text: str) -> None:
    """A square placeholder with a short text, where an image would be."""
    st.markdown(f'<div style="{_BOX}">{html.escape(text)}</div>', unsafe_allow_html=True)


def downloads(output: GalaxyOutput, run: RunDir) -> None:
    """A PNG download per image and a zip of all with ``settings.csv``."""
    # Callables: the files are made when a button is clicked, not on every rerun (a slider
    # step would otherwise encode and serve a zip and a PNG per image before the new images).
    label = run_label(run)
    st.download_button(
        "Download all (zip with settings.csv)",
        lambda: images_zip(output, label),
        file_name="galaxies.zip",
        mime="application/zip",
        on_click="ignore",
    )
    cells = st.columns(min(len(output.arrays), 8))
    for i, (image, seed) in enumerate(zip(output.arrays, output.seeds)):
        cells[i % len(cells)].download_button(
            f"PNG {i + 1}",
            functools.partial(png_bytes, image),
            key=f"png_{i}",
            file_name=image_filename(i, seed),
            mime="image/png",
            on_click="ignore",
        )


# ---------------------------------------------------------------------- background jobs
def job_panel(kind: str) -> JobStatus | None:
    """State, elapsed time, output tail and a cancel button of the latest ``kind`` job."""
    status = job_status(kind)
    if status is None:
        return None
    minutes = ((status.ended or time.time()) - status.started) / 60
    outcome = f" · exit code {status.returncode}" if status.returncode not in (None, 0) else ""
    st.markdown(f"**{kind.capitalize()} job: {status.state}** · {minutes:.1f} min{outcome}")
    if status.active and st.button("Cancel", key=f"cancel_{kind}"):
        status = cancel_job(kind)
    tail = log_tail(kind)
    if tail:
        st.code(tail, language=None)
    return status
