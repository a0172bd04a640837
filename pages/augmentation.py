"""Augmentation: purity and completeness of classifiers trained on real vs. real+synthetic."""

import streamlit as st

from galaxysd.app import figures, ui
from galaxysd.evaluation.run_results import augment_layout, augment_markdown, augment_results, augment_splits

st.title("Augmentation")
st.markdown(
    "The same classifier trained on real images only and on real plus generated "
    "images, scored on held-out real images: purity (precision) and completeness (recall)."
)
run = ui.run_selector()
try:
    table = augment_results(run)
except ValueError as error:
    st.error(str(error))
    st.stop()
if table is None:
    ui.missing("The augmentation study (augment/results.csv)", f"python -m galaxysd.augment --run {ui.run_label(run)}")
    st.stop()

task, setting, metrics = augment_layout(table)
shown = table
for col, (column, values) in zip(st.columns(3), augment_splits(table).items()):
    choice = col.selectbox(column, values, key=f"augment_{column}")
    shown = shown[shown[column].astype(str) == choice]
charts, table_tab, summary_tab = st.tabs(["Charts", "Table (filtered)", "Summary of every setting"])
with charts:
    if task and setting and metrics:
        for col, metric in zip(st.columns(len(metrics)), metrics):
            ui.chart(figures.augment_figure(shown, task, setting, metric), col)
        st.caption("Bars: mean over the rows chosen above; whiskers: 95% bootstrap interval.")
    else:
        st.info(
            "This results table has no task / training-set / purity / completeness columns to plot; "
            "it is shown as written."
        )
with table_tab:
    st.dataframe(shown, hide_index=True)
    st.caption(f"{len(shown)} of {len(table)} rows (the filters above apply).")
with summary_tab:
    summary = augment_markdown(run)
    if summary:
        st.markdown(summary)
    else:
        st.caption("The job wrote no summary (augment/results.md).")
