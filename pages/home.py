"""Home: what GalaxySD does, the run in use, and where to go next."""

import streamlit as st

from galaxysd.app import ui
from galaxysd.evaluation.run_results import run_summary, training_outcome

st.title("GalaxySD")
st.markdown(
    "GalaxySD trains a diffusion model on Galaxy Zoo galaxies and generates new ones from "
    "weighted morphology prompts such as `sdss, smooth, {dust lane:1.3}`. "
    "It measures how real, diverse and faithful the generated galaxies are, and uses them to "
    "train better morphology classifiers. "
    "With those classifiers it searches surveys for rare objects such as dusty early-type "
    "galaxies (after Ma et al. 2026, ApJS 282, 25)."
)

run = ui.run_selector()
summary = run_summary(run)
st.subheader(f"Run in use: `{run.name}`")
cols = st.columns(4)
cols[0].metric("Training steps", f"{summary['steps']:,}", help="optimizer steps of the model in use")
minutes = summary["wall_minutes"]
cols[1].metric("Training time", f"{int(minutes // 60)} h {int(minutes % 60):02d} min" if minutes else "unknown")
cols[2].metric("Image size", f"{summary['image_size']} px" if summary["image_size"] else "no model yet")
cols[3].metric("Model on disk", f"{summary['model_mb']} MB")
st.caption(
    f"Training {training_outcome(summary, run.config())} · model preset: {summary['model']} · "
    f"surveys: {', '.join(summary['domains']) or 'unknown'} · folder: `{run.path}`"
)
if len(summary["data"]):
    st.markdown("**Training data**")
    st.dataframe(summary["data"], hide_index=True)

st.subheader("Pages")
links = [
    ("pages/generate.py", "Generate galaxies from morphology sliders or a prompt"),
    ("pages/real_vs_synthetic.py", "Compare with real galaxies and their nearest neighbours"),
    ("pages/quiz.py", "Quiz: spot the generated galaxy among real ones"),
    ("pages/metrics.py", "Consistency, realism and diversity curves, Pareto fronts"),
    ("pages/explore.py", "UMAP map of real and generated galaxies"),
    ("pages/augmentation.py", "Classifier purity/completeness with synthetic data"),
    ("pages/candidates.py", "Dusty early-type galaxy candidates"),
    ("pages/interpolate.py", "Morph one morphology into another at a fixed seed"),
    ("pages/train.py", "Train a new model"),
    ("pages/about.py", "How GalaxySD works, the model card, citing and data credits"),
]
for page, text in links:
    st.page_link(page, label=text)
