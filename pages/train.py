"""Train: launch ``python -m galaxysd.train`` in the background and follow it live."""

from pathlib import Path

import streamlit as st

from galaxysd.app import figures, jobs, ui
from galaxysd.app.hosting import hosting_policy
from galaxysd.app.train_launcher import (
    DEMO_ON_DEMAND,
    KIND,
    TrainingRequest,
    data_lines,
    start_training,
    training_progress,
)
from galaxysd.model.unet_presets import PRESETS
from galaxysd.runs import RunDir

st.title("Train a model")
run = ui.run_selector()
if not hosting_policy().jobs_allowed:
    st.info(
        "Training from the browser is switched off on this public server (GALAXYSD_PUBLIC). "
        "Train on your own machine with `python -m galaxysd.train`; the README shows how."
    )
    st.stop()
latest = jobs.job_status(KIND)
busy = latest is not None and latest.active

with st.form("train_form"):
    st.caption(
        "Starts a training job in the background; it keeps running when you leave this "
        "page or reload it, and the finished run appears in the sidebar's run list."
    )
    name = st.text_input("Run name (written to runs/<name>)", value=f"{run.name}-retrain", key="train_name")
    data = st.text_area(
        r"Training catalogs, one per line: KIND:PATH\[@SURVEY\]\[\*SHARE\]",
        value="\n".join(data_lines(run, available_only=True)) or "demo:.data/demo@demo",
        help="e.g. gz1:../shared/data/gz1-sdss@sdss*0.5 or demo:.data/demo-10k@demo; "
        "end a line with +dust_lane to show that catalog's smooth galaxies crossed by a simulated dust lane "
        "(standard-look examples of the dust-lane answer, labelled odd feature and dust lane), "
        "or with +dust_lane_leaf to label them dust lane alone; "
        "make a demo survey with `python -m galaxysd.data demo --n 2000 --out .data/demo`",
    )
    left, right = st.columns(2)
    model = left.selectbox("Model preset", list(PRESETS), index=list(PRESETS).index("cpu-default"), key="train_model")
    max_steps = right.number_input("Steps", 1, 1_000_000, 2000, step=100)
    batch_size = left.number_input("Batch size", 1, 4096, 32)
    learning_rate = right.number_input("Learning rate", 1e-7, 1.0, 5e-4, format="%.1e")
    budget = left.number_input("Time budget, minutes (0 = none)", 0.0, 10_000.0, 0.0)
    seed = right.number_input("Seed", 0, 2**31 - 1, 0)
    checkpoint_every = left.number_input("Checkpoint every (steps)", 1, 1_000_000, 500)
    sample_every = right.number_input("Sample grid every (steps)", 1, 1_000_000, 500)
    resume = st.checkbox("Resume runs/<name> from its latest checkpoint")
    make_demo = st.checkbox(
        f"Make a missing demo survey first ({DEMO_ON_DEMAND:,} galaxies, about 10 s)",
        value=True,
        help="a demo: catalog whose folder does not exist yet is rendered before training starts",
    )
    submitted = st.form_submit_button("Start training", disabled=busy, type="primary")

if submitted:
    request = TrainingRequest(
        name=name.strip(),
        data=data.splitlines(),
        model=model,
        max_steps=int(max_steps),
        batch_size=int(batch_size),
        learning_rate=float(learning_rate),
        seed=int(seed),
        time_budget_minutes=float(budget) or None,
        checkpoint_every=int(checkpoint_every),
        sample_every=int(sample_every),
        resume=resume,
        make_missing_demo=make_demo,
    )
    try:
        latest = start_training(request)
        busy = True
    except (ValueError, jobs.JobRunning) as error:
        st.error(str(error))


@st.fragment(run_every=2 if busy else None)
def live_progress():
    status = ui.job_panel(KIND)
    if status is None:
        st.caption("No training job has been started from the app yet.")
        return
    if status.run_dir and not Path(status.run_dir).is_dir() and not status.active:
        st.caption("The job ended before its first checkpoint, so its run folder was removed; its log is above.")
    elif status.run_dir and not training_progress(status.run_dir)["max_steps"]:
        st.caption("Preparing: making or loading the training data (no training step yet).")
    elif status.run_dir:
        progress = training_progress(status.run_dir)
        st.progress(
            progress["fraction"],
            text=f"step {progress['step']:,} of {progress['max_steps']:,}"
            + (f" · loss {progress['loss']:.4f}" if progress["loss"] is not None else "")
            + (f" · {progress['images_per_s']:.1f} images/s" if progress["images_per_s"] else ""),
        )
        if len(progress["log"]) and "loss" in progress["log"]:
            ui.chart(figures.loss_figure(progress["log"]))
        grids = RunDir(Path(status.run_dir)).sample_grids()
        if grids:
            st.image(str(grids[-1]), caption=f"latest sample grid: {grids[-1].name}")
    if busy and not status.active:
        st.rerun()  # the job ended: refresh the whole page (form, run list)


st.subheader("Training job")
live_progress()
