"""Candidates: dusty early-type galaxies found by the rare-object search; browse, inspect on
the sky, mark confirmed/rejected with a note, export."""

import pandas as pd
import streamlit as st

from galaxysd.app import candidate_table as ct
from galaxysd.app import ui
from galaxysd.app.hosting import hosting_policy
from galaxysd.evaluation.results_tables import few_positive_frame

st.title("Dusty early-type candidates")
run = ui.run_selector()
run_key = ui.run_label(run)
try:
    table = ct.load_candidates(run)
except ValueError as error:
    st.error(str(error))
    st.stop()
if table is None or not len(table):
    ui.missing(
        "The candidate catalogue (discover/candidates.csv)",
        f"python -m galaxysd.discover --run {run_key} --catalog ...",
    )
    st.stop()
db = ui.database()
table = ct.with_marks(table, db.candidate_marks(run_key))
summary = ct.search_summary(run)
if summary is not None and len(summary):
    with st.expander("Search summary (discover/summary.json)"):
        st.dataframe(summary, width="stretch")
few = few_positive_frame(run)
if few is not None:
    with st.expander("With few real positives, do synthetic ones help? (discover/demo_eval.json)"):
        st.caption(
            "Detectors trained on 0, 3 or 7 real dusty early types, with and without the synthetic set, and "
            "the mean of the two, ranking the held-out half of a survey with planted truth (mean over random "
            "draws of the positives). The search ranks by the synthetic-augmented detector below 7 real "
            "positives and by the mean of both from 7 on (marked: the search's ranking)."
        )
        percent = st.column_config.NumberColumn(format="percent")
        st.dataframe(
            few,
            hide_index=True,
            width="stretch",
            column_config={
                "recall in top 50": percent,
                "recall in top 200": percent,
                "average precision": st.column_config.NumberColumn(format="%.2f"),
            },
        )

with st.sidebar:
    st.subheader("Filter")
    catalogs = sorted(table["catalog"].astype(str).unique()) if "catalog" in table else []
    catalog = (
        st.selectbox("Catalog", catalogs, index=ct.default_catalog(catalogs), key="cand_catalog")
        if len(catalogs) > 1
        else None
    )
    min_score = st.slider(
        "Minimum score",
        0.0,
        1.0,
        ct.DEFAULT_MIN_SCORE,
        step=0.05,
        key="cand_min_score",
        help="the detector's probability of a dusty early type; 0.5 is the search's own threshold",
    )
    known = st.radio(
        "Catalogue status",
        ct.KNOWN_CHOICES,
        horizontal=True,
        key="cand_known",
        help="known: the catalogue already labels a dust lane (and perhaps a dusty early type); new: nothing known",
    )
    mark = st.selectbox("Your marks", ct.MARK_CHOICES, key="cand_mark")
    sort_by = st.selectbox("Sort by", ["score", "rank", "ra", "dec"], key="cand_sort")
    descending = st.toggle("Descending", value=sort_by == "score", key=f"cand_desc_{sort_by}")
    per_page = st.selectbox("Per page", [12, 24, 48], key="cand_per_page")

shown = ct.filter_candidates(table, min_score, known, mark, sort_by, descending, catalog)
top = st.columns([3, 1, 1], vertical_alignment="bottom")
top[0].caption(
    f"{len(shown)} of {len(table)} candidates · {int(table['known'].sum())} already known · "
    f"{int((table['mark'] == 'confirmed').sum())} confirmed, "
    f"{int((table['mark'] == 'rejected').sum())} rejected by you"
)
top[2].download_button(
    "Export CSV",
    shown.drop(columns=["local_image"]).to_csv(index=False),
    file_name=f"candidates_{run.name}.csv",
    mime="text/csv",
    on_click="ignore",
)
if not len(shown):
    st.info("No candidate passes these filters.")
    st.stop()
_, pages = ct.page_of(shown, 1, per_page)
page = top[1].number_input("Page", 1, pages, 1, key="cand_page")
rows, _ = ct.page_of(shown, page, per_page)


def picture(record: dict, pixels: int) -> None:
    """The local thumbnail, else the SDSS cutout of the coordinates (loaded by the browser)."""
    if record["local_image"]:
        st.image(record["local_image"], width="stretch")
    elif ct.has_coordinates(record):
        ui.remote_image(ct.sdss_cutout_url(record["ra"], record["dec"], pixels), alt="SDSS cutout")
    else:
        ui.empty_box("no image or coordinates")


records = rows.to_dict("records")
for start in range(0, len(records), 6):
    for cell, record in zip(st.columns(6), records[start : start + 6]):
        with cell:
            picture(record, 128)
            st.caption(
                f"#{record['rank']} · {record['id']} · {record['score']:.3f} · "
                f"{ct.known_label(record)}" + (f" · {record['mark']}" if record["mark"] else "")
            )

st.divider()
chosen = st.selectbox(
    "Details of",
    [r["id"] for r in records],
    key="cand_detail",
    format_func=lambda i: f"{i} (score {shown.set_index('id').loc[i, 'score']:.3f})",
)
record = next(r for r in records if r["id"] == chosen)
left, middle, right = st.columns([1, 1, 1], gap="large")
with left:
    picture(record, 256)
    if ct.has_coordinates(record):
        ra, dec = record["ra"], record["dec"]
        st.markdown(f"RA {ra:.5f}°, Dec {dec:+.5f}°")
        st.link_button("SDSS SkyServer Navigate", ct.sdss_navigate_url(ra, dec))
        st.link_button("Legacy Surveys viewer", ct.legacy_viewer_url(ra, dec))
        ui.remote_image(ct.legacy_cutout_url(ra, dec), "Legacy Surveys DR10 cutout", alt="Legacy Surveys cutout")
    elif (object_id := ct.sdss_object_id(record)) is not None:
        st.caption("No sky coordinates in this catalog; SkyServer finds it by its SDSS object id.")
        st.link_button("SDSS SkyServer Explore", ct.sdss_explore_url(object_id))
    else:
        st.caption("No sky coordinates for this galaxy.")
with middle:
    st.markdown(f"**{record['id']}** · score {record['score']:.3f} · rank {record['rank']} · {ct.known_label(record)}")
    facts = ct.candidate_facts(record)
    if facts:
        st.dataframe(pd.Series(facts, name="value").astype(str), width="stretch")
    fractions = ct.vote_fractions(record)
    if len(fractions):  # tall enough for every row: readable without scrolling
        st.dataframe(
            fractions,
            hide_index=True,
            height=36 * (len(fractions) + 1) + 3,
            column_config={"fraction": st.column_config.ProgressColumn("fraction", min_value=0.0, max_value=1.0)},
        )
    else:
        st.caption("No vote fractions for this galaxy.")
with right:
    status_key, note_key = f"mark_status_{record['id']}", f"mark_note_{record['id']}"

    policy = hosting_policy()
    if policy.marking_needs_password:
        st.text_input(
            "Password for marks (set by the host)",
            type="password",
            key="mark_password",
            disabled=not policy.marking_possible,
            help=None if policy.marking_possible else "this server takes no marks (no GALAXYSD_MARK_PASSWORD)",
        )

    def save_mark():
        try:
            if not policy.password_ok(st.session_state.get("mark_password")):
                raise ValueError("marks on this public server need the host's password")
            note = policy.check_note(st.session_state[note_key])
            db.mark_candidate(run_key, record["id"], st.session_state[status_key], note)
            st.session_state["mark_saved"] = f"Saved: {record['id']} {st.session_state[status_key]}."
        except ValueError as error:
            st.session_state["mark_saved"] = f"error: {error}"

    with st.form("mark_form"):
        st.radio(
            "Your verdict",
            ["confirmed", "rejected"],
            key=status_key,
            horizontal=True,
            index=1 if record["mark"] == "rejected" else 0,
        )
        st.text_area("Note", value=record["note"], key=note_key, max_chars=policy.max_note)
        st.form_submit_button("Save mark", on_click=save_mark, disabled=not policy.marking_possible)
    message = st.session_state.pop("mark_saved", None)
    if message:
        (st.error if message.startswith("error") else st.success)(message)
    if record["mark"]:
        st.caption(f"Current mark: {record['mark']}" + (f" — {record['note']}" if record["note"] else ""))
