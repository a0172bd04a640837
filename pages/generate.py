"""Generate: morphology sliders and prompt box -> galaxies, with downloads."""

import streamlit as st

from galaxysd.app import prompt_widgets, sampling_widgets, ui
from galaxysd.morphology import format_prompt

st.title("Generate galaxies")
run = ui.run_selector()
ui.require_model(run)

morphology, right = st.columns([2, 3], gap="large")
with morphology:
    prompt_widgets.prompt_box(run)
    st.markdown("**Morphology (0-2 per answer)**")
    weights = prompt_widgets.tag_sliders(run)
with right:
    results = st.container()  # shown above the sampling controls, filled after them
    with st.expander("Sampling", expanded=True):
        settings = sampling_widgets.sampling_controls()
        reference, strength = sampling_widgets.reference_image()
with results:
    output = ui.generate(run, weights, settings, reference, strength)
    if output is not None:
        st.markdown(f"`{format_prompt(weights) or '(no prompt: unconditional)'}`")
        ui.image_grid(output.arrays, ui.seed_captions(output, weights))
        st.caption(
            f"{len(output.arrays)} images in {ui.last_generation_seconds():.2f} s · "
            f"{settings['steps']} steps · {settings['sampler']} · guidance {settings['guidance_scale']}"
            f" · answer boost {settings['tag_guidance']:g}"
            + (" · open questions answered as real galaxies do" if output.settings.get("fill_open_questions") else "")
        )
        ui.downloads(output, run)
