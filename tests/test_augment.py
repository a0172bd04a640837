"""The augmentation study: real vs real + synthetic vs reweighted classifiers, on a small demo
survey with a generator that renders what the prompt asks for."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from science_fakes import SIZE, MatchingRenderer

import galaxysd.science.augment_study as study
from galaxysd.data.demo import render_demo_survey
from galaxysd.morphology import answer, fraction_column
from galaxysd.science import augment_job as augment_module
from galaxysd.science.augment_job import augment, main
from galaxysd.science.augment_study import RESULT_COLUMNS, AugmentSettings, split_task
from galaxysd.science.binary_tasks import BinaryTask, known_cumulative_fractions, resolve_tasks, task_labels
from galaxysd.science.detection_metrics import BootstrapPlan, bootstrap_difference, bootstrap_scores

pytestmark = pytest.mark.slow  # trains, renders or runs jobs end to end

SETTINGS = AugmentSettings(
    shots=(10, None),
    seeds=2,
    n_synthetic=48,
    epochs=6,
    batch_size=32,
    max_train_majority=120,
    bootstrap=200,
    classifier_size=16,
    widths=(8, 16),
    device="cpu",
)
TASKS = resolve_tasks(["edge-on", "spiral", "merger"])


@pytest.fixture(scope="module")
def studied(tmp_path_factory):
    root = tmp_path_factory.mktemp("augment")
    render_demo_survey(500, root / "survey", size=SIZE, seed=1, workers=1, progress=False)
    run = root / "run"
    run.mkdir()
    spec = f"demo:{root / 'survey'}"
    generator = MatchingRenderer()
    results = augment(
        run,
        [spec],
        TASKS,
        SETTINGS,
        cache_root=root / "cache",
        workers=1,
        generator=generator,
        image_size=SIZE,
        progress=False,
    )
    return run, spec, root, results, generator


def test_results_have_documented_columns_and_consistent_numbers(studied):
    run, spec, _, results, _ = studied
    written = pd.read_csv(run / "augment" / "results.csv")
    assert list(written.columns) == list(RESULT_COLUMNS)
    assert all(f"``{c}``" in augment_module.__doc__ for c in RESULT_COLUMNS if "_" not in c[-5:])
    done = written[written["note"].isna()]
    assert set(done["task"]) == {"edge-on", "spiral"}
    assert len(done) == 2 * 2 * 3  # tasks x few-shot settings x trainings
    for metric in ("purity", "completeness", "f1"):
        values = done[[f"{metric}_low", metric, f"{metric}_high"]].dropna()
        assert ((values >= 0) & (values <= 1)).all().all()
        assert (values[f"{metric}_low"] <= values[metric] + 1e-9).all()
        assert (values[metric] <= values[f"{metric}_high"] + 1e-9).all()
    few = done[done["shots"] == "10"]
    assert (few["n_train_positives"] == 10).all()
    augmented = done[done["training"] == "real+synthetic"]
    assert (augmented["synthetic_side"] == "positive").all()
    assert (augmented["n_synthetic"] == SETTINGS.n_synthetic).all()
    assert done.loc[done["training"] == "real", "f1_gain"].isna().all()
    expected_gain = augmented["f1"].to_numpy() - done[done["training"] == "real"]["f1"].to_numpy()
    np.testing.assert_allclose(augmented["f1_gain"], expected_gain, atol=1e-9)
    merger = written[written["task"] == "merger"]
    assert len(merger) == 1 and "too few real positives" in merger["note"].iat[0]
    assert merger["f1"].isna().all()
    markdown = (run / "augment" / "results.md").read_text()
    assert "| edge-on | 10 | real+synthetic |" in markdown and "*merger*: not studied" in markdown


def test_faithful_synthetic_positives_raise_few_shot_f1(studied):
    _, _, _, results, _ = studied
    few = results[(results["shots"] == "10") & results["note"].isna()].set_index(["task", "training"])
    for task in ("edge-on", "spiral"):
        assert few.loc[(task, "real+synthetic"), "f1"] > few.loc[(task, "real"), "f1"] + 0.1
        assert few.loc[(task, "real+synthetic"), "f1_gain_high"] > 0


def test_resumed_study_reuses_every_model_and_synthetic_set(studied, monkeypatch):
    run, spec, root, results, _ = studied

    def no_training(*args, **kwargs):
        raise AssertionError("a finished model was trained again")

    monkeypatch.setattr(study, "train_classifier", no_training)
    generator = MatchingRenderer()
    again = augment(
        run,
        [spec],
        TASKS,
        SETTINGS,
        cache_root=root / "cache",
        workers=1,
        generator=generator,
        image_size=SIZE,
        progress=False,
    )
    assert generator.calls == 0
    pd.testing.assert_frame_equal(results, again)


def test_held_out_split_is_disjoint_stratified_and_capped():
    labels = np.full(1000, np.nan)
    labels[:100], labels[100:900] = 1.0, 0.0
    settings = AugmentSettings(test_fraction=0.3, max_test=200, max_train_majority=300)
    split = split_task(labels, settings, seed=0)
    train = np.concatenate([split.pool_positives, split.pool_negatives])
    assert not set(split.test) & set(train)
    assert len(split.test) == 200 and split.test_labels.sum() == round(30 * 200 / 270)
    assert (labels[split.test] == split.test_labels).all()
    assert len(split.pool_positives) == 100 - split.test_labels.sum()
    assert len(split.pool_negatives) == 300
    assert np.isnan(labels[train]).sum() == 0


def test_labels_treat_unknown_fractions_as_unknown():
    catalog = pd.DataFrame(
        np.nan,
        index=range(3),
        columns=[
            fraction_column(answer(t))
            for t in (
                "smooth",
                "features or disk-shaped",
                "edge-on galaxy",
                "not edge-on",
                "bar-shaped structure in the galaxy center",
            )
        ],
    )
    catalog.iloc[0, :2] = [1.0, 0.0]  # a GZ1 elliptical: not a disk, so known not barred
    catalog.iloc[1, :4] = [0.0, 1.0, 0.0, 1.0]  # a GZ1 face-on spiral: bars unknown
    catalog.iloc[2] = [0.1, 0.9, 0.1, 0.9, 0.7]  # a GZ2 barred spiral (0.9 * 0.9 * 0.7 = 0.567)
    fractions = known_cumulative_fractions(catalog)
    bar = task_labels(fractions, BinaryTask("bar", ("bar",)))
    assert bar[0] == 0.0 and np.isnan(bar[1]) and bar[2] == 1.0
    assert fractions.loc[2, "bar-shaped structure in the galaxy center"] == pytest.approx(0.567)
    assert np.isnan(fractions.loc[0, "dust lane"])


def test_task_prompt_names_the_parent_answers():
    prompt = resolve_tasks(["bar"])[0].prompt("sdss")
    assert prompt == {
        "sdss": 1.0,
        "features or disk-shaped": 1.0,
        "not edge-on": 1.0,
        "bar-shaped structure in the galaxy center": 1.0,
    }
    assert resolve_tasks(["4 spiral arms"])[0].tags == ("4 spiral arms",)


def test_bootstrap_intervals_and_paired_gains():
    labels = np.array([1] * 20 + [0] * 80)
    perfect = np.tile(labels.astype(float), (3, 1))
    half = perfect.copy()
    half[:, :10] = 0.0  # misses half of the positives
    plan = BootstrapPlan.draw(100, 3, replicates=300)
    scores = bootstrap_scores(labels, perfect, plan)
    assert scores["purity"] == scores["purity_low"] == scores["completeness_high"] == 1.0
    partial = bootstrap_scores(labels, half, plan)
    assert partial["completeness"] == 0.5 and partial["completeness_low"] < 0.5 < partial["completeness_high"]
    gain = bootstrap_difference(labels, perfect, half, plan)
    assert gain["completeness_gain"] == 0.5 and gain["completeness_gain_low"] > 0.2


def test_bad_input_gives_one_line_errors(tmp_path, capsys):
    assert main(["--run", str(tmp_path / "missing")]) == 1
    assert "run directory not found" in capsys.readouterr().err
    assert main(["--run", str(tmp_path), "--tasks", "edge-on,barred spirals"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: unknown task 'barred spirals'") and err.count("\n") == 1
    assert main(["--run", str(tmp_path), "--shots", "10,0"]) == 1
    assert "--shots" in capsys.readouterr().err
    assert main(["--run", str(tmp_path)]) == 1  # no catalogs named and none in the run
    assert "no --catalog" in capsys.readouterr().err
