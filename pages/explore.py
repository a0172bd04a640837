"""Explore: a UMAP map of real and generated galaxies in the judge's feature space."""

import streamlit as st

from galaxysd.app import figures, jobs, ui
from galaxysd.app.appdata import map_folder
from galaxysd.app.hosting import hosting_policy
from galaxysd.evaluation.explore_job import fill_real_thumbnails, read_map

st.title("Explore the galaxy map")
run = ui.run_selector()
ui.require_model(run)


@st.cache_data(show_spinner=False, max_entries=4)
def map_with_thumbnails(run_path: str, stamp: float):
    found = read_map(run, [map_folder(run)])
    if found is None:
        return None
    table, meta = found
    return fill_real_thumbnails(table, ui.real_galaxies(run)), meta


def start_map_job():
    try:
        jobs.start_job(
            "explore",
            jobs.module_command("galaxysd.explore", {"run": str(run.path), "out_dir": str(map_folder(run))}),
            run_dir=str(run.path),
        )
    except jobs.JobRunning as error:
        st.session_state["explore_error"] = str(error)


latest = jobs.job_status("explore")


@st.fragment(run_every=3 if latest is not None and latest.active else None)
def job_progress():
    status = ui.job_panel("explore")
    if (
        status is not None
        and not status.active
        and status.run_dir == str(run.path)
        and status.state == "finished"
        and st.session_state.get("explore_seen") != status.ended
    ):
        st.session_state["explore_seen"] = status.ended
        st.rerun()


umap_file = next((f / "umap.csv" for f in (map_folder(run), run.eval_dir) if (f / "umap.csv").is_file()), None)
try:
    found = map_with_thumbnails(str(run.path), umap_file.stat().st_mtime if umap_file else 0)
except ValueError as error:
    st.error(str(error))
    found = None
if found is None:
    st.info(
        "This run has no galaxy map yet. Computing it embeds real and generated galaxies "
        "and fits UMAP in the background (about a minute on a CPU)."
    )
else:
    table, meta = found
    colour = st.radio("Colour by", ["source", "morphology", "domain"], horizontal=True, key="map_colour")
    st.altair_chart(figures.umap_chart(table, colour), width="stretch")
    st.caption(
        f"{meta.get('n_real', '?')} real and {meta.get('n_generated', '?')} generated galaxies "
        f"in {meta.get('features', 'feature')} space; hover a point to see the galaxy."
    )

jobs_allowed = hosting_policy().jobs_allowed
st.button(
    "Compute the map" if found is None else "Recompute the map",
    on_click=start_map_job,
    disabled=not jobs_allowed,
    help=None if jobs_allowed else "switched off on this public server (GALAXYSD_PUBLIC)",
)
if st.session_state.get("explore_error"):
    st.error(st.session_state.pop("explore_error"))
job_progress()
