"""Evaluating a run: every output written, resumable, checkpoint curves, Pareto sweep, CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from evaluation_fakes import toy_cache, toy_generator, toy_judge
from PIL import Image

from galaxysd.evaluation.evaluate_job import evaluate_run, load_generator, main, parse_args
from galaxysd.evaluation.prompts import PAPER_PROMPTS, PromptSpec, load_prompt_file, matching_rows, with_domain
from galaxysd.evaluation.response_job import ResponseSettings
from galaxysd.evaluation.run_evaluation import EvalSettings
from galaxysd.model.tag_guidance import DEFAULT_TAG_GUIDANCE
from galaxysd.morphology import parse_prompt
from galaxysd.runs import weights_digest

pytestmark = pytest.mark.slow  # trains, renders or runs jobs end to end

PROMPTS = (
    PromptSpec("R", "round", "sdss, smooth, completely round galaxy"),
    PromptSpec("E", "edge-on", "sdss, features or disk-shaped, edge-on galaxy"),
)


def test_paper_prompts_parse_and_name_their_morphology():
    assert [p.key for p in PAPER_PROMPTS] == list("ABCDEFGHIJKLMNOP")
    for spec in PAPER_PROMPTS:
        assert parse_prompt(spec.text)["sdss"] == 1.0
        assert spec.required_tags
    assert set(PAPER_PROMPTS[11].required_tags) >= {"edge-on galaxy", "rounded bulge", "dust lane"}
    assert with_domain(PAPER_PROMPTS[2], "demo").weights == {
        "demo": 1.0,
        "features or disk-shaped": 1.0,
        "edge-on galaxy": 1.0,
    }


def test_prompt_file_names_prompts_and_reports_bad_lines(tmp_path):
    good = tmp_path / "good.txt"
    good.write_text("# mine\nR = sdss, smooth, {dust lane:1.3}\nsdss, edge-on galaxy\n")
    specs = load_prompt_file(good)
    assert [s.key for s in specs] == ["R", "p2"]
    assert specs[0].weights["dust lane"] == 1.3
    bad = tmp_path / "bad.txt"
    bad.write_text("sdss, smooth\nsdss, spirall galaxy\n")
    with pytest.raises(ValueError, match="bad.txt:2: unknown morphology tag"):
        load_prompt_file(bad)


@pytest.fixture(scope="module")
def toy_setup():
    training = toy_cache(48, seed=0)
    return toy_cache(40, seed=1), toy_judge(training)


def _fake_run(tmp_path):
    run = tmp_path / "run"
    (run / "model").mkdir(parents=True)
    for step in (10, 20):
        folder = run / "checkpoints" / f"step_{step:07d}"
        folder.mkdir(parents=True)
        (folder / "state.json").write_text(json.dumps({"step": step}))
    return run


def test_evaluation_writes_every_output_and_resumes_without_regenerating(tmp_path, toy_setup):
    cache, judge = toy_setup
    run, calls = _fake_run(tmp_path), []
    noise_by_folder = {"model": 3.0, "step_0000010": 80.0, "step_0000020": 3.0}

    def load(folder):
        return toy_generator(noise_by_folder[folder.name], calls)

    settings = EvalSettings.quick(max_real=12)
    metrics = evaluate_run(run, cache, judge, settings, PROMPTS, load=load, progress=False)
    eval_dir = run / "eval"
    assert [p["key"] for p in metrics["prompts"]] == ["R", "E"]
    edge_on = metrics["prompts"][1]
    assert edge_on["n_generated"] == 4 and edge_on["n_real"] == 12
    assert edge_on["consistency"] >= 0.75 and edge_on["consistency_real"] >= 0.75
    assert np.isfinite(edge_on["frechet"]) and np.isfinite(edge_on["frechet_floor"])
    assert 0 < edge_on["diversity"] < 3
    assert set(metrics["physical"]["statistics"]) >= {"concentration", "gini", "m20", "colour"}
    assert json.loads((eval_dir / "metrics.json").read_text())["summary"]["n_generated"] == 8

    curves = pd.read_csv(eval_dir / "curves.csv")
    assert len(curves) == 2 * 3 and set(curves["prompt"]) == {"R", "E", "all"}
    mean = curves[curves.prompt == "all"].set_index("step")
    assert mean.loc[10, "frechet"] > mean.loc[20, "frechet"]  # the noisy checkpoint is less real

    pareto = pd.read_csv(eval_dir / "pareto.csv")
    assert len(pareto) == 3 * 4  # R, E and their mean, over a 2x2 sweep
    for _, group in pareto.groupby("prompt"):
        assert group["pareto_realism_diversity"].any() and group["pareto_realism_consistency"].any()
        noisy = group[group.guidance == 1.0]["frechet"].min()
        assert noisy > group[group.guidance == 3.0]["frechet"].max()

    for name in (
        "histograms.csv",
        "histograms.json",
        "physical.csv",
        "samples/R.png",
        "samples/E.png",
        "samples/overview.png",
    ):
        assert (eval_dir / name).is_file(), name
    assert Image.open(eval_dir / "samples/E.png").size[1] > 2 * cache.images.shape[1]

    generated_before = len(calls)
    again = evaluate_run(run, cache, judge, settings, PROMPTS, load=load, progress=False)
    assert len(calls) == generated_before
    assert again == metrics
    pd.testing.assert_frame_equal(pd.read_csv(eval_dir / "curves.csv"), curves)

    more = evaluate_run(
        run,
        cache,
        judge,
        EvalSettings.quick(max_real=12, n_images=5),
        PROMPTS,
        load=load,
        parts=("metrics",),
        progress=False,
    )
    assert more["prompts"][0]["n_generated"] == 5  # changed settings are not mistaken for done


def test_the_judge_digest_follows_the_weights_and_is_none_without_them(tmp_path):
    assert weights_digest(tmp_path) is None and weights_digest(None) is None
    (tmp_path / "model.safetensors").write_bytes(b"weights one")
    first = weights_digest(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"weights two")
    assert weights_digest(tmp_path) != first
    (tmp_path / "model.safetensors").write_bytes(b"weights one")
    assert weights_digest(tmp_path) == first


def test_reference_images_exclude_what_the_judge_was_trained_on(toy_setup):
    cache, judge = toy_setup
    from galaxysd.evaluation.scoring import reference_rows

    seen = toy_cache(48, seed=0)  # the judge's own training galaxies
    rows = reference_rows(seen, judge, PROMPTS, max_real=100, seed=0)
    used = {seen.catalog["id"][r] for found in rows.values() for r in found}
    assert used and not used & set(judge.train_ids)
    assert set(rows["E"]) <= set(matching_rows(seen.catalog, PROMPTS[1].required_tags))


def test_command_line_errors_are_one_line_with_exit_code_1(tmp_path, capsys):
    (tmp_path / "model").mkdir()
    assert main(["--run", str(tmp_path), "--tag-guidance", "-1"]) == 1
    assert "tag_guidance must be between 0 and" in capsys.readouterr().err
    assert main([]) == 1
    assert main(["--run", str(tmp_path / "missing")]) == 1
    assert main(["judge", "--cache", str(tmp_path / "no-cache"), "--out", str(tmp_path / "j")]) == 1
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 3 and all(line.startswith("error: ") for line in errors)


def _tiny_trained_run(tmp_path):
    """A run folder as training leaves it: config.yaml, a tiny model and one checkpoint."""
    import torch
    import yaml

    from galaxysd.data.cache import build_cache, cache_folder
    from galaxysd.data.loaders import load_catalog_spec
    from galaxysd.model.saving import build_tag_pipeline, save_pipeline
    from galaxysd.model.unet_presets import PRESETS
    from galaxysd.training.checkpoints import save_checkpoint

    toy = toy_cache(40, size=16, seed=2)
    images_dir = tmp_path / "toy"
    images_dir.mkdir()
    for image, galaxy in zip(toy.images, toy.catalog["id"]):
        Image.fromarray(image).save(images_dir / f"{galaxy}.png")
    toy.catalog.to_csv(images_dir / "catalog.csv", index=False)
    spec = f"folder:{images_dir}"
    build_cache(
        load_catalog_spec(spec), cache_folder(tmp_path / "caches", spec, 16), size=16, workers=1, progress=False
    )

    run = tmp_path / "run"
    torch.manual_seed(0)
    pipe = build_tag_pipeline(PRESETS["tiny"])
    save_pipeline(pipe, run / "model")
    modules = {"unet": pipe.unet, "tag_encoder": pipe.tag_encoder}
    ema = {f"{n}.{k}": p.detach().clone() for n, m in modules.items() for k, p in m.named_parameters()}
    optimizer = torch.optim.SGD(pipe.unet.parameters(), lr=0.1)
    save_checkpoint(
        run, 5, modules, ema, optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1.0), {"seed": 0}, 3
    )
    (run / "config.yaml").write_text(
        yaml.safe_dump({"data": [{"catalog": spec, "domain": "sdss"}], "cache_dir": str(tmp_path / "caches")})
    )
    return run, cache_folder(tmp_path / "caches", spec, 16)


def test_command_line_trains_the_judge_and_evaluates_a_trained_run(tmp_path, capsys):
    run, cache = _tiny_trained_run(tmp_path)
    judge_argv = [
        "judge",
        "--cache",
        str(cache),
        "--out",
        str(run / "eval" / "judge"),
        "--epochs",
        "2",
        "--min-examples",
        "3",
    ]
    assert main(judge_argv) == 0, capsys.readouterr().err
    assert "judge with" in capsys.readouterr().out
    assert main(judge_argv) == 0 and "already trained" in capsys.readouterr().out
    prompts = tmp_path / "prompts.txt"
    prompts.write_text(f"E = {PROMPTS[1].text}\n")
    argv = ["--run", str(run), "--quick", "--prompts", str(prompts), "--n-images", "2", "--steps", "4"]
    assert main(argv) == 0, capsys.readouterr().err
    assert "evaluation written" in capsys.readouterr().out
    judge_report = json.loads((run / "eval" / "judge" / "report.json").read_text())
    assert "edge-on galaxy" in judge_report["tags"]
    metrics = json.loads((run / "eval" / "metrics.json").read_text())
    assert [p["n_generated"] for p in metrics["prompts"]] == [2]
    assert metrics["judge"]["tags"] == judge_report["tags"]
    digest = weights_digest(run / "eval" / "judge")
    assert digest and len(digest) == 16
    for name in ("metrics.json", "curves.json", "pareto.json"):  # each file names the judge it was scored with
        assert json.loads((run / "eval" / name).read_text())["judge_weights"] == digest
    curves = pd.read_csv(run / "eval" / "curves.csv")
    assert set(curves["step"]) == {5}
    assert len(pd.read_csv(run / "eval" / "pareto.csv")) == 2 * 4  # E and the mean
    assert main([*argv, "--out", str(prompts)]) == 1  # a file is no folder for the results
    assert "is a file" in capsys.readouterr().err
    assert main(argv) == 0  # everything already done: resumes to the same files
    assert json.loads((run / "eval" / "metrics.json").read_text())["prompts"] == metrics["prompts"]
    other = run / "eval" / "other"  # --out: a second set of results beside the run's own
    assert main([*argv, "--parts", "metrics", "--n-images", "3", "--tag-guidance", "0", "--out", str(other)]) == 0
    assert [p["n_generated"] for p in json.loads((other / "metrics.json").read_text())["prompts"]] == [3]
    # every part records the answer boost it sampled weights above 1 with
    assert json.loads((other / "metrics.json").read_text())["settings"]["tag_guidance"] == 0.0
    for name in ("metrics.json", "curves.json", "pareto.json"):
        assert json.loads((run / "eval" / name).read_text())["settings"]["tag_guidance"] == DEFAULT_TAG_GUIDANCE
    assert json.loads((run / "eval" / "metrics.json").read_text())["prompts"] == metrics["prompts"]


def test_the_generator_samples_weights_above_one_with_the_answer_boost_it_was_given(tmp_path):
    run, _ = _tiny_trained_run(tmp_path)
    weights = {"sdss": 1.0, "features or disk-shaped": 1.0, "edge-on galaxy": 1.5}
    plain = load_generator(run / "model", tag_guidance=0.0)(weights, 1, 0, 3, 1.0, "dpmpp")
    boosted = load_generator(run / "model", tag_guidance=4.0)(weights, 1, 0, 3, 1.0, "dpmpp")
    assert plain.shape == boosted.shape and not np.array_equal(plain, boosted)
    # weights up to 1 never use the boost
    at_one = {**weights, "edge-on galaxy": 1.0}
    np.testing.assert_array_equal(
        load_generator(run / "model", tag_guidance=0.0)(at_one, 1, 0, 3, 1.0, "dpmpp"),
        load_generator(run / "model", tag_guidance=4.0)(at_one, 1, 0, 3, 1.0, "dpmpp"),
    )


def test_response_keeps_sampling_options_given_before_its_name():
    """evaluate's own --steps/--sampler/--domain/... given before ``response`` reach the job."""
    before = parse_args(
        ["--steps", "7", "--sampler", "ddim", "--domain", "demo", "--tag-guidance", "2", "response", "--run", "R"]
    )
    assert (before.steps, before.sampler, before.domain, before.tag_guidance) == (7, "ddim", "demo", 2.0)
    after = parse_args(["response", "--run", "R", "--steps", "9", "--guidance", "1.5"])
    assert (after.steps, after.guidance) == (9, 1.5)
    plain = parse_args(["response", "--run", "R"])
    defaults = ResponseSettings()
    assert (plain.steps, plain.guidance, plain.sampler, plain.tag_guidance, plain.domain) == (
        defaults.steps,
        defaults.guidance,
        defaults.sampler,
        defaults.tag_guidance,
        "sdss",
    )
