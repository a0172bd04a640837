"""The generation job: a catalog that loads like real data, resuming, refusing bad input."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch
from PIL import Image

from galaxysd import morphology
from galaxysd.data.catalog import CATALOG_COLUMNS
from galaxysd.data.conditions import condition_matrix
from galaxysd.data.loaders import load_catalog_spec
from galaxysd.model import generate_job as generate
from galaxysd.model.generated_catalog import prompt_fractions
from galaxysd.model.samplers import DEFAULT_SAMPLER
from galaxysd.model.saving import build_tag_pipeline, save_pipeline
from galaxysd.model.unet_presets import PRESETS

PROMPTS = ("sdss, smooth, completely round galaxy", "demo, spiral galaxy, {2 spiral arms:0.7}")


@pytest.fixture(scope="module")
def pipe():
    torch.manual_seed(0)
    pipeline = build_tag_pipeline(PRESETS["tiny"])
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


@pytest.fixture(scope="module")
def model_dir(pipe, tmp_path_factory):
    return save_pipeline(pipe, tmp_path_factory.mktemp("run") / "model")


def _job(**overrides) -> generate.GenerateJob:
    return generate.GenerateJob.checked(**{"prompts": PROMPTS, "n": 5, "steps": 2, **overrides})


def _files(folder) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_catalog_loads_with_the_catalog_loader_like_real_data(pipe, tmp_path):
    out = tmp_path / "set"
    generate.run_job(pipe, _job(seed=40), out, batch_size=4, progress=False)
    catalog = load_catalog_spec(f"synthetic:{out}")
    assert len(catalog) == 10 and catalog["id"].is_unique
    assert list(catalog.columns[: len(CATALOG_COLUMNS)]) == list(CATALOG_COLUMNS)
    assert (catalog["source"] == "synthetic").all() and catalog["ra"].isna().all()
    assert list(catalog["domain"]) == ["sdss"] * 5 + ["demo"] * 5
    assert list(catalog["seed"]) == list(range(40, 50)) and (catalog["sampler"] == DEFAULT_SAMPLER).all()
    assert catalog["prompt"].iloc[0] == PROMPTS[0]
    with Image.open(catalog["image_path"].iloc[7]) as image:
        assert image.size == (16, 16) and image.mode == "RGB"
    weights = condition_matrix(catalog, morphology.ALL_TAGS)
    column = {tag: i for i, tag in enumerate(morphology.ALL_TAGS)}
    round_row, spiral_row = weights[0], weights[5]
    assert round_row[column["smooth"]] == 1 and round_row[column["completely round galaxy"]] == 1
    assert round_row[column["sdss"]] == 1 and round_row[column["features or disk-shaped"]] == 0
    assert spiral_row[column["not edge-on"]] == 1 and spiral_row[column["spiral galaxy"]] == 1
    assert spiral_row[column["2 spiral arms"]] == pytest.approx(0.7)


def test_prompt_weights_become_vote_fraction_like_values():
    col = lambda tag: morphology.fraction_column(morphology.answer(tag))
    spiral = prompt_fractions({"spiral galaxy": 1.0, "2 spiral arms": 0.7})
    assert spiral[col("features or disk-shaped")] == 1 and spiral[col("smooth")] == 0
    assert spiral[col("not edge-on")] == 1 and spiral[col("no spiral arms")] == 0
    assert spiral[col("2 spiral arms")] == 0.7 and spiral[col("4 spiral arms")] == pytest.approx(0.06)
    assert math.isnan(spiral[col("ring")]) and math.isnan(spiral[col("no bar")])
    partial = prompt_fractions({"smooth": 0.6, "completely round galaxy": 0.3})
    assert partial[col("features or disk-shaped")] == pytest.approx(0.2)
    assert partial[col("completely round galaxy")] == pytest.approx(0.5)  # 0.3 of 0.6 reach it
    heavy = prompt_fractions({"completely round galaxy": 1.3, "dust lane": 1.2, "merger": 0.5})
    assert heavy[col("completely round galaxy")] == 1 and heavy[col("odd feature")] == 1
    assert heavy[col("dust lane")] == pytest.approx(1 / 1.5) and heavy[col("merger")] == pytest.approx(0.5 / 1.5)
    for values in (spiral, partial, heavy):
        for question in morphology.TREE:
            row = [values[morphology.fraction_column(a)] for a in question.answers]
            assert all(math.isnan(v) for v in row) or sum(row) == pytest.approx(1.0)


class Interrupted(Exception):
    pass


class DiesAfter:
    """A pipeline that is killed on its ``calls + 1``-th batch."""

    def __init__(self, pipe, calls: int):
        self.pipe, self.left, self.batches = pipe, calls, 0

    def __call__(self, *args, **kwargs):
        if self.left == 0:
            raise Interrupted
        self.left -= 1
        self.batches += 1
        return self.pipe(*args, **kwargs)

    def encode(self, prompts):
        return self.pipe.encode(prompts)


def test_interrupted_job_resumes_without_duplicates(pipe, tmp_path):
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    generate.run_job(pipe, _job(), whole, batch_size=3, progress=False)
    with pytest.raises(Interrupted):
        generate.run_job(DiesAfter(pipe, 2), _job(), broken, batch_size=3, progress=False)
    catalog = broken / "catalog.csv"
    assert len(pd.read_csv(catalog)) == 6
    with open(catalog, "a") as handle:  # a row torn by the kill
        handle.write("p001_00001,images/p001_00001.png,,,synth")
    (broken / "images" / "p001_00001.png").write_bytes(b"")  # an image whose row was never written
    resumed = DiesAfter(pipe, 99)
    generate.run_job(resumed, _job(), broken, batch_size=3, progress=False)
    assert resumed.batches == 2  # 10 images in batches of 3: two were done before the kill
    rows = pd.read_csv(catalog)
    assert len(rows) == 10 and rows["id"].is_unique
    assert _files(broken) == _files(whole)
    again = DiesAfter(pipe, 0)  # a finished job reruns without generating anything
    generate.run_job(again, _job(), broken, batch_size=3, progress=False)
    assert _files(broken) == _files(whole)


def test_a_different_job_never_overwrites_without_the_flag(pipe, tmp_path):
    out = tmp_path / "set"
    generate.run_job(pipe, _job(n=2), out, progress=False)
    before = _files(out)
    with pytest.raises(FileExistsError, match="--overwrite"):
        generate.run_job(pipe, _job(n=3), out, progress=False)
    assert _files(out) == before
    generate.run_job(pipe, _job(n=1), out, overwrite=True, progress=False)
    assert len(load_catalog_spec(f"synthetic:{out}")) == 2 and len(list((out / "images").iterdir())) == 2


@pytest.mark.slow
def test_command_line_writes_images_and_catalog(model_dir, tmp_path, capsys):
    prompt_file = tmp_path / "prompts.txt"
    prompt_file.write_text("# round ones\nsdss, smooth, completely round galaxy\n\n")
    out = tmp_path / "cli"
    code = generate.main(
        [
            "--run",
            str(model_dir.parent),
            "--prompt",
            "sdss, edge-on galaxy",
            "--prompt-file",
            str(prompt_file),
            "--n",
            "3",
            "--out",
            str(out),
            "--steps",
            "2",
            "--sampler",
            "euler_a",
            "--seed",
            "7",
            "--threads",
            "1",
        ]
    )
    assert code == 0 and "wrote 6 images" in capsys.readouterr().out
    catalog = load_catalog_spec(f"synthetic:{out}")
    assert list(catalog["seed"]) == list(range(7, 13)) and (catalog["sampler"] == "euler_a").all()
    # each row's prompt is what its image was drawn with: the decision tree completed
    assert set(catalog["prompt"]) == {
        "sdss, features or disk-shaped, edge-on galaxy",
        "sdss, smooth, completely round galaxy",
    }
    assert (
        generate.main(
            ["--run", str(model_dir.parent), "--prompt", "sdss, smooth", "--n", "3", "--out", str(out), "--steps", "2"]
        )
        == 1
    )
    assert "--overwrite" in capsys.readouterr().err


@pytest.mark.parametrize(
    "extra, needle",
    [
        (["--n", "0"], "--n must be"),
        (["--n", "10000"], "--n must be"),
        (["--steps", "0"], "--steps must be"),
        (["--sampler", "magic"], "unknown sampler"),
        (["--prompt", "sdss, spirl"], "unknown morphology tag 'spirl'"),
        (["--prompt", "sdss"], "names no morphology answer"),
        (["--prompt", "{merger:9}"], "within"),
        (["--prompt-file", "missing.txt"], "prompt file not found"),
        (["--batch-size", "0"], "--batch-size must be"),
        (["--guidance", "nan"], "--guidance must be"),
    ],
)
def test_bad_input_is_one_clear_line_and_writes_nothing(model_dir, tmp_path, capsys, extra, needle):
    args = {"--run": str(model_dir.parent), "--n": "2", "--out": str(tmp_path / "out")}
    for flag, value in zip(extra[::2], extra[1::2]):
        args[flag] = value
    argv = [item for pair in args.items() for item in pair]
    if "--prompt" not in args and "--prompt-file" not in args:
        argv += ["--prompt", "sdss, smooth"]
    assert generate.main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and needle in err and "\n" not in err
    assert not (tmp_path / "out").exists()


def test_missing_model_is_a_clear_error(tmp_path, capsys):
    argv = ["--run", str(tmp_path / "nowhere"), "--prompt", "sdss, smooth", "--n", "1", "--out", str(tmp_path / "out")]
    assert generate.main(argv) == 1
    assert "model_index.json" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_the_command_line_can_answer_open_questions_from_the_runs_real_galaxies(pipe, tmp_path, capsys):
    import numpy as np

    from galaxysd.model.answer_prior import PRIOR_FILE, AnswerPrior

    run = tmp_path / "run"
    save_pipeline(pipe, run / "model")
    tags = list(morphology.ALL_TAGS)
    labels = np.zeros((40, len(tags)), np.float32)
    labels[:, tags.index("smooth")] = 1.0
    labels[:20, tags.index("completely round galaxy")] = 1.0
    labels[20:, tags.index("cigar-shaped galaxy")] = 0.8
    AnswerPrior.from_conditions([labels], ["sdss"], tags).save(run / PRIOR_FILE)
    out = tmp_path / "filled"
    argv = ["--run", str(run), "--prompt", "sdss, smooth", "--n", "8", "--out", str(out), "--steps", "2"]
    assert generate.main([*argv, "--threads", "1", "--fill-open-questions"]) == 0, capsys.readouterr().err
    weights = condition_matrix(load_catalog_spec(f"synthetic:{out}"), tags)
    round_, cigar = weights[:, tags.index("completely round galaxy")], weights[:, tags.index("cigar-shaped galaxy")]
    assert ((round_ == 1) ^ np.isclose(cigar, 0.8)).all()  # each image: one real galaxy's roundness
    assert 0 < (round_ == 1).sum() < 8
    assert '"fill_open_questions": true' in (out / generate.JOB_FILE).read_text()
    assert "fill_open_questions" not in generate.GenerateJob.checked(prompts=PROMPTS, n=1).to_dict()
