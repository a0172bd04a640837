"""The dusty early-type search on a small demo survey with planted dusty early types."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from science_fakes import MatchingRenderer, dusty_demo_survey

import galaxysd.science.scan as scan_module
from galaxysd.evaluation.classifier import Classifier, ClassifierConfig
from galaxysd.morphology import FRACTION_COLUMNS
from galaxysd.science import discover_job as discover_module
from galaxysd.science import dusty_search
from galaxysd.science.detection_metrics import average_precision, precision_at_k, recall_at_k
from galaxysd.science.discover_job import discover, main
from galaxysd.science.dusty_search import SearchSettings, positive_weights
from galaxysd.science.scan import merge_chunks, scan_chunks

pytestmark = pytest.mark.slow  # trains, renders or runs jobs end to end

SETTINGS = SearchSettings(
    n_synthetic=96, n_synthetic_negatives=32, max_negatives=400, epochs=6, widths=(8, 16, 32), device="cpu"
)
CANDIDATE_COLUMNS = [
    "catalog",
    "id",
    "ra",
    "dec",
    "score",
    "rank",
    "known",
    "known_dusty_early_type",
    "cumulative_smooth",
    "cumulative_dust_lane",
    *FRACTION_COLUMNS,
    "image_path",
    "used_in_training",
    "truth_dusty_early_type",
    "thumb",
]


def run_search(run: Path, spec: str, cache: Path, **options) -> dict:
    run.mkdir(exist_ok=True)
    return discover(
        run,
        [spec],
        SETTINGS,
        cache_root=cache,
        workers=1,
        generator=MatchingRenderer(),
        image_size=32,
        scan_chunk=64,
        progress=False,
        **options,
    )


@pytest.fixture(scope="module")
def survey(tmp_path_factory) -> tuple[str, Path]:
    root = tmp_path_factory.mktemp("dusty")
    return dusty_demo_survey(root / "survey"), root / "cache"


@pytest.fixture(scope="module")
def searched(survey, tmp_path_factory) -> tuple[Path, dict]:
    spec, cache = survey
    run = tmp_path_factory.mktemp("run")
    return run, run_search(run, spec, cache)


def test_augmented_detector_finds_planted_dusty_early_types_far_above_chance(searched):
    run, result = searched
    evaluation = json.loads((run / "discover" / "demo_eval.json").read_text())
    (entry,) = evaluation.values()
    assert entry["n_true"] >= 5  # held-out planted dusty early types
    augmented, chance = entry["detectors"]["augmented"], entry["chance"]
    assert augmented["recall_at_25"] >= 3 * chance["recall_at_25"]
    assert augmented["precision_at_10"] >= 3 * chance["precision_at_10"]
    assert augmented["average_precision"] > 2 * entry["n_true"] / entry["n_held_out"]
    real_only = entry["detectors"]["real_only"]  # the same detector without synthetic images
    assert real_only["recall_at_25"] >= 3 * chance["recall_at_25"]
    assert set(real_only) == set(augmented) == set(entry["detectors"]["combined"])


def _scan_scores(run: Path, survey) -> tuple[dict, pd.Series]:
    """The augmented and real-only detectors' scan scores, and the survey's ids."""
    from galaxysd.data.survey_cache import open_survey

    (work,) = [p for p in (run / "discover" / "parts").glob("demo-*") if (p / "detector").is_dir()]
    scores = {
        name: merge_chunks(work / f"scan-{scan_module.classifier_fingerprint(work / folder)}", 600, chunk=64)
        for name, folder in (("augmented", "detector"), ("real_only", "detector-real-only"))
    }
    spec, cache_root = survey
    ids = open_survey(spec, 32, cache_root, workers=1, progress=False).catalog["id"].astype(str)
    return scores, ids


def test_with_few_real_positives_the_augmented_detector_ranks_and_the_real_only_one_is_measured(searched, survey):
    from galaxysd.science.search_ranking import COMBINE_FROM

    run, result = searched
    (summary,) = result["summary"].values()
    assert 3 <= summary["real_positives_in_training"] < COMBINE_FROM  # the test survey has 5
    assert summary["ranked_by"] == "augmented"
    scores, ids = _scan_scores(run, survey)
    assert not np.allclose(scores["augmented"], scores["real_only"])
    expected = pd.Series(scores["augmented"], index=ids.to_numpy())
    table = pd.read_csv(run / "discover" / "candidates.csv")
    np.testing.assert_allclose(table["score"], expected[table["id"].astype(str)].to_numpy(), rtol=1e-6)
    (entry,) = json.loads((run / "discover" / "demo_eval.json").read_text()).values()
    assert {"augmented", "real_only", "combined"} <= set(entry["detectors"])


def test_from_combine_from_real_positives_the_ranking_is_the_mean_of_both_detectors(
    searched, survey, tmp_path, monkeypatch
):
    import galaxysd.science.search_ranking as ranking

    run, _ = searched
    copy = tmp_path / "run"
    shutil.copytree(run, copy)  # the saved detectors and scans are reused: nothing retrains
    monkeypatch.setattr(ranking, "COMBINE_FROM", 3)
    spec, cache = survey
    (summary,) = run_search(copy, spec, cache)["summary"].values()
    assert summary["ranked_by"] == "combined"
    scores, ids = _scan_scores(copy, survey)
    expected = pd.Series(0.5 * (scores["augmented"] + scores["real_only"]), index=ids.to_numpy())
    table = pd.read_csv(copy / "discover" / "candidates.csv")
    np.testing.assert_allclose(table["score"], expected[table["id"].astype(str)].to_numpy(), rtol=1e-6)


def test_ranking_rule_by_real_positives():
    from galaxysd.science.search_ranking import COMBINE_FROM, ranking_detector

    assert [ranking_detector(k) for k in (0, 3, COMBINE_FROM - 1)] == ["augmented"] * 3
    assert ranking_detector(COMBINE_FROM) == ranking_detector(15) == "combined"
    with pytest.raises(ValueError, match="cannot be negative"):
        ranking_detector(-1)


def test_without_real_positives_the_search_synthesises_with_the_boosted_prompts(survey, tmp_path):
    from galaxysd.data.survey_cache import open_survey
    from galaxysd.runs import RunDir
    from galaxysd.science.catalog_search import CatalogSearch
    from galaxysd.science.dusty_search import DEFAULT_PROMPTS, NO_POSITIVE_PROMPTS

    spec, cache_root = survey
    renderer, asked = MatchingRenderer(), []

    def recording(prompts, seeds):
        asked.extend(prompts)
        return renderer(prompts, seeds)

    def dust_lane_weights() -> set:
        return {p["dust lane"] for p in asked if p.get("smooth", 0) >= 1 and p.get("dust lane", 0) >= 0.7}

    cache = open_survey(spec, 32, cache_root, workers=1, progress=False)
    (tmp_path / "run").mkdir()
    search = CatalogSearch(RunDir(tmp_path / "run"), spec, cache, SETTINGS, recording, False)
    assert SETTINGS.prompts_for(0) == NO_POSITIVE_PROMPTS and SETTINGS.prompts_for(3) == DEFAULT_PROMPTS
    none = search.synthetic_for(0)
    assert dust_lane_weights() == {1.5, 1.0} and len(asked) == SETTINGS.n_synthetic + SETTINGS.n_synthetic_negatives
    asked.clear()
    some = search.synthetic_for(3)
    assert dust_lane_weights() == {1.0, 0.7}
    assert len(asked) == SETTINGS.n_synthetic  # the negatives (same rows, same seed) are read back
    assert search.synthetic_for(7) is some and len(asked) == SETTINGS.n_synthetic  # one set per prompt list
    np.testing.assert_array_equal(none.labels, some.labels)
    assert len(list((tmp_path / "run" / "discover" / "parts").glob("synthetic-demo-*/images.npy"))) == 3


def test_few_real_positive_study_compares_synthetic_help_at_each_budget(searched, survey, monkeypatch):
    run, result = searched
    (entry,) = json.loads((run / "discover" / "demo_eval.json").read_text()).values()
    study, chance = entry["few_real_positives"], entry["chance"]
    assert set(study) == {"0", "3", "7"}
    synthetic_only = study["0"]["augmented"]  # no real positive at all
    # no positives to draw: the draws are detectors trained with different seeds
    assert len(synthetic_only["draws"]) == 3 and len({d["average_precision"] for d in synthetic_only["draws"]}) > 1
    assert synthetic_only["recall_at_50"] >= 3 * chance["recall_at_50"]
    assert study["0"]["real_only"].startswith("not trained") and study["0"]["combined"].startswith("not trained")
    assert study["0"]["ranked_by"] == study["3"]["ranked_by"] == "augmented"  # the search's rule, per budget
    for k in ("3", "7"):
        if "skipped" in study[k]:
            assert "real positives in the training pool" in study[k]["skipped"]
            continue
        for kind in ("augmented", "real_only", "combined"):
            draws = study[k][kind]["draws"]
            assert len(draws) == 3
            mean_ap = np.mean([d["average_precision"] for d in draws])
            assert study[k][kind]["average_precision"] == pytest.approx(mean_ap)
            assert all(0.0 <= d["recall_at_200"] <= 1.0 for d in draws)
    # a second search reuses every saved detector and gives the same numbers
    import galaxysd.science.few_positives as few_module

    def no_training(*args, **kwargs):
        raise AssertionError("a resumed study retrained a detector")

    monkeypatch.setattr(few_module, "train_detector", no_training)
    spec, cache = survey
    again = run_search(run, spec, cache)
    assert next(iter(again["demo_eval"].values()))["few_real_positives"] == study


def test_few_positive_draws_are_seeded_subsets_of_the_pool():
    from galaxysd.science.dusty_search import TrainingSets
    from galaxysd.science.few_positives import draw_positives

    pool = np.ones(50, dtype=bool)
    sets = TrainingSets(pool, pool.copy(), np.arange(10, 20), np.arange(20, 50))
    a, b = draw_positives(sets, 3, 0, seed=0), draw_positives(sets, 3, 0, seed=0)
    np.testing.assert_array_equal(a.positives, b.positives)
    assert len(a.positives) == 3 and set(a.positives) <= set(range(10, 20))
    assert not np.array_equal(a.positives, draw_positives(sets, 3, 1, seed=0).positives)
    np.testing.assert_array_equal(a.negatives, sets.negatives)
    assert len(draw_positives(sets, 0, 0, seed=0).positives) == 0
    with pytest.raises(ValueError, match="cannot draw 11"):
        draw_positives(sets, 11, 0, seed=0)


def test_candidates_have_documented_columns_and_thumbnails(searched):
    run, result = searched
    table = pd.read_csv(run / "discover" / "candidates.csv")
    assert list(table.columns) == CANDIDATE_COLUMNS
    assert table["rank"].tolist() == list(range(1, len(table) + 1))
    assert table["score"].is_monotonic_decreasing
    assert table["cumulative_dust_lane"].notna().all()
    assert (table["known"] == (table["cumulative_dust_lane"] >= 0.5)).all()
    thumbs = table["thumb"].dropna()
    assert len(thumbs) == 48 and all((run / "discover" / t).is_file() for t in thumbs)
    assert (run / "discover" / "thumbs" / "synthetic_demo.png").is_file()
    (summary,) = result["summary"].values()
    assert summary["galaxies"] == len(table) == 600
    assert summary["synthetic_positives"] == SETTINGS.n_synthetic
    assert summary["synthetic_negatives"] == SETTINGS.n_synthetic_negatives
    # dusty early types with real positives, without (the study's budget 0), and negatives
    assert len(list((run / "discover" / "parts").glob("synthetic-demo-*/images.npy"))) == 3
    assert summary["candidates_new"] == summary["candidates"] - summary["candidates_known_dust_lane"]


def test_killed_scan_resumes_with_the_same_ranking(survey, tmp_path, monkeypatch):
    spec, cache = survey
    run = tmp_path / "run"
    saved = []
    original_save = scan_module.save_array

    def dying_save(path, scores):
        if len(saved) == 3:
            raise KeyboardInterrupt("killed")
        saved.append(path)
        original_save(path, scores)

    monkeypatch.setattr(scan_module, "save_array", dying_save)
    with pytest.raises(KeyboardInterrupt):
        run_search(run, spec, cache)
    monkeypatch.setattr(scan_module, "save_array", original_save)
    chunks = list((run / "discover" / "parts").rglob("scores_*.npy"))
    assert len(chunks) == 3  # of 10: the scan stopped part-way
    run_search(run, spec, cache)
    resumed = pd.read_csv(run / "discover" / "candidates.csv")
    for folder in (run / "discover" / "parts").rglob("scan-*"):
        shutil.rmtree(folder)
    run_search(run, spec, cache)
    rescanned = pd.read_csv(run / "discover" / "candidates.csv")
    pd.testing.assert_frame_equal(resumed, rescanned)


def test_sharded_scan_equals_single_process_scan(tmp_path):
    images = np.random.default_rng(0).integers(0, 255, (300, 16, 16, 3), dtype=np.uint8)
    classifier = Classifier(ClassifierConfig(image_size=16, widths=(4, 8), device="cpu"))
    scan_chunks(classifier, images, tmp_path / "one", chunk=64, progress=False)
    for shard in range(3):
        scan_chunks(
            classifier, images, tmp_path / "three", chunk=64, process_index=shard, num_processes=3, progress=False
        )
    single = merge_chunks(tmp_path / "one", 300, chunk=64)
    np.testing.assert_array_equal(single, merge_chunks(tmp_path / "three", 300, chunk=64))
    expected = classifier.predict_proba(images[:64])[:, 0]
    np.testing.assert_allclose(single[:64], expected, rtol=1e-5)
    with pytest.raises(RuntimeError, match="unfinished"):
        merge_chunks(tmp_path / "one", 400, chunk=64)


def test_ranking_metrics_on_a_known_ranking():
    truth = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 1], dtype=bool)
    scores = np.linspace(1.0, 0.1, 10)  # ranks equal positions
    assert recall_at_k(truth, scores, 3) == pytest.approx(2 / 3)
    assert precision_at_k(truth, scores, 2) == pytest.approx(0.5)
    assert average_precision(truth, scores) == pytest.approx((1 / 1 + 2 / 3 + 3 / 10) / 3)


def test_bad_input_gives_one_line_errors(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    assert main(["--run", str(tmp_path / "missing"), "--catalog", "demo:x"]) == 1
    assert "run directory not found" in capsys.readouterr().err
    assert main(["--run", str(run), "--catalog", "demo:x"]) == 1  # no model in the run
    assert "model_index.json" in capsys.readouterr().err
    (run / "model").mkdir()
    (run / "model" / "model_index.json").write_text('{"image_size": 32}')
    assert main(["--run", str(run), "--catalog", "nonsense"]) == 1
    assert "KIND:PATH" in capsys.readouterr().err
    assert main(["--run", str(run), "--catalog", f"demo:{tmp_path / 'nowhere'}"]) == 1
    assert "not found" in capsys.readouterr().err
    assert main(["--run", str(run), "--catalog", "demo:x", "--prompt", "{dust lanes:1.3}"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: unknown morphology tag") and err.count("\n") == 1
    with pytest.raises(ValueError, match="holdout"):
        SearchSettings(holdout=1.0)
    assert main(["--run", str(run), "--catalog", "demo:x", "--prompt-without-positives", "{dust lanes:1.3}"]) == 1
    assert capsys.readouterr().err.startswith("error: unknown morphology tag")
    assert main(["--run", str(run), "--catalog", "demo:x", "--few-positives", "0,-3"]) == 1
    assert "at least 0" in capsys.readouterr().err


def test_portable_paths_point_beside_the_project():
    shared = discover_module.REPO_ROOT.parent / "shared" / "data" / "x.jpg"
    assert discover_module.portable_path(str(shared)) == "../shared/data/x.jpg"
    assert discover_module.portable_path("/elsewhere/x.jpg") == "/elsewhere/x.jpg"


def test_real_positives_carry_their_share_of_the_positive_weight():
    synthetic_labels = np.r_[np.ones(128), np.zeros(10)]
    real, synthetic = positive_weights(3, synthetic_labels, 0.7)
    assert real.sum() == pytest.approx(0.7 * 131) and synthetic[:128].sum() == pytest.approx(0.3 * 131)
    assert np.all(synthetic[128:] == 1)  # synthetic negatives are untouched
    assert (real.sum() + synthetic[:128].sum()) / 131 == pytest.approx(1.0)  # class balance unchanged
    real, synthetic = positive_weights(0, synthetic_labels, 0.7)  # no real positive: plain weights
    assert len(real) == 0 and np.all(synthetic == 1)
    with pytest.raises(ValueError, match="real_positive_share"):
        SearchSettings(real_positive_share=1.0)


def test_the_detector_trains_with_those_weights(monkeypatch):
    seen = {}

    def fake_train(images, targets, config, progress=True, sample_weight=None):
        seen.update(images=images, targets=targets, weights=sample_weight)
        return "detector"

    monkeypatch.setattr(dusty_search, "train_classifier", fake_train)
    images = np.zeros((20, 8, 8, 3), np.uint8)
    sets = dusty_search.TrainingSets(
        pool=np.ones(20, bool), known=np.zeros(20, bool), positives=np.array([0, 1]), negatives=np.arange(10, 20)
    )
    synthetic = dusty_search.SyntheticSet(np.zeros((6, 8, 8, 3), np.uint8), np.ones(6))
    assert dusty_search.train_detector(images, sets, synthetic, SearchSettings(), progress=False) == "detector"
    assert seen["targets"].tolist() == [1, 1] + [0] * 10 + [1] * 6
    assert seen["weights"][:2].tolist() == pytest.approx([0.7 * 8 / 2] * 2)
    assert seen["weights"][2:12].tolist() == [1.0] * 10
    assert seen["weights"][12:].tolist() == pytest.approx([0.3 * 8 / 6] * 6)
