"""The app's core helpers, without Streamlit: quiz, candidates, downloads, background jobs,
the training launcher, Home's summary and the map job (real galaxies: test_real_galaxies.py)."""

from __future__ import annotations

import io
import json
import shutil
import sys
import time
import zipfile

import numpy as np
import pandas as pd
import pytest
from app_runs import N_CANDIDATES, SIZE, copy_run, shared_tiny_run
from PIL import Image

from galaxysd.app import appdata, jobs
from galaxysd.app import candidate_table as ct
from galaxysd.app.exports import images_zip, settings_table
from galaxysd.app.quiz import CHOICES, human_realism, make_round
from galaxysd.app.train_launcher import TrainingRequest, data_lines
from galaxysd.evaluation import explore_job as explore
from galaxysd.evaluation.real_galaxies import RealGalaxies, open_real_galaxies
from galaxysd.evaluation.run_results import (
    CLEAN_SAMPLERS,
    augment_layout,
    augment_results,
    augment_splits,
    best_sampling,
    read_table,
    training_outcome,
)
from galaxysd.model.pipeline import GalaxyOutput
from galaxysd.morphology import answer, fraction_column
from galaxysd.runs import CANDIDATE_RUNS, DEFAULT_RUN, RunDir
from galaxysd.training.config import config_from_args, parse_args


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    return shared_tiny_run(tmp_path_factory)


# ---------------------------------------------------------------- quiz
def test_human_realism_is_one_at_chance_and_zero_when_always_found():
    assert human_realism(0.25) == 1.0
    assert human_realism(0.0) == 1.0
    assert human_realism(1.0) == 0.0
    assert human_realism(0.625) == pytest.approx(0.5)
    assert np.isnan(human_realism(float("nan")))


def in_memory_galaxies(n: int = 6) -> RealGalaxies:
    images = np.stack([np.full((8, 8, 3), 10 * (i + 1), np.uint8) for i in range(n)])
    smooth = fraction_column(answer("smooth"))
    catalog = pd.DataFrame(
        {"id": [f"g{i}" for i in range(n)], "domain": "sdss", smooth: 0.9, "source": 0, "source_row": np.arange(n)}
    )
    return RealGalaxies(catalog, [lambda rows: images[rows]], 8, "memory")


def test_a_quiz_round_hides_one_generated_galaxy_among_real_ones():
    real = in_memory_galaxies()
    asked = []

    def generate(weights, seed):
        asked.append(weights)
        return np.full((8, 8, 3), 255, np.uint8)

    positions = set()
    for seed in range(12):
        quiz_round = make_round(real, generate, seed)
        assert quiz_round.images.shape == (CHOICES, 8, 8, 3)
        fakes = [i for i in range(CHOICES) if (quiz_round.images[i] == 255).all()]
        assert fakes == [quiz_round.fake_index]
        assert len(set(quiz_round.real_ids)) == CHOICES - 1
        positions.add(quiz_round.fake_index)
    assert asked[0] == {"sdss": 1.0, "smooth": 0.9}
    assert quiz_round.prompt == "sdss, {smooth:0.9}"
    assert len(positions) > 1
    with pytest.raises(ValueError, match="needs 3 real galaxies"):
        make_round(in_memory_galaxies(2), generate, 0)


def test_the_quiz_fakes_use_the_most_realistic_point_of_the_pareto_sweep(tmp_path):
    fallback = {"steps": 10, "guidance_scale": 3.0, "sampler": "dpmpp"}
    run = RunDir(tmp_path)
    assert best_sampling(run, fallback) == fallback
    (tmp_path / "eval").mkdir()
    pd.DataFrame(
        {
            "prompt": ["all", "all", "all", "A"],
            "guidance": [3.0, 5.0, 1.0, 3.0],
            "steps": [10, 20, 20, 40],
            "sampler": ["dpmpp", "dpmpp", "dpmpp_sde", "dpmpp"],
            "frechet": [55.0, 50.0, 20.0, 1.0],
            "pareto_realism_consistency": [True, True, False, True],
        }
    ).to_csv(tmp_path / "eval" / "pareto.csv", index=False)
    # the front has no clean (stochastic) point: the most realistic clean point of the sweep;
    # without a preference, the most realistic point of the front
    assert best_sampling(run, fallback) == {"steps": 20, "guidance_scale": 1.0, "sampler": "dpmpp_sde"}
    assert best_sampling(run, fallback, prefer=()) == {"steps": 20, "guidance_scale": 5.0, "sampler": "dpmpp"}
    # on the shipped sweep: a clean sampler by default, the most realistic of the clean
    # points (on the front when it has any); without a preference, the front's best point
    shipped = pd.read_csv(DEFAULT_RUN / "eval" / "pareto.csv")
    mean = shipped[shipped["prompt"] == "all"]
    front = mean[mean["pareto_realism_consistency"].astype(bool)]
    clean = mean[mean["sampler"].isin(CLEAN_SAMPLERS)]
    clean_front = clean[clean["pareto_realism_consistency"].astype(bool)]
    for candidates, prefer in ((clean_front if len(clean_front) else clean, None), (front, ())):
        best = candidates.loc[candidates["frechet"].idxmin()]
        expected = {"steps": int(best["steps"]), "guidance_scale": float(best["guidance"]), "sampler": best["sampler"]}
        chosen = (
            best_sampling(RunDir(DEFAULT_RUN), fallback)
            if prefer is None
            else best_sampling(RunDir(DEFAULT_RUN), fallback, prefer=prefer)
        )
        assert chosen == expected
    assert best_sampling(RunDir(DEFAULT_RUN), fallback)["sampler"] in CLEAN_SAMPLERS


# ---------------------------------------------------------------- candidates, downloads
def test_candidates_filter_sort_page_and_link_to_the_sky(tiny_run):
    table = ct.load_candidates(RunDir(tiny_run))
    assert len(table) == N_CANDIDATES and table["known"].dtype == bool
    assert (table["local_image"] != "").sum() == N_CANDIDATES // 2
    marks = pd.DataFrame({"candidate_id": ["cand001"], "status": ["confirmed"], "note": ["yes"]})
    table = ct.with_marks(table, marks)
    assert ct.filter_candidates(table, mark="confirmed")["id"].tolist() == ["cand001"]
    new = ct.filter_candidates(table, known="new")
    assert not new["known"].any() and len(new) == N_CANDIDATES - (N_CANDIDATES + 3) // 4
    strong = ct.filter_candidates(table, min_score=0.5, sort_by="score", descending=False)
    assert (strong["score"] >= 0.5).all() and strong["score"].is_monotonic_increasing
    page, pages = ct.page_of(table, 3, 12)
    assert pages == 3 and len(page) == N_CANDIDATES - 24
    assert ct.page_of(table, 99, 12)[0].equals(page)
    record = table.iloc[1].to_dict()
    assert ct.has_coordinates(record) and not ct.has_coordinates(table.iloc[0].to_dict())
    assert "ra=150.010000" in ct.sdss_cutout_url(record["ra"], record["dec"])
    assert "dec=2.010000" in ct.legacy_viewer_url(record["ra"], record["dec"])
    gz1 = {"catalog": "gz1:../shared/data/gz1-sdss", "id": "588848901537202306", "ra": float("nan")}
    assert ct.sdss_object_id(gz1) == 588848901537202306
    assert ct.sdss_explore_url(588848901537202306).endswith("summary.aspx?id=588848901537202306")
    assert ct.sdss_object_id({**gz1, "catalog": "demo:demo"}) is None
    assert ct.sdss_object_id({**gz1, "id": "demo_000001"}) is None
    assert len(ct.vote_fractions(record)) == 8
    assert ct.candidate_facts(table.iloc[0].to_dict())["known_dusty_early_type"] is True
    assert len(ct.filter_candidates(table, catalog="demo:demo")) == N_CANDIDATES
    assert ct.filter_candidates(table, catalog="gz2:elsewhere").empty
    assert ct.search_summary(RunDir(tiny_run)).loc["candidates_new", "demo:demo"] == "12"


def test_a_candidates_table_without_scores_is_an_error(tiny_run, tmp_path):
    run = copy_run(tiny_run, tmp_path / "run")
    pd.DataFrame({"id": ["a"], "ra": [1.0]}).to_csv(run.discover_dir / "candidates.csv", index=False)
    with pytest.raises(ValueError, match="no score column"):
        ct.load_candidates(run)
    (run.augment_dir / "results.csv").write_bytes(b'\x00\x01,\n"unclosed')
    with pytest.raises(ValueError, match="cannot read"):
        read_table(run.augment_dir / "results.csv")


def test_candidates_say_what_is_known_and_open_on_a_real_survey():
    assert ct.known_label({"known": True, "known_dusty_early_type": True}) == "known dusty early type"
    assert ct.known_label({"known": True, "known_dusty_early_type": "False"}) == "known dust lane"
    assert ct.known_label({"known": False}) == "new"
    catalogs = ["demo:.data/demo-10k", "gz1:../shared/data/gz1-sdss", "gz2:../shared/data/gz2-sample"]
    assert ct.default_catalog(catalogs) == 1
    assert ct.default_catalog(["demo:a", "gz2:b"]) == 1 and ct.default_catalog(["demo:a"]) == 0
    assert ct.DEFAULT_MIN_SCORE == 0.5


def test_the_zip_download_holds_every_image_and_its_settings():
    arrays = np.random.default_rng(0).integers(0, 255, (3, 8, 8, 3), dtype=np.uint8)
    output = GalaxyOutput(
        arrays=arrays,
        prompts=[{"sdss": 1.0, "dust lane": 1.3}] * 3,
        seeds=[5, 6, 7],
        settings={"steps": 12, "guidance_scale": 3.0, "sampler": "dpmpp", "strength": None},
    )
    archive = zipfile.ZipFile(io.BytesIO(images_zip(output, "assets/default-run")))
    settings = pd.read_csv(archive.open("settings.csv"))
    assert settings["prompt"].tolist() == ["sdss, {dust lane:1.3}"] * 3
    assert settings["seed"].tolist() == [5, 6, 7] and (settings["steps"] == 12).all()
    for name, image in zip(settings["file"], arrays):
        np.testing.assert_array_equal(np.asarray(Image.open(archive.open(name))), image)
    assert list(settings_table(output, "r").columns)[:3] == ["file", "prompt", "seed"]


def test_augment_tables_are_read_by_their_columns(tiny_run):
    table = augment_results(RunDir(tiny_run))
    assert augment_layout(table) == ("task", "training", ["purity", "completeness", "f1"])
    assert augment_splits(table) == {"shots": ["all", "10"]}
    assert augment_layout(pd.DataFrame(columns=["Task", "method", "purity"])) == ("Task", "method", ["purity"])
    assert augment_layout(pd.DataFrame(columns=["x"])) == (None, None, [])


# ---------------------------------------------------------------- jobs and training
def wait_for(kind, home, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = jobs.job_status(kind, home)
        if status is not None and not status.active:
            return status
        time.sleep(0.1)
    raise AssertionError(f"{kind} job still running")


def test_jobs_report_success_failure_and_output(tmp_path):
    ok = jobs.start_job("ok", [sys.executable, "-c", "print('hello from the job')"], home=tmp_path)
    assert ok.state == "starting"
    done = wait_for("ok", tmp_path)
    assert done.state == "finished" and done.returncode == 0 and done.pid is not None
    assert jobs.log_tail("ok", home=tmp_path).endswith("hello from the job")
    jobs.start_job("bad", [sys.executable, "-c", "import sys; sys.exit(3)"], home=tmp_path)
    failed = wait_for("bad", tmp_path)
    assert failed.state == "failed" and failed.returncode == 3


def test_a_running_job_blocks_a_second_survives_a_reload_and_can_be_cancelled(tmp_path):
    jobs.start_job("long", [sys.executable, "-c", "import time; time.sleep(60)"], run_dir="r", home=tmp_path)
    with pytest.raises(jobs.JobRunning):
        jobs.start_job("long", [sys.executable, "-c", "pass"], home=tmp_path)
    jobs._children.clear()  # what a fresh app process knows: only the status file
    deadline = time.time() + 20
    while jobs.job_status("long", tmp_path).state != "running" and time.time() < deadline:
        time.sleep(0.1)
    assert jobs.job_status("long", tmp_path).run_dir == "r"
    cancelled = jobs.cancel_job("long", tmp_path)
    assert cancelled.state == "cancelled" and cancelled.ended is not None


def test_a_job_whose_supervisor_vanished_is_reported_lost(tmp_path):
    gone = jobs.JobStatus(kind="train", state="running", command=["x"], pid=2**22 + 12345)
    jobs.status_path("train", tmp_path).write_text(json.dumps(gone.__dict__))
    assert jobs.job_status("train", tmp_path).state == "lost"


def test_a_training_request_becomes_a_valid_training_command(tiny_run, monkeypatch, tmp_path):
    from galaxysd.app import train_launcher

    monkeypatch.setattr(train_launcher, "RUNS_ROOT", tmp_path)
    lines = data_lines(RunDir(tiny_run))
    assert lines == [f"demo:{tiny_run.parent / 'demo'}@demo"]
    request = TrainingRequest(
        name="my-run",
        data=lines + [""],
        model="tiny",
        max_steps=40,
        batch_size=8,
        learning_rate=1e-3,
        time_budget_minutes=5.0,
    ).validate()
    command = request.command()
    assert command[:3] == [sys.executable, "-m", "galaxysd.train"]
    config = config_from_args(parse_args(command[3:]))
    assert config.run_dir == str(tmp_path / "my-run") and config.model == "tiny"
    assert config.max_steps == 40 and config.learning_rate == 1e-3 and config.time_budget_minutes == 5.0
    assert [d.catalog for d in config.data] == [f"demo:{tiny_run.parent / 'demo'}"]
    lanes = TrainingRequest(name="laned", data=[f"{lines[0]}*0.1+dust_lane"], model="tiny").validate()
    (source,) = config_from_args(parse_args(lanes.command()[3:])).data
    assert source.simulate == "dust_lane" and source.weight == 0.1  # the simulation reaches the job
    for bad, message in (
        (dict(name="no spaces!"), "run name"),
        (dict(data=["   "]), "at least one"),
        (dict(data=["justapath"]), "KIND:PATH"),
        (dict(batch_size=0), "batch_size"),
        (dict(model="huge"), "unknown model preset"),
    ):
        with pytest.raises(ValueError, match=message):
            TrainingRequest(**{"name": "ok", "data": lines, **bad}).validate()
    shutil.copytree(tiny_run / "checkpoints", tmp_path / "my-run" / "checkpoints")
    with pytest.raises(ValueError, match="resume"):
        request.validate()
    assert "--resume" in TrainingRequest(name="my-run", data=lines, resume=True).validate().command()


def test_home_says_why_training_ended():
    summary = {"status": "stopped", "steps": 9093, "max_steps": 30000, "wall_minutes": 95.2}
    assert training_outcome(summary, {"time_budget_minutes": 95.0}) == "stopped at its 95-minute time budget"
    assert training_outcome({**summary, "steps": 30000}, {}) == "finished all 30,000 steps"
    assert training_outcome({**summary, "status": "training"}, {}) == "training now"


# ---------------------------------------------------------------- the map job
def test_coarse_morphology_follows_the_tree():
    assert explore.coarse_morphology({"smooth": 0.9, "completely round galaxy": 0.7}) == "smooth, round"
    assert explore.coarse_morphology({"features or disk-shaped": 1, "spiral galaxy": 1}) == "spiral"
    assert explore.coarse_morphology({"smooth": 1.0, "merger": 0.6}) == "merger"
    assert explore.coarse_morphology({"smooth": 0.3}) == "unclear"


def test_the_map_job_writes_a_table_the_page_can_read(tiny_run, tmp_path, monkeypatch):
    run = copy_run(tiny_run, tmp_path / "run")
    (run.eval_dir / "umap.csv").unlink()
    monkeypatch.setattr(explore, "project", lambda features, neighbours, seed: features[:, :2])
    assert (
        explore.main(
            ["--run", str(run.path), "--n-real", "10", "--per-prompt", "2", "--steps", "2", "--no-real-thumbnails"]
        )
        == 0
    )
    table, meta = explore.read_map(run)
    assert (table["source"] == "generated").sum() == 3 * 2 and (table["source"] == "real").sum() == 10
    assert meta["features"].startswith("pixels") and meta["real_source"] == "image cache"
    assert (table.loc[table.source == "real", "thumbnail"] == "").all()
    filled = explore.fill_real_thumbnails(table, open_real_galaxies(run, SIZE))
    assert filled["thumbnail"].str.startswith("data:image/jpeg;base64,").all()
    assert explore.main(["--run", str(tmp_path / "nothing")]) == 1


def test_recomputing_a_shipped_runs_map_writes_to_the_app_folder_not_assets(tiny_run, tmp_path, monkeypatch):
    monkeypatch.setenv("GALAXYSD_HOME", str(tmp_path / "home"))
    assert appdata.map_folder(RunDir(DEFAULT_RUN)) == tmp_path / "home" / "maps" / DEFAULT_RUN.name
    assert appdata.map_folder(RunDir(tiny_run)) == RunDir(tiny_run).eval_dir
    run = RunDir(tiny_run)
    original = explore.read_map(run)
    assert original is not None
    newer = tmp_path / "newer"
    newer.mkdir()
    table = original[0].assign(x=original[0]["x"] + 100.0)
    table.to_csv(newer / explore.UMAP_FILE, index=False)
    found, _ = explore.read_map(run, [newer])
    assert np.allclose(found["x"], original[0]["x"] + 100.0)
    assert np.allclose(explore.read_map(run, [tmp_path / "empty"])[0]["x"], original[0]["x"])


@pytest.mark.slow
def test_two_sessions_generating_at_once_both_get_their_images(tiny_run):
    from concurrent.futures import ThreadPoolExecutor

    from galaxysd.app.shared_pipeline import SharedPipeline

    shared = SharedPipeline.load(tiny_run / "model")
    prompts = [{"demo": 1.0, "smooth": 1.0}, {"demo": 1.0, "edge-on galaxy": 1.3}]
    alone = [shared.generate(p, num_images=2, seed=4, steps=3)[0].arrays for p in prompts]
    with ThreadPoolExecutor(2) as pool:
        together = list(pool.map(lambda p: shared.generate(p, num_images=2, seed=4, steps=3), prompts))
    for (output, seconds), expected in zip(together, alone):
        np.testing.assert_array_equal(output.arrays, expected)
        assert seconds > 0
    assert shared.image_size == SIZE


def test_the_run_choice_offers_the_kept_candidates_after_the_preferred_run(monkeypatch):
    monkeypatch.delenv(appdata.RUN_ENV, raising=False)
    runs = appdata.available_runs()
    assert runs[0].path.resolve() == DEFAULT_RUN.resolve()
    labels = [appdata.run_label(r) for r in runs]
    candidates = sorted(CANDIDATE_RUNS.glob("*/config.yaml"))
    assert candidates  # the repository keeps its earlier and rival models
    for config in candidates:
        assert appdata.run_label(RunDir(config.parent)) in labels
    # a kept candidate is under assets/, so recomputing its map never writes there
    assert appdata.map_folder(RunDir(candidates[0].parent)).is_relative_to(appdata.app_home())
