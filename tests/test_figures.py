"""The app's charts are readable: log Fréchet axes, legends in words, one colour per training
set in every chart, axis titles on histograms, no mode bar over titles."""

from __future__ import annotations

import pandas as pd

from galaxysd.app import figures


def test_frechet_curves_use_a_log_axis_and_the_others_do_not():
    curves = pd.DataFrame(
        {
            "step": [500, 1000, 2000, 500, 1000, 2000],
            "prompt": ["all"] * 6,
            "frechet": [1175.0, 702.0, 22.4] * 2,
            "frechet_floor": [2.8] * 6,
            "consistency": [0.0, 0.1, 0.4] * 2,
            "consistency_real": [0.6] * 6,
            "diversity": [1.0] * 6,
        }
    )
    assert figures.curve_figure(curves, "all", "frechet").layout.yaxis.type == "log"
    assert figures.curve_figure(curves, "all", "consistency").layout.yaxis.type is None


def test_pareto_legend_is_in_words_and_frechet_is_logarithmic():
    points = pd.DataFrame(
        {
            "prompt": ["all"] * 3,
            "frechet": [50.0, 600.0, 55.0],
            "diversity": [1.4, 14.0, 1.5],
            "guidance": [3.0, 7.5, 3.0],
            "steps": [20, 10, 10],
            "sampler": ["dpmpp", "dpmpp_sde", "dpmpp"],
            "pareto_realism_diversity": [True, True, False],
        }
    )
    fig = figures.pareto_figure(points, "all", "diversity")
    names = {trace.name.split(",")[0] for trace in fig.data}
    assert {"on the Pareto front", "dominated"} <= names and not names & {"True", "False"}
    assert fig.layout.xaxis.type == "log"


def test_training_sets_keep_their_names_and_colours_in_every_augmentation_chart():
    table = pd.DataFrame(
        {
            "task": ["spiral", "spiral", "bar", "bar", "bar"],
            "training": ["real", "real+synthetic", "real+synthetic", "reweighted", "real"],
            "f1": [0.1, 0.9, 0.3, 0.4, 0.2],
        }
    )
    colours = {}
    for metric_table in (table, table[table["task"] == "bar"]):
        for trace in figures.augment_figure(metric_table, "task", "training", "f1").data:
            colours.setdefault(trace.name, set()).add(trace.marker.color)
    assert set(colours) == {"real galaxies only", "real + synthetic", "real, class-reweighted"}
    assert all(len(c) == 1 for c in colours.values())
    assert colours["real + synthetic"] == {figures.TRAINING_SETS["real+synthetic"][1]}


def test_histograms_have_axis_titles_and_words_in_the_legend():
    histograms = pd.DataFrame(
        {
            "statistic": ["ellipticity"] * 2,
            "set": ["real", "generated"],
            "bin_left": [0.0, 0.0],
            "bin_right": [0.5, 0.5],
            "count": [3, 4],
            "density": [1.2, 1.6],
        }
    )
    fig = figures.histogram_figure(histograms, "ellipticity")
    assert fig.layout.xaxis.title.text == "ellipticity 1 - b/a" and "density" in fig.layout.yaxis.title.text
    assert {trace.name for trace in fig.data} == {"real galaxies", "generated galaxies"}
    assert figures.PLOTLY_CONFIG == {"displayModeBar": False}
