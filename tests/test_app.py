"""The Streamlit app through ``streamlit.testing``: every page opens, the main control of each
works, and bad input shows a message instead of an exception.

Pages open on the shipped default run once it has a model, otherwise on a tiny run; the
behaviour tests always use the tiny run, whose real galaxies and candidates are known.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from app_pages import APP, TIMEOUT, open_page, problems
from app_runs import bare_copy
from streamlit.testing.v1 import AppTest

from galaxysd.app.hosting import HostingPolicy, hosting_policy
from galaxysd.runs import DEFAULT_RUN

pytestmark = pytest.mark.slow  # trains, renders or runs jobs end to end

PAGES = {
    "home": "GalaxySD",
    "generate": "Generate galaxies",
    "real_vs_synthetic": "Real vs synthetic",
    "metrics": "Metrics",
    "augmentation": "Augmentation",
    "candidates": "Dusty early-type candidates",
    "explore": "Explore the galaxy map",
    "train": "Train a model",
    "quiz": "Quiz: spot the fake",
    "interpolate": "Interpolate between morphologies",
    "about": "About GalaxySD",
}


@pytest.fixture(scope="module")
def default_run(tiny_run):
    """The shipped run when it has been trained, else the tiny run."""
    return DEFAULT_RUN if (DEFAULT_RUN / "model" / "model_index.json").is_file() else tiny_run


def test_every_page_opens_on_the_default_run(default_run, app_env):
    app_env(default_run)
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    for page, title in PAGES.items():
        at.switch_page(f"pages/{page}.py").run()
        assert not problems(at), (page, problems(at))
        assert at.title[0].value == title


def test_pages_say_what_is_missing_on_a_run_without_results(tiny_run, app_env, tmp_path):
    app_env(bare_copy(tiny_run, tmp_path / "bare"))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    for page, missing in (
        ("metrics", "eval/metrics.json"),
        ("augmentation", "augment/results.csv"),
        ("candidates", "discover/candidates.csv"),
        ("explore", "no galaxy map"),
    ):
        at.switch_page(f"pages/{page}.py").run()
        assert not problems(at), (page, problems(at))
        assert any(missing in info.value for info in at.info), page


def test_broken_result_files_show_an_error_not_an_exception(tiny_run, app_env, tmp_path):
    run = bare_copy(tiny_run, tmp_path / "broken")
    (run / "eval").mkdir()
    (run / "eval" / "metrics.json").write_text("{not json")
    (run / "discover").mkdir()
    pd.DataFrame({"id": ["a"]}).to_csv(run / "discover" / "candidates.csv", index=False)
    app_env(run)
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    for page, message in (("metrics", "cannot read"), ("candidates", "no score column")):
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception
        assert any(message in e.value for e in at.error), page


def test_a_slider_change_regenerates_and_updates_the_prompt(default_run, app_env):
    app_env(default_run)
    at = open_page("generate")
    first = at.session_state["generated"]
    assert first["count"] == 1 and first["output"].arrays.shape[0] == 4
    at.slider(key="tag::dust lane").set_value(1.3).run()
    second = at.session_state["generated"]
    assert second["count"] == 2
    assert "{dust lane:1.3}" in at.text_area(key="prompt_text").value
    assert second["output"].prompts[0]["dust lane"] == 1.3
    assert not np.array_equal(first["output"].arrays, second["output"].arrays)
    next(b for b in at.button if b.label == "New seed").click().run()
    assert at.session_state["generated"]["count"] == 3


def test_the_answer_boost_changes_only_boosted_prompts(default_run, app_env):
    app_env(default_run)
    at = open_page("generate")
    at.text_area(key="prompt_text").input("sdss, features or disk-shaped, {edge-on galaxy:1.5}").run()
    boosted = at.session_state["generated"]["output"]
    assert boosted.settings["tag_guidance"] == at.slider(key="tag_guidance").value == 1.0
    assert any("answer boost 1" in c.value for c in at.caption)
    at.slider(key="tag_guidance").set_value(6.0).run()
    assert at.session_state["generated"]["output"].settings["tag_guidance"] == 6.0
    at.slider(key="tag_guidance").set_value(0.0).run()
    extrapolated = at.session_state["generated"]["output"]
    assert extrapolated.settings["tag_guidance"] == 0.0
    assert np.abs(boosted.arrays.astype(float) - extrapolated.arrays).mean() > 1.0


def test_the_prompt_box_sets_the_sliders(default_run, app_env):
    app_env(default_run)
    at = open_page("generate")
    at.text_area(key="prompt_text").input("demo, smooth, {cigar-shaped galaxy:1.5}").run()
    assert at.slider(key="tag::smooth").value == 1.0
    assert at.slider(key="tag::cigar-shaped galaxy").value == 1.5
    assert at.slider(key="tag::spiral galaxy").value == 0.0
    assert at.selectbox(key="domain_choice").value == "demo"
    assert at.session_state["generated"]["output"].prompts[0] == {
        "demo": 1.0,
        "smooth": 1.0,
        "cigar-shaped galaxy": 1.5,
    }


@pytest.mark.parametrize(
    "prompt, message",
    [
        ("demo, {smooth:abc}", "is not a number"),
        ("demo, blobby galaxy", "unknown morphology tag"),
        ("demo, {smooth:7}", "within [0, 3]"),
        ("demo, {smooth:1", "unbalanced"),
    ],
)
def test_bad_prompts_show_an_error_and_keep_the_last_images(tiny_run, app_env, prompt, message):
    app_env(tiny_run)
    at = open_page("generate")
    before = at.session_state["generated"]["count"]
    at.text_area(key="prompt_text").input(prompt).run()
    assert not at.exception
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert at.session_state["generated"]["count"] == before


def test_a_quiz_answer_is_stored_and_the_leaderboard_updates(tiny_run, app_env):
    db = app_env(tiny_run)
    at = open_page("quiz")
    assert not problems(at)
    at.text_input(key="quiz_player").input("ada").run()
    fake = at.session_state["quiz_round"][1].fake_index
    at.button(key=f"quiz_pick_{fake}").click().run()
    assert at.success and "Right" in at.success[0].value
    board = at.dataframe[0].value
    assert board["player"].tolist() == ["ada"] and board["accuracy"].tolist() == [1.0]
    answered = at.session_state["quiz_round"][1]
    fake = answered.fake_index
    at.button(key=f"quiz_pick_{(fake + 1) % 4}").click().run()
    assert at.warning and f"image {fake + 1}" in at.warning[0].value
    # the feedback comes with the answered round's own images, labelled, before the next round
    captions = [c.value for c in at.caption]
    image_captions = [caption for element in at.get("image") for caption in element.captions]
    assert image_captions[:4] == [
        f"image {i + 1}: "
        + ("generated (the fake)" if i == fake else "real")
        + (" · your pick" if i == (fake + 1) % 4 else "")
        for i in range(4)
    ]
    assert image_captions[4:] == [f"image {i + 1}" for i in range(4)]  # then the next round
    assert at.session_state["quiz_round"][1] is not answered
    assert at.dataframe[0].value["accuracy"].tolist() == [0.5]
    assert any("95% interval" in c and "from 2 answers" in c for c in captions)
    realism = db.realism(str(tiny_run))
    assert realism["answers"] == 2 and realism["human_realism"] == pytest.approx(0.5 / 0.75)
    assert realism["human_realism_low"] < realism["human_realism"] < realism["human_realism_high"]


def test_candidates_page_shows_the_few_real_positives_study(app_env):
    app_env(DEFAULT_RUN)
    at = open_page("candidates")
    assert not problems(at)
    (expander,) = [e for e in at.expander if "few real positives" in e.label]
    (shown,) = [d.value for d in expander.dataframe]
    study = json.loads((DEFAULT_RUN / "discover" / "demo_eval.json").read_text())["demo:.data/demo-10k"]
    synthetic_only = shown[shown["detector"] == "synthetic positives only"].iloc[0]
    assert synthetic_only["real positives"] == 0
    assert synthetic_only["recall in top 200"] == study["few_real_positives"]["0"]["augmented"]["recall_at_200"]
    assert sorted(set(shown["real positives"])) == [0, 3, 7]


def test_a_candidate_mark_persists_after_a_rerun(tiny_run, app_env):
    db = app_env(tiny_run)
    at = open_page("candidates")
    assert not problems(at)
    at.selectbox(key="cand_detail").set_value("cand002").run()
    at.radio(key="mark_status_cand002").set_value("rejected")
    at.text_area(key="mark_note_cand002").input("a foreground star")
    next(b for b in at.button if b.label == "Save mark").click().run()
    assert at.success and "cand002 rejected" in at.success[0].value

    later = open_page("candidates")  # a new session: the mark comes from the database
    later.selectbox(key="cand_mark").set_value("rejected").run()
    assert later.selectbox(key="cand_detail").value == "cand002"
    assert len(later.selectbox(key="cand_detail").options) == 1
    assert any("rejected — a foreground star" in c.value for c in later.caption)
    assert db.candidate_marks(str(tiny_run))["status"].tolist() == ["rejected"]


def test_the_train_page_refuses_a_bad_request(tiny_run, app_env):
    app_env(tiny_run)
    at = open_page("train")
    at.text_input(key="train_name").input("bad name!")
    next(b for b in at.button if b.label == "Start training").click().run()
    assert not at.exception
    assert any("run name" in e.value for e in at.error)


def test_the_train_page_launches_and_cancels_a_training_job(tiny_run, app_env, monkeypatch, tmp_path):
    from galaxysd.app import jobs, train_launcher

    monkeypatch.setattr(train_launcher, "RUNS_ROOT", tmp_path / "runs")
    app_env(tiny_run)
    at = open_page("train")
    at.text_input(key="train_name").input("from-the-app")
    at.selectbox(key="train_model").set_value("tiny")
    next(b for b in at.button if b.label == "Start training").click().run()
    assert not problems(at)
    status = jobs.job_status("train")
    assert status.active and status.run_dir == str(tmp_path / "runs" / "from-the-app")
    assert "--model" in status.command and "tiny" in status.command
    assert jobs.cancel_job("train").state == "cancelled"
    at.run()
    assert any("Train job: cancelled" in m.value for m in at.markdown)
    # cancelled before its first checkpoint: no half-made run, and no "step 0 of 0" bar
    assert not (tmp_path / "runs" / "from-the-app").is_dir()
    assert not at.get("progress") and any("run folder was removed" in c.value for c in at.caption)


def test_the_explore_page_starts_the_map_job(tiny_run, app_env, tmp_path):
    from galaxysd.app import jobs

    app_env(bare_copy(tiny_run, tmp_path / "bare"))
    at = open_page("explore")
    next(b for b in at.button if b.label == "Compute the map").click().run()
    status = jobs.job_status("explore")
    assert status.active and status.command[-4:] == [
        "--run",
        str(tmp_path / "bare"),
        "--out-dir",
        str(tmp_path / "bare" / "eval"),  # a run under runs/-like folders keeps its map in RUN/eval
    ]
    assert jobs.cancel_job("explore").state == "cancelled"


def test_interpolate_morphs_at_one_seed_with_a_gif_and_the_frame_weights(tiny_run, app_env):
    app_env(tiny_run)
    at = open_page("interpolate")
    assert not problems(at) and at.info  # asks for the Morph button first
    at.text_area(key="morph_start").input("demo, smooth").run()
    at.text_area(key="morph_end").input("demo, {edge-on galaxy:1.5}").run()
    at.button[0].click().run()
    assert not problems(at)
    output = at.session_state["interpolation"]["output"]
    frames = len(output.arrays)
    assert 8 <= frames <= 16 and len(set(output.seeds)) == 1
    nonzero = [{tag: w for tag, w in prompt.items() if w} for prompt in output.prompts]
    assert nonzero[0] == {"demo": 1.0, "smooth": 1.0}
    # edge-on hangs under "features or disk-shaped": generation adds it, growing with edge-on up to 1
    assert nonzero[-1] == {"demo": 1.0, "edge-on galaxy": 1.5, "features or disk-shaped": 1.0}
    implied = [p.get("features or disk-shaped", 0.0) for p in output.prompts]
    assert implied == [min(1.0, p.get("edge-on galaxy", 0.0)) for p in output.prompts]
    table = at.dataframe[0].value
    assert len(table) == frames and table["edge-on galaxy"].is_monotonic_increasing
    assert table["fraction"].iloc[0] == 0.0 and table["fraction"].iloc[-1] == 1.0
    assert np.abs(output.arrays[0].astype(int) - output.arrays[-1].astype(int)).mean() > 0
    at.text_area(key="morph_end").input("demo, {smooth:9}").run()
    assert any("weight" in e.value for e in at.error)


def test_about_shows_the_model_card_and_the_credits(default_run, app_env, tiny_run):
    app_env(DEFAULT_RUN)
    at = open_page("about")
    assert not problems(at)
    text = " ".join(m.value for m in at.markdown)
    assert "Intended use" in text and "Limits" in text and "Sloan" in text
    assert "diffusers" in at.dataframe[0].value["value"].tolist()
    app_env(tiny_run)
    at = open_page("about")
    assert not problems(at) and any("no model card" in i.value for i in at.info)


def test_sliders_keep_a_question_consistent_and_mark_unlabelled_answers(app_env):
    app_env(DEFAULT_RUN)
    at = open_page("generate")
    at.text_area(key="prompt_text").input("sdss, features or disk-shaped, not edge-on, spiral galaxy").run()
    at.slider(key="tag::edge-on galaxy").set_value(1.5).run()
    assert not problems(at)
    prompt = at.text_area(key="prompt_text").value
    assert "{edge-on galaxy:1.5}" in prompt and "not edge-on" not in prompt
    assert at.slider(key="tag::not edge-on").value == 0.0
    # the shipped run's data report: no sdss galaxy is labelled "lens or arc" or "boxy bulge"
    assert at.slider(key="tag::lens or arc").label.endswith("(not labelled in training)")
    assert at.slider(key="tag::boxy bulge").label.endswith("(not labelled in training)")
    assert at.slider(key="tag::smooth").label == "smooth"
    at.selectbox(key="domain_choice").set_value("demo").run()
    assert at.slider(key="tag::boxy bulge").label == "boxy bulge"  # labelled in the demo survey


def test_answers_learned_from_simulated_examples_only_are_marked(app_env):
    app_env(DEFAULT_RUN)  # stage 5 was trained with simulated sdss dust lanes
    at = open_page("generate")
    at.selectbox(key="domain_choice").set_value("sdss").run()
    assert not problems(at)
    assert at.slider(key="tag::dust lane").label == "dust lane (simulated in training)"
    assert at.slider(key="tag::merger").label == "merger"  # GZ1 labels mergers
    assert any("simulated examples only" in c.value for c in at.caption)


def test_public_hosting_mode_limits_what_a_browser_may_do(tiny_run, app_env, monkeypatch):
    db = app_env(tiny_run)
    monkeypatch.setenv("GALAXYSD_PUBLIC", "1")
    monkeypatch.setenv("GALAXYSD_MARK_PASSWORD", "s3cret")
    monkeypatch.setattr("galaxysd.app.hosting.PUBLIC_MAX_QUIZ_ANSWERS", 1)
    at = open_page("train")
    assert not problems(at) and any("switched off" in i.value for i in at.info)
    assert not [b for b in at.button if b.label == "Start training"]
    at = open_page("explore")
    assert all(b.disabled for b in at.button if "map" in b.label)

    at = open_page("candidates")
    at.selectbox(key="cand_detail").set_value("cand002").run()
    at.radio(key="mark_status_cand002").set_value("rejected")
    at.text_area(key="mark_note_cand002").input("no password")
    next(b for b in at.button if b.label == "Save mark").click().run()
    assert at.error and "password" in at.error[0].value and db.candidate_marks(str(tiny_run)).empty
    at.text_input(key="mark_password").input("wrong").run()
    at.text_area(key="mark_note_cand002").input("x" * 600)
    next(b for b in at.button if b.label == "Save mark").click().run()
    assert db.candidate_marks(str(tiny_run)).empty
    at.text_input(key="mark_password").input("s3cret").run()
    at.text_area(key="mark_note_cand002").input("a foreground star")
    next(b for b in at.button if b.label == "Save mark").click().run()
    assert at.success and db.candidate_marks(str(tiny_run))["status"].tolist() == ["rejected"]

    at = open_page("quiz")
    at.button(key="quiz_pick_0").click().run()
    assert not problems(at) and all(at.button(key=f"quiz_pick_{i}").disabled for i in range(4))
    assert any("at most 1 answers" in i.value for i in at.info)
    assert db.realism(str(tiny_run))["answers"] == 1


def test_public_hosting_policy_from_the_environment():
    assert hosting_policy({}) == HostingPolicy() and hosting_policy({}).password_ok(None)
    public = hosting_policy({"GALAXYSD_PUBLIC": "true"})
    assert public.public and not public.marking_possible and not public.password_ok("anything")
    assert not public.jobs_allowed and public.quiz_answers_left(99) == 1 and public.quiz_answers_left(150) == 0
    with pytest.raises(ValueError, match="limit here is 500"):
        public.check_note("x" * 501)
    with pytest.raises(ValueError, match="limit here is 1 MB"):
        public.check_upload(2 * 2**20)
    locked = hosting_policy({"GALAXYSD_PUBLIC": "1", "GALAXYSD_MARK_PASSWORD": "pw"})
    assert locked.password_ok("pw") and not locked.password_ok("pw2") and not locked.password_ok("")


def test_a_prompt_without_its_parent_answers_names_them_and_offers_to_write_them_in(tiny_run, app_env):
    app_env(tiny_run)
    at = open_page("generate")
    assert not any(b.key == "add_parents" for b in at.button)  # the default prompt has its parents
    at.text_area(key="prompt_text").input("sdss, {spiral galaxy:0.7}").run()
    assert any("features or disk-shaped, not edge-on" in c.value for c in at.caption)
    assert at.session_state["generated"]["output"].prompts[0] == {  # generation adds them already
        "sdss": 1.0,
        "spiral galaxy": 0.7,
        "features or disk-shaped": 0.7,
        "not edge-on": 0.7,
    }
    at.text_area(key="prompt_text").input("sdss, spiral galaxy").run()
    next(b for b in at.button if b.key == "add_parents").click().run()
    assert not at.exception
    assert at.text_area(key="prompt_text").value == "sdss, features or disk-shaped, not edge-on, spiral galaxy"
    assert at.session_state["generated"]["output"].prompts[0] == {
        "sdss": 1.0,
        "features or disk-shaped": 1.0,
        "not edge-on": 1.0,
        "spiral galaxy": 1.0,
    }
    assert not any(b.key == "add_parents" for b in at.button)
