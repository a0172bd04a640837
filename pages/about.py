"""About: what GalaxySD is and how it works, the run's model card, limits, citing and credits."""

from pathlib import Path

import pandas as pd
import streamlit as st

from galaxysd.app import ui
from galaxysd.evaluation.run_results import model_card

CREDITS = Path(__file__).resolve().parents[1] / "CREDITS.md"
PIPELINE = """digraph {
  rankdir=LR; node [shape=box, style="rounded,filled", fillcolor="#1f2433", fontcolor="white", color="#5b6785"];
  prompt [label="prompt\\nsdss, smooth, {dust lane:1.3}"];
  tags [label="tag encoder\\none vector per answer,\\nscaled by its weight"];
  noise [label="random noise\\n(the seed)"];
  unet [label="UNet\\nremoves noise step by step,\\nguided by the tags"];
  image [label="64 x 64 px galaxy"];
  judge [label="judge and metrics\\nreal? diverse? faithful?"];
  prompt -> tags -> unet; noise -> unet; unet -> image -> judge;
}"""

st.title("About GalaxySD")
st.markdown(
    "GalaxySD generates images of galaxies from a description of their shape in the words of "
    "[Galaxy Zoo](https://www.zooniverse.org/projects/zookeeper/galaxy-zoo/): smooth or disk, "
    "edge-on, spiral arms, a bar, a dust lane... Each answer gets a weight, so "
    "`sdss, smooth, {dust lane:1.3}` asks for a smooth galaxy in the SDSS look with a strong "
    "dust lane. A diffusion model learned, from real galaxies and their volunteers' votes, to "
    "turn random noise into a galaxy step by step while following those answers."
)
st.graphviz_chart(PIPELINE)
st.markdown(
    "The app then measures the generated galaxies against real ones (a judge network trained "
    "on real galaxies, Fréchet distances, diversity, statmorph measurements), uses them to "
    "train classifiers for rare morphologies with few real examples, and ranks survey galaxies "
    "as candidates for rare objects such as dusty early-type galaxies, after Ma et al. 2026 "
    "(ApJS 282, 25), who did this with Stable Diffusion 1.5 at 424 px."
)

run = ui.run_selector()
st.header(f"Model card: `{run.name}`")
card = model_card(run)
if card is None:
    st.info(
        f"Run `{run.name}` has no model card (`README.md` in its folder). Its settings are in "
        "`config.yaml`; the Home page summarises them."
    )
else:
    metadata, body = card
    if metadata:
        rows = [
            {"field": key, "value": ", ".join(map(str, value)) if isinstance(value, list) else str(value)}
            for key, value in metadata.items()
            if key != "model-index"
        ]
        st.dataframe(pd.DataFrame(rows), hide_index=True)
    st.markdown(body)

st.header("Citing and data credits")
st.markdown(
    "Cite the method as Ma et al. 2026, *Can AI Dream of Unseen Galaxies? Conditional Diffusion "
    "Model for Galaxy Morphology Augmentation*, ApJS 282, 25 (arXiv:2506.16233), and this "
    "software with its `CITATION.cff`."
)
if CREDITS.is_file():
    with st.expander("Credits in full (CREDITS.md)", expanded=True):
        st.markdown(CREDITS.read_text(encoding="utf-8").split("\n", 1)[1])
