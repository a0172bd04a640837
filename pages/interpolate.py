"""Interpolate: morph one morphology into another at a fixed seed, as a strip of frames, an
animated GIF and the weights of every frame."""

import streamlit as st

from galaxysd.app import prompt_widgets, ui
from galaxysd.app.exports import frame_weights_table, gif_bytes
from galaxysd.evaluation.run_results import run_domains
from galaxysd.model.samplers import SAMPLERS
from galaxysd.morphology import format_prompt, parse_prompt

RESULT_KEY = "interpolation"

st.title("Interpolate between morphologies")
st.markdown(
    "Start and end are two prompts (the start is the Generate page's sliders at first). "
    "Every frame uses the same seed, so only the morphology changes: the tag weights move "
    "linearly from the start to the end."
)
run = ui.run_selector()
ui.require_model(run)

domain = next(iter(run_domains(run)), "sdss")
st.session_state.setdefault("morph_start", format_prompt(prompt_widgets.current_weights(run)))
st.session_state.setdefault("morph_end", f"{domain}, smooth, completely round galaxy")
left, right = st.columns(2)
left.text_area("Start", key="morph_start", height=80)
right.text_area("End", key="morph_end", height=80)
controls = st.columns(5)
frames = controls[0].slider("Frames", 8, 16, 10)
seed = controls[1].number_input("Seed", 0, 2**31 - 1, 0, step=1)
steps = controls[2].slider("Steps", 1, 100, ui.SAMPLING_DEFAULTS["steps"])
guidance = controls[3].slider("Guidance", 0.0, 15.0, ui.SAMPLING_DEFAULTS["guidance_scale"], step=0.5)
sampler = controls[4].selectbox("Sampler", list(SAMPLERS), index=list(SAMPLERS).index(ui.SAMPLING_DEFAULTS["sampler"]))

try:
    start, end = parse_prompt(st.session_state["morph_start"]), parse_prompt(st.session_state["morph_end"])
except ValueError as error:
    st.error(f"Prompt not understood: {error}")
    st.stop()
if start == end:
    st.warning("Start and end are the same morphology: every frame would be the same galaxy.")

request = (
    str(run.model_dir),
    tuple(sorted(start.items())),
    tuple(sorted(end.items())),
    frames,
    seed,
    steps,
    guidance,
    sampler,
)
if st.button("Morph", type="primary") or st.session_state.get(RESULT_KEY, {}).get("request") == request:
    memo = st.session_state.get(RESULT_KEY)
    if not memo or memo["request"] != request:
        with st.spinner(f"Generating {frames} frames..."):
            output, seconds = ui.cached_pipeline(run).interpolate(
                start, end, frames, int(seed), steps=steps, guidance_scale=guidance, sampler=sampler
            )
        memo = {"request": request, "output": output, "seconds": seconds}
        st.session_state[RESULT_KEY] = memo
    output = memo["output"]
    fractions = [i / (frames - 1) for i in range(frames)]
    ui.image_grid(
        output.arrays, [f"frame {i + 1} · {f:.0%} of the way" for i, f in enumerate(fractions)], columns=8, pixels=128
    )
    st.caption(
        f"{frames} frames in {memo['seconds']:.2f} s · seed {seed} · {steps} steps · {sampler} · guidance {guidance}"
    )
    st.download_button(
        "Download the animation (GIF)",
        gif_bytes(output.arrays),
        file_name=f"morph_seed{seed}.gif",
        mime="image/gif",
        on_click="ignore",
    )
    st.markdown("**Weights of each frame**")
    table = frame_weights_table(output.prompts)
    st.dataframe(table, hide_index=True)
    st.download_button(
        "Download the frame weights (CSV)",
        table.to_csv(index=False),
        file_name=f"morph_seed{seed}.csv",
        on_click="ignore",
    )
else:
    st.info("Choose the two ends and press **Morph**.")
