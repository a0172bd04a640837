"""Real vs synthetic: real galaxies of a morphology beside generated ones, and each generated
galaxy's nearest real neighbours in feature space (a memorisation check)."""

import streamlit as st

from galaxysd.app import prompt_widgets, ui
from galaxysd.evaluation.run_results import run_domains
from galaxysd.morphology import DOMAIN_TAGS

st.title("Real vs synthetic")
run = ui.run_selector()
ui.require_model(run)

weights = prompt_widgets.prompt_box(run)
count = st.slider("Generated galaxies", 1, 8, 4, key="rvs_count")
k = st.slider("Nearest real neighbours shown", 1, 5, 3, key="rvs_neighbours")
domain = next((t for t in weights if t in DOMAIN_TAGS), (run_domains(run) or [None])[0])

real = ui.real_galaxies(run)
if real is None:
    st.info(
        "No real galaxies can be read for this run here: its training image caches and "
        "catalog images are not on this machine, and it has no evaluation sample sheets."
    )
    st.stop()
st.caption(f"Real galaxies from the run's {real.origin}, survey `{domain}`.")

real_col, generated_col = st.columns(2, gap="large")
with real_col:
    st.subheader("Real")
    rows = real.matching(weights, 8, seed=0, domain=domain)
    if len(rows):
        ui.image_grid(real.images(rows), list(real.catalog["id"].iloc[rows]), pixels=128)
    else:
        st.info(
            "No real galaxy of this survey has this morphology (vote fraction >= 0.5 for every tag weighted >= 0.5)."
        )
with generated_col:
    st.subheader("Generated")
    settings = {**ui.SAMPLING_DEFAULTS, "num_images": count}
    output = ui.generate(run, weights, settings, slot="rvs_generated")
    if output is not None:
        ui.image_grid(output.arrays, [f"seed {s}" for s in output.seeds], pixels=128)

index = ui.neighbour_index(run, domain)
if output is None or index is None:
    st.stop()
space = ui.cached_feature_space(run)
distances, neighbours = index.query(space.features(output.arrays), k=k)
typical = index.typical_distance()
st.subheader("Nearest real neighbours")
st.caption(
    f"Distances in {space.name}, among {len(index.rows)} real `{domain}` galaxies. "
    f"A real galaxy's nearest other real galaxy is typically {typical:.2f} away: a "
    "generated galaxy much closer than that to a real one may be a copy."
)
for i, image in enumerate(output.arrays):
    cells = st.columns(k + 1)
    cells[0].image(ui.display_image(image, 128), caption=f"generated, seed {output.seeds[i]}")
    for j, (distance, row) in enumerate(zip(distances[i], neighbours[i])):
        cells[j + 1].image(
            ui.display_image(real.images([row])[0], 128), caption=f"{real.catalog['id'].iloc[row]} · d = {distance:.2f}"
        )
