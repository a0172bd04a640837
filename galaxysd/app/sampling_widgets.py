"""The Generate page's sampling controls: seed, number of images, steps, guidance, sampler,
answer boost and open questions, kept in ``st.session_state`` under the keys of
:data:`galaxysd.app.ui.SAMPLING_DEFAULTS`, and the optional reference image."""

from __future__ import annotations

import io

import numpy as np
import streamlit as st
from PIL import Image, UnidentifiedImageError

from galaxysd.app.hosting import hosting_policy
from galaxysd.app.ui import SAMPLING_DEFAULTS
from galaxysd.model.samplers import SAMPLERS

MAX_APP_TAG_GUIDANCE = 10.0  # at 8 colours saturate (benchmarks/DESIGN_STUDY.md, *The answer boost*)


def _new_seed() -> None:
    st.session_state["seed"] = int(np.random.default_rng().integers(0, 2**31 - 1))


def sampling_controls() -> dict:
    """Seed (with "new seed"), number of images, steps, guidance, sampler and answer boost."""
    for key, value in SAMPLING_DEFAULTS.items():
        st.session_state.setdefault(key, value)
    seed_col, button_col = st.columns([3, 2], vertical_alignment="bottom")
    seed_col.number_input("Seed", min_value=0, max_value=2**31 - 1, step=1, key="seed")
    button_col.button("New seed", on_click=_new_seed, width="stretch")
    st.slider("Images", 1, 16, key="num_images")
    st.slider(
        "Steps", 1, 100, key="steps", help="DPM-Solver++ needs about 10-15; the SDE variant (cleaner images) 20 or more"
    )
    st.slider(
        "Guidance",
        0.0,
        15.0,
        step=0.5,
        key="guidance_scale",
        help="Classifier-free guidance: higher follows the prompt more, with less variety",
    )
    st.selectbox("Sampler", list(SAMPLERS), key="sampler")
    st.slider(
        "Answer boost",
        0.0,
        MAX_APP_TAG_GUIDANCE,
        step=0.5,
        key="tag_guidance",
        help="How hard a weight above 1 pushes towards that answer alone: guidance per unit above 1 "
        "(one more model pass per boosted answer). 0 extrapolates the answer's embedding instead.",
    )
    st.checkbox(
        "Answer open questions as real galaxies do",
        key="fill_open_questions",
        help="Questions below the prompt's answers that it leaves open (roundness for 'sdss, smooth') are "
        "answered, per image, as real training galaxies with the same answers above them answer them; a question "
        "answered in part is filled in part, so sliders move the image smoothly. Off: a prompt is read as typed.",
    )
    return {key: st.session_state[key] for key in SAMPLING_DEFAULTS}


def reference_image() -> tuple[np.ndarray | None, float]:
    """Optional uploaded image to start from (image-to-image), and the noise strength."""
    upload = st.file_uploader(
        "Reference image (optional)",
        type=["png", "jpg", "jpeg"],
        help="Start from this galaxy, noised to the strength below",
    )
    strength = st.slider("Strength", 0.05, 1.0, 0.6, step=0.05, disabled=upload is None)
    if upload is None:
        return None, strength
    try:
        hosting_policy().check_upload(upload.size)
    except ValueError as error:
        st.error(f"{upload.name} not used: {error}.")
        return None, strength
    try:
        return np.asarray(Image.open(io.BytesIO(upload.getvalue())).convert("RGB")), strength
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError):
        st.error(f"{upload.name} is not a readable image; generating without a reference.")
        return None, strength
