"""Open questions answered as real training galaxies answer them (galaxysd.model.answer_prior)."""

from __future__ import annotations

import numpy as np
import pytest
from app_pages import open_page, problems
from app_runs import bare_copy

from galaxysd import morphology
from galaxysd.model.answer_prior import MIN_MATCHES, PRIOR_FILE, AnswerPrior, drawn_answers, load_run_prior
from galaxysd.model.saving import load_pipeline, save_pipeline
from galaxysd.training.batches import DataSource, TrainingSet
from galaxysd.training.prior_job import write_training_prior

TAGS = list(morphology.ALL_TAGS)
ROUND, BETWEEN, CIGAR = "completely round galaxy", "in-between round galaxy", "cigar-shaped galaxy"


def conditions(rows: list[dict[str, float]]) -> np.ndarray:
    """Condition vectors in TAGS order (survey tag left out: the prior takes it per source)."""
    matrix = np.zeros((len(rows), len(TAGS)), np.float32)
    for i, row in enumerate(rows):
        for tag, value in row.items():
            matrix[i, TAGS.index(tag)] = value
    return matrix


@pytest.fixture(scope="module")
def prior() -> AnswerPrior:
    smooth = [{"smooth": 1.0, ROUND: 0.8}] * 30 + [{"smooth": 1.0, BETWEEN: 0.6, CIGAR: 0.4}] * 10
    disks = [{"features or disk-shaped": 1.0, "edge-on galaxy": 1.0}] * 25
    demo = [{"smooth": 1.0, CIGAR: 1.0}] * 5  # too few to draw from
    return AnswerPrior.from_conditions(
        [conditions(smooth + disks), conditions(demo)], ["sdss", "demo"], TAGS
    )  # fmt: skip


def test_an_open_question_is_answered_by_a_real_galaxy_with_the_prompts_answers(prior):
    draws = [prior.fill({"sdss": 1.0, "smooth": 1.0}, seed) for seed in range(200)]
    shapes = {tuple(sorted(t for t in d if t in (ROUND, BETWEEN, CIGAR))) for d in draws}
    assert shapes == {(ROUND,), tuple(sorted((BETWEEN, CIGAR)))}  # both kinds of real smooth galaxy, nothing else
    share = np.mean([ROUND in d for d in draws])
    assert 0.65 < share < 0.85  # 30 of the 40 smooth galaxies are round
    assert all("edge-on galaxy" not in d and "odd feature" not in d for d in draws)  # not below smooth
    assert prior.fill({"sdss": 1.0, "smooth": 1.0}, 7) == prior.fill({"sdss": 1.0, "smooth": 1.0}, 7)
    assert ROUND in prior.fill({"sdss": 1.0, "smooth": 1.0}, -3) or BETWEEN in prior.fill(
        {"sdss": 1.0, "smooth": 1.0}, -3
    )


def test_answered_questions_and_weak_matches_stay_as_typed(prior):
    answered = {"sdss": 1.0, "smooth": 1.0, BETWEEN: 1.0}
    assert prior.fill(answered, 3) == answered
    assert prior.fill({"demo": 1.0, "smooth": 1.0}, 3) == {"demo": 1.0, "smooth": 1.0}  # 5 < MIN_MATCHES
    assert MIN_MATCHES > 5
    assert prior.fill({"hsc": 1.0, "smooth": 1.0}, 3) == {"hsc": 1.0, "smooth": 1.0}  # survey not in the prior
    assert prior.fill({"sdss": 1.0}, 3) == {"sdss": 1.0}  # no answer, nothing below it


def test_a_filled_answer_never_outweighs_the_answer_it_hangs_under(prior):
    for seed in range(20):
        filled = prior.fill({"sdss": 1.0, "smooth": 0.5}, seed)
        assert max(filled.get(t, 0.0) for t in (ROUND, BETWEEN, CIGAR)) <= 0.5
    disk = prior.fill({"sdss": 1.0, "features or disk-shaped": 1.0}, 0)
    assert disk["edge-on galaxy"] == 1.0  # the only disks: edge-on, a question two levels deep filled


def test_moving_a_slider_of_an_open_question_changes_the_filled_answers_smoothly(prior):
    for seed in range(12):
        steps = [prior.fill({"sdss": 1.0, "smooth": 1.0, ROUND: r / 20}, seed) for r in range(0, 21)]
        for before, after in zip(steps, steps[1:]):
            for tag in (ROUND, BETWEEN, CIGAR):
                assert abs(after.get(tag, 0.0) - before.get(tag, 0.0)) <= 0.05 + 1e-9  # no jump
        at_zero = {tag: w for tag, w in steps[0].items() if w}
        assert at_zero == prior.fill({"sdss": 1.0, "smooth": 1.0}, seed)  # 0 is the open question
        assert steps[-1] == {"sdss": 1.0, "smooth": 1.0, ROUND: 1.0}  # answered in full: as typed
    half = prior.fill({"sdss": 1.0, "smooth": 1.0, CIGAR: 0.5}, 1)
    assert half[CIGAR] >= 0.5 and max(half.get(ROUND, 0.0), half.get(BETWEEN, 0.0)) <= 0.5 * 0.8 + 1e-9


def test_sibling_questions_are_answered_by_the_same_real_galaxy():
    barred = [
        {
            "features or disk-shaped": 1.0,
            "not edge-on": 1.0,
            "bar-shaped structure in the galaxy center": 1.0,
            "spiral galaxy": 1.0,
        }
    ] * 20
    plain = [{"features or disk-shaped": 1.0, "not edge-on": 1.0, "no bar": 1.0, "no spiral arms": 1.0}] * 20
    prior = AnswerPrior.from_conditions([conditions(barred + plain)], ["demo"], TAGS)
    kinds = set()
    for seed in range(40):
        filled = prior.fill({"demo": 1.0, "features or disk-shaped": 1.0, "not edge-on": 1.0}, seed)
        kinds.add(("no bar" in filled, "no spiral arms" in filled, "spiral galaxy" in filled))
    assert kinds == {(True, True, False), (False, False, True)}  # never a barred galaxy's bar with a plain one's arms


def test_the_prior_round_trips_through_its_file_and_bad_files_are_clear(prior, tmp_path):
    path = prior.save(tmp_path / PRIOR_FILE)
    again = AnswerPrior.load(path)
    assert again.domains == {"sdss", "demo"}
    assert again.fill({"sdss": 1.0, "smooth": 1.0}, 11) == prior.fill({"sdss": 1.0, "smooth": 1.0}, 11)
    (tmp_path / "bad.csv").write_text("smooth,round\n1,0\n")
    with pytest.raises(ValueError, match="domain and count"):
        AnswerPrior.load(tmp_path / "bad.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValueError, match="cannot read the answer prior"):
        AnswerPrior.load(tmp_path / "empty.csv")


def test_the_training_prior_leaves_simulated_sources_out(tmp_path):
    real = conditions([{"smooth": 1.0, ROUND: 1.0}] * 25)
    painted = conditions([{"smooth": 1.0, ROUND: 1.0, "odd feature": 1.0, "dust lane": 1.0}] * 25)
    data = TrainingSet([np.zeros((25, 4, 4, 3), np.uint8)] * 2, [real, painted], np.array([0.5, 0.5]), ["a", "b"])
    sources = [DataSource("gz1:x", "sdss"), DataSource("gz1:x", "sdss", simulate="dust_lane")]
    written = AnswerPrior.load(write_training_prior(tmp_path, data, sources, TAGS))
    assert int(written.table["count"].sum()) == 25 and written.table["dust lane"].max() == 0


def test_the_pipeline_fills_per_image_seed_and_needs_a_prior(tiny_pipe, prior, tmp_path):
    with pytest.raises(ValueError, match="no answer prior"):
        tiny_pipe("sdss, smooth", num_images=1, steps=2, fill_open_questions=True)
    save_pipeline(tiny_pipe, tmp_path / "run" / "model")
    assert load_run_prior(tmp_path / "run" / "model") is None
    prior.save(tmp_path / "run" / PRIOR_FILE)
    pipe = load_pipeline(tmp_path / "run" / "model", device="cpu")  # attaches RUN/answer_prior.csv
    batch = pipe("sdss, smooth", num_images=4, seed=10, steps=2, fill_open_questions=True)
    assert batch.prompts == [prior.fill({"sdss": 1.0, "smooth": 1.0}, s) for s in range(10, 14)]
    assert batch.settings["fill_open_questions"] is True
    alone = pipe("sdss, smooth", num_images=1, seed=12, steps=2, fill_open_questions=True)
    assert np.abs(alone.arrays[0].astype(int) - batch.arrays[2]).max() <= 1  # the image depends on its seed only
    plain = pipe("sdss, smooth", num_images=1, seed=12, steps=2)
    assert plain.prompts[0] == {"sdss": 1.0, "smooth": 1.0}  # off by default


def test_the_app_answers_open_questions_when_asked_and_says_what_each_image_drew(tiny_run, app_env, tmp_path):
    app_env(tiny_run)
    at = open_page("generate")
    at.text_area(key="prompt_text").input("demo, smooth").run()
    assert not problems(at) and not at.checkbox(key="fill_open_questions").value  # off by default
    assert at.session_state["generated"]["output"].prompts[0] == {"demo": 1.0, "smooth": 1.0}
    at.checkbox(key="fill_open_questions").check().run()
    output = at.session_state["generated"]["output"]
    assert output.settings["fill_open_questions"] is True
    assert any(set(p) - {"demo", "smooth"} for p in output.prompts)  # roundness drawn from real galaxies
    assert any("open questions answered as real galaxies do" in c.value for c in at.caption)
    drawn = [drawn_answers({"demo": 1.0, "smooth": 1.0}, p) for p in output.prompts]
    assert any(drawn) and all(set(d) <= {ROUND, BETWEEN, CIGAR} for d in drawn)
    captions = [image.proto.imgs[0].caption for image in at.get("image")]  # each image says what it drew
    assert len(captions) == len(drawn) and all(c.startswith(f"seed {s}") for c, s in zip(captions, output.seeds))
    assert all((f"drawn: {next(iter(d))}" in c) if d else "drawn" not in c for c, d in zip(captions, drawn))
    at.checkbox(key="fill_open_questions").uncheck().run()
    typed = at.session_state["generated"]["output"]
    assert typed.settings["fill_open_questions"] is False and typed.prompts[0] == {"demo": 1.0, "smooth": 1.0}
    app_env(bare_copy(tiny_run, tmp_path / "bare"))  # a run without RUN/answer_prior.csv: said, not an error
    at = open_page("generate")
    at.text_area(key="prompt_text").input("demo, smooth").run()
    at.checkbox(key="fill_open_questions").check().run()
    assert not at.error and not at.exception
    assert any("has no answer prior" in c.value for c in at.caption)
    at.run()  # a rerun that reuses the images still says why nothing was filled
    assert any("has no answer prior" in c.value for c in at.caption)
    assert at.session_state["generated"]["output"].settings["fill_open_questions"] is False


def test_drawn_answers_are_what_the_prior_added_beyond_the_completed_prompt(prior):
    typed = {"sdss": 1.0, "spiral galaxy": 1.0}
    assert drawn_answers(typed, morphology.with_parents(typed)) == {}  # completion is not a draw
    filled = prior.fill({"sdss": 1.0, "smooth": 0.5}, 4)
    drawn = drawn_answers({"sdss": 1.0, "smooth": 0.5}, filled)
    assert drawn and set(drawn) <= {ROUND, BETWEEN, CIGAR} and max(drawn.values()) <= 0.5


def test_the_search_and_augment_jobs_can_synthesise_with_open_questions_answered(tiny_pipe, prior):
    from galaxysd.science import augment_job, discover_job
    from galaxysd.science.synthetic_sets import SynthesisSettings, pipeline_generator

    assert "fill_open_questions" not in SynthesisSettings().to_dict()  # older synthetic sets keep their keys
    assert SynthesisSettings(fill_open_questions=True).to_dict()["fill_open_questions"] is True
    argv = ["--run", "r", "--catalog", "demo:x", "--fill-open-questions"]
    assert discover_job.search_settings(discover_job.parse_args(argv)).synthesis.fill_open_questions
    assert not discover_job.search_settings(discover_job.parse_args(argv[:-1])).synthesis.fill_open_questions
    assert augment_job.parse_args(["--run", "r", "--fill-open-questions"]).fill_open_questions
    before, tiny_pipe.answer_prior = tiny_pipe.answer_prior, prior
    try:
        settings = SynthesisSettings(steps=2, fill_open_questions=True)
        filled = pipeline_generator(tiny_pipe, settings)([{"sdss": 1.0, "smooth": 1.0}] * 3, [0, 1, 2])
        typed = pipeline_generator(tiny_pipe, SynthesisSettings(steps=2))([{"sdss": 1.0, "smooth": 1.0}] * 3, [0, 1, 2])
    finally:
        tiny_pipe.answer_prior = before
    assert filled.shape == typed.shape and not np.array_equal(filled, typed)  # roundness drawn per image


def test_answers_of_other_questions_condition_the_draw_where_enough_real_galaxies_have_them():
    dusty = [{"smooth": 1.0, CIGAR: 1.0, "odd feature": 1.0, "dust lane": 1.0}] * 25
    plain = [{"smooth": 1.0, ROUND: 1.0, "odd feature": 0.0}] * 200
    prior = AnswerPrior.from_conditions([conditions(dusty + plain)], ["demo"], TAGS)
    lane = {"demo": 1.0, "smooth": 1.0, "odd feature": 1.0, "dust lane": 1.0}
    assert all(prior.fill(lane, s).get(CIGAR) == 1.0 for s in range(30))  # as real dusty smooth galaxies
    faint = {**lane, "odd feature": 0.4, "dust lane": 0.4}  # below PRESENCE: no condition, any smooth galaxy
    assert np.mean([ROUND in prior.fill(faint, s) for s in range(60)]) > 0.7
    few = AnswerPrior.from_conditions([conditions(dusty[:5] + plain)], ["demo"], TAGS)  # 5 < MIN_MATCHES
    assert all(ROUND in few.fill(lane, s) for s in range(30))  # falls back to the question's path
