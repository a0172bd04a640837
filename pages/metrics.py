"""Metrics: consistency, realism and diversity vs. training step; Pareto fronts over the
sampling sweep; physical statistics of real vs. generated galaxies."""

import pandas as pd
import streamlit as st

from galaxysd.app import figures, ui
from galaxysd.evaluation.run_results import (
    eval_curves,
    eval_histograms,
    eval_metrics,
    eval_metrics_in_other_looks,
    eval_pareto,
    eval_tag_response,
    format_number,
    judge_trust,
    stale_judge_files,
)

EVALUATE = "python -m galaxysd.evaluate --run {run}"
RESPONSE = "python -m galaxysd.evaluate response --run {run}"
PROMPT_COLUMNS = [
    "key",
    "label",
    "consistency",
    "consistency_real",
    "frechet",
    "frechet_floor",
    "diversity",
    "closest_pair",
    "closest_pair_real",
    "n_generated",
    "n_real",
]


def prompt_table(prompts: list[dict]) -> pd.DataFrame:
    """The per-prompt columns that a metrics file has (older files lack the closest pair)."""
    table = pd.DataFrame(prompts)
    return table[[c for c in PROMPT_COLUMNS if c in table]]


st.title("Metrics")
run = ui.run_selector()
command = EVALUATE.format(run=ui.run_label(run))

try:
    metrics, curves, other_looks = eval_metrics(run), eval_curves(run), eval_metrics_in_other_looks(run)
    pareto, histograms = eval_pareto(run), eval_histograms(run)
    response, trust, stale = eval_tag_response(run), judge_trust(run), stale_judge_files(run)
except ValueError as error:
    st.error(str(error))
    st.stop()

if metrics:
    s = metrics["summary"]
    cols = st.columns(4)
    cols[0].metric(
        "Consistency",
        format_number(s["consistency"], ".3f"),
        help="share of generated images in which the judge finds every tag of the prompt",
    )
    cols[0].caption(f"real images of those morphologies: {format_number(s['consistency_real'], '.3f')}")
    cols[1].metric(
        "Fréchet distance",
        format_number(s["frechet"], ".2f"),
        help="between generated and real images in the judge's feature space (lower is better)",
    )
    cols[1].caption(f"real vs. real floor: {format_number(s['frechet_floor'], '.2f')}")
    cols[2].metric(
        "Diversity",
        format_number(s["diversity"], ".2f"),
        help="mean pairwise feature distance of generated images relative to real ones",
    )
    cols[2].caption("1 = as diverse as real galaxies of the prompt's morphology")
    quiz = ui.database().realism(ui.run_label(run))
    cols[3].metric(
        "Human realism (quiz)",
        format_number(quiz["human_realism"], ".2f"),
        help="from the answers to the 'spot the fake' quiz: 1 = fakes found no more "
        "often than by guessing, 0 = always found",
    )
    cols[3].caption(f"{quiz['answers']} quiz answers")
    with st.expander("Per prompt"):
        st.caption(
            "closest_pair: the two most alike of the first 16 generated images, in units of the real "
            "galaxies' mean pair distance (closest_pair_real: the same for 16 real ones); near 0 means "
            "two seeds gave the same galaxy."
        )
        st.dataframe(prompt_table(metrics["prompts"]), hide_index=True)
    for look, other in other_looks.items():
        with st.expander(f"Per prompt in the {look} look"):
            summary = other["summary"]
            st.caption(
                f"The same prompts with the survey tag `{look}`, against that survey's training images: "
                f"mean consistency {format_number(summary['consistency'], '.2f')} (real "
                f"{format_number(summary['consistency_real'], '.2f')}), diversity "
                f"{format_number(summary['diversity'], '.2f')} of real."
            )
            st.dataframe(prompt_table(other["prompts"]), hide_index=True)
else:
    ui.missing("The evaluation (eval/metrics.json)", command)
if stale:
    st.warning(
        f"{', '.join(stale)} {'was' if len(stale) == 1 else 'were'} scored with another judge than this run's "
        f"eval/judge, so {'its' if len(stale) == 1 else 'their'} numbers are not on the same scale; "
        f"rerun the evaluation (`{command}`) to rescore."
    )
if trust is not None:
    basis, trust_table = trust
    judged = int((trust_table["judged"] == "yes").sum())
    with st.expander(f"Which answers the judge judges ({judged} of {len(trust_table)})"):
        st.caption(
            f"Held-out AUC on the {basis}; consistency and the slider table judge only answers with AUC >= 0.8 "
            "there, the others are listed as unjudged (AUC empty: too few labelled galaxies to check)."
        )
        st.dataframe(trust_table, hide_index=True)

st.header("Does each slider work?")
if response is not None and len(response):
    works = int((response["works"] == "yes").sum())
    st.caption(
        f"{works} of {len(response)} answers that the training data labels work as sliders: moving one from 0 "
        "to 1.5 at 16 fixed seeds raises the judge's probability of it (interval above zero) where the judge "
        "is trusted for it on real SDSS galaxies, and otherwise changes the images at least as much as a new "
        "seed does; the weight 1.5 is sampled with the answer boost shown (the app's default). Where measured, "
        "*real galaxies' p change* is how much the judge's probability differs "
        "between real held-out galaxies of the slider's base morphology and those that also show the answer: "
        "about what a perfect slider would give."
    )
    st.dataframe(response, hide_index=True, width="stretch")
else:
    ui.missing(
        "The slider response table (eval/tag_response.csv)",
        f"python -m galaxysd.evaluate response --run {ui.run_label(run)}",
    )

st.header("During training")
log = run.train_log()
if len(log) and "loss" in log:
    ui.chart(figures.loss_figure(log))
if curves is not None and len(curves):
    prompts = sorted(curves["prompt"].astype(str).unique(), key=lambda p: (p != "all", p))
    prompt = st.selectbox("Prompt", prompts, key="curve_prompt")
    for col, metric in zip(st.columns(3), figures.CURVE_METRICS):
        ui.chart(figures.curve_figure(curves, prompt, metric), col)
else:
    ui.missing("Metric curves over checkpoints (eval/curves.csv)", command)

st.header("Pareto fronts over guidance and steps")
if pareto is not None and len(pareto):
    prompts = sorted(pareto["prompt"].astype(str).unique(), key=lambda p: (p != "all", p))
    prompt = st.selectbox("Prompt", prompts, key="pareto_prompt")
    left, right = st.columns(2)
    ui.chart(figures.pareto_figure(pareto, prompt, "diversity"), left)
    ui.chart(figures.pareto_figure(pareto, prompt, "consistency"), right)
else:
    ui.missing("The sampling sweep (eval/pareto.csv)", command)

st.header("Physical statistics, real vs. generated")
if histograms is not None and len(histograms):
    statistics = list(dict.fromkeys(histograms["statistic"]))
    for start in range(0, len(statistics), 4):
        for col, name in zip(st.columns(4), statistics[start : start + 4]):
            ui.chart(figures.histogram_figure(histograms, name), col)
    physical = (metrics or {}).get("physical", {}).get("statistics")
    if physical:
        st.dataframe(pd.DataFrame(physical).T.rename_axis("statistic"), width="stretch")
        st.caption(
            "w1: Wasserstein distance between the real and generated distributions; "
            "w1_scaled: the same in units of the real spread."
        )
else:
    ui.missing("Physical statistics (eval/histograms.csv)", command)
