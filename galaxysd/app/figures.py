"""Charts of a run's results (plotly; altair for the map, whose tooltips show images).

Each function takes the table a job wrote and returns a figure; the app's pages only
place them. Dark template to match the app's theme.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

TEMPLATE = "plotly_dark"
COLOURS = {"real": "#f7c86a", "generated": "#7aa2f7"}
#: Plotly's mode bar hides chart titles; the charts are read, not edited.
PLOTLY_CONFIG = {"displayModeBar": False}
#: one colour and one name per training set, the same in every augmentation chart
TRAINING_SETS = {
    "real": ("real galaxies only", "#f7c86a"),
    "real+synthetic": ("real + synthetic", "#7aa2f7"),
    "reweighted": ("real, class-reweighted", "#9ece6a"),
}
#: physical statistic -> axis title with its definition / unit
STATISTIC_AXES = {
    "concentration": "concentration C = 5 log10(r80/r20)",
    "asymmetry": "asymmetry A (rotational, 180°)",
    "smoothness": "smoothness S (clumpiness)",
    "gini": "Gini coefficient of pixel fluxes",
    "m20": "M20 (log of brightest 20% second moment)",
    "ellipticity": "ellipticity 1 - b/a",
    "sersic_n": "Sérsic index n",
    "colour": "g-r-like colour (mag)",
}

#: metric -> (label, reference column drawn dashed, whether higher is better)
CURVE_METRICS = {
    "consistency": ("Consistency (judge finds the prompt's tags)", "consistency_real", True),
    "frechet": ("Fréchet distance to real (judge features)", "frechet_floor", False),
    "diversity": ("Diversity relative to real", None, True),
}
REFERENCE_LABELS = {"consistency_real": "real images (ceiling)", "frechet_floor": "real vs real (floor)"}


def curve_figure(curves: pd.DataFrame, prompt: str, metric: str) -> go.Figure:
    """One metric vs. training step for one prompt (``all`` = mean), with its real reference."""
    label, reference, _ = CURVE_METRICS[metric]
    rows = curves[curves["prompt"].astype(str) == str(prompt)].sort_values("step")
    fig = go.Figure(
        go.Scatter(
            x=rows["step"], y=rows[metric], mode="lines+markers", name="generated", line={"color": COLOURS["generated"]}
        )
    )
    if reference and reference in rows:
        fig.add_trace(
            go.Scatter(
                x=rows["step"],
                y=rows[reference],
                mode="lines",
                name=REFERENCE_LABELS[reference],
                line={"color": COLOURS["real"], "dash": "dash"},
            )
        )
    fig.update_layout(
        template=TEMPLATE,
        title=label,
        xaxis_title="training step",
        yaxis_title="Fréchet distance (log scale)" if metric == "frechet" else None,
        yaxis_type="log" if metric == "frechet" else None,  # spans 1,000s early to ~10 late
        height=320,
        margin={"t": 50, "b": 40},
        legend={"orientation": "h"},
    )
    return fig


def loss_figure(log: pd.DataFrame) -> go.Figure:
    """Training loss vs. step from ``train_log.jsonl`` (with a rolling mean)."""
    rows = log.dropna(subset=["loss"]).sort_values("step")
    fig = go.Figure(go.Scatter(x=rows["step"], y=rows["loss"], mode="lines", name="loss", line={"color": "#565f89"}))
    fig.add_trace(
        go.Scatter(
            x=rows["step"],
            y=rows["loss"].rolling(20, min_periods=1).mean(),
            mode="lines",
            name="rolling mean",
            line={"color": COLOURS["generated"]},
        )
    )
    fig.update_layout(
        template=TEMPLATE,
        title="Training loss",
        xaxis_title="step",
        height=320,
        margin={"t": 50, "b": 40},
        legend={"orientation": "h"},
    )
    return fig


def pareto_figure(points: pd.DataFrame, prompt: str, other: str) -> go.Figure:
    """Realism (Fréchet, lower is better) vs. ``diversity`` or ``consistency`` over the sweep,
    the Pareto front joined by a line; hover shows guidance, steps and sampler."""
    front_column = f"pareto_realism_{other}"
    rows = points[points["prompt"].astype(str) == str(prompt)].copy()
    on_front = rows[front_column].astype(str).str.lower() == "true" if front_column in rows else False
    rows["point"] = pd.Series(on_front, index=rows.index).map({True: "on the Pareto front", False: "dominated"})
    fig = px.scatter(
        rows,
        x="frechet",
        y=other,
        color="point",
        symbol="sampler",
        hover_data=["guidance", "steps", "sampler"],
        template=TEMPLATE,
        color_discrete_map={"on the Pareto front": COLOURS["real"], "dominated": COLOURS["generated"]},
        log_x=True,
    )
    front = rows[rows["point"] == "on the Pareto front"].sort_values("frechet")
    fig.add_trace(
        go.Scatter(
            x=front["frechet"],
            y=front[other],
            mode="lines",
            name="front",
            line={"color": COLOURS["real"], "dash": "dot"},
            hoverinfo="skip",
        )
    )
    fig.update_layout(
        title=f"Realism vs. {other} ({prompt})",
        height=380,
        margin={"t": 50},
        xaxis_title="Fréchet distance, log scale (lower = more realistic)",
        yaxis_title=other,
    )
    return fig


def histogram_figure(histograms: pd.DataFrame, statistic: str) -> go.Figure:
    """A physical statistic's distribution, real vs. generated (overlaid densities)."""
    rows = histograms[histograms["statistic"] == statistic]
    fig = go.Figure()
    for name, group in rows.groupby("set"):
        fig.add_trace(
            go.Bar(
                x=(group["bin_left"] + group["bin_right"]) / 2,
                y=group["density"],
                width=group["bin_right"] - group["bin_left"],
                name=f"{name} galaxies",
                marker={"color": COLOURS.get(str(name))},
                opacity=0.6,
            )
        )
    fig.update_layout(
        template=TEMPLATE,
        barmode="overlay",
        title=statistic,
        xaxis_title=STATISTIC_AXES.get(statistic, statistic),
        yaxis_title="density (share per unit)",
        height=280,
        margin={"t": 40, "b": 45, "l": 45, "r": 10},
        showlegend=True,
        legend={"orientation": "h"},
    )
    return fig


def augment_figure(table: pd.DataFrame, task: str, setting: str, metric: str) -> go.Figure:
    """Bars of one metric per task, one bar per training set (mean over remaining rows),
    with the ``{metric}_low`` / ``{metric}_high`` interval as error bars when present."""
    columns = [c for c in (metric, f"{metric}_low", f"{metric}_high") if c in table]
    means = table.dropna(subset=[metric]).groupby([task, setting], as_index=False)[columns].mean()
    bounds = {}
    if len(columns) == 3:
        bounds = {
            "error_y": means[f"{metric}_high"] - means[metric],
            "error_y_minus": means[metric] - means[f"{metric}_low"],
        }
    means[setting] = means[setting].map(lambda s: TRAINING_SETS.get(str(s), (str(s),))[0])
    colours = {name: colour for name, colour in TRAINING_SETS.values()}
    fig = px.bar(
        means,
        x=task,
        y=metric,
        color=setting,
        barmode="group",
        template=TEMPLATE,
        color_discrete_map=colours,
        category_orders={setting: [name for name, _ in TRAINING_SETS.values()]},
        labels={setting: "trained on", task: "task"},
        **bounds,
    )
    fig.update_layout(title=metric, height=340, margin={"t": 50}, yaxis_range=[0, 1.05], yaxis_title=metric)
    return fig


def umap_chart(table: pd.DataFrame, colour: str) -> alt.Chart:
    """The galaxy map: one point per galaxy coloured by ``colour``; the tooltip shows the image."""
    data = table.rename(columns={"thumbnail": "image"})
    scale = (
        alt.Scale(domain=list(COLOURS), range=list(COLOURS.values()))
        if colour == "source"
        else alt.Scale(scheme="tableau10")
    )
    return (
        alt.Chart(data)
        .mark_circle(size=45, opacity=0.8)
        .encode(
            x=alt.X("x", axis=None),
            y=alt.Y("y", axis=None),
            color=alt.Color(colour, scale=scale, legend=alt.Legend(orient="bottom")),
            tooltip=["image", "source", "morphology", "prompt", "galaxy_id"],
        )
        .properties(height=600)
        .interactive()
    )
