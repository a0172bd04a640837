"""The checks behind the Train form and the training job's data lines: each bad input is
refused in plain words (no raw Python conversion errors)."""

from pathlib import Path

import pytest

from galaxysd.app.train_launcher import TrainingRequest, check_catalog_exists
from galaxysd.training.batches import DataSource
from galaxysd.training.config import TrainConfig, parse_source

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def demo_folder(tmp_path):
    folder = tmp_path / "demo"
    folder.mkdir()
    return folder


@pytest.mark.parametrize(
    "line, message",
    [
        ("demo:x@nosuchsurvey", "unknown survey/domain tag 'nosuchsurvey'"),
        ("demo:x@demo*-0.5", "must be zero or more"),
        ("demo:x@demo*lots", "must be a number, got 'lots'"),
        ("demo:x@demo*nan", "must be zero or more"),
        ("@demo", "names no catalog"),
    ],
)
def test_bad_data_lines_are_refused_in_plain_words(line, message):
    with pytest.raises(ValueError, match=message) as refused:
        parse_source(line)
    assert "could not convert" not in str(refused.value)


def test_good_data_lines_parse():
    assert parse_source("gz1:../shared/data/gz1-sdss@sdss*0.45") == DataSource(
        "gz1:../shared/data/gz1-sdss", "sdss", 0.45
    )
    assert parse_source({"catalog": "demo:x", "domain": "demo", "weight": 0}).weight == 0.0


@pytest.mark.parametrize("budget", [-5.0, float("nan"), float("inf")])
def test_a_negative_or_infinite_time_budget_is_refused(budget):
    config = TrainConfig(data=[DataSource("demo:x", "demo")], time_budget_minutes=budget)
    with pytest.raises(ValueError, match="time budget must be a number of minutes >= 0"):
        config.validate()


def test_a_missing_catalog_folder_is_named_with_how_to_make_a_demo(tmp_path):
    with pytest.raises(ValueError, match="does not exist; make it with: python -m galaxysd.data demo"):
        check_catalog_exists(f"demo:{tmp_path / 'missing'}")
    with pytest.raises(ValueError, match=r"catalog folder .* does not exist$"):
        check_catalog_exists(f"gz1:{tmp_path / 'missing'}?split=train")
    with pytest.raises(ValueError, match="unknown catalog kind 'sdss'"):
        check_catalog_exists(f"sdss:{tmp_path}")


def test_the_form_refuses_each_bad_input_before_any_job_starts(demo_folder):
    good = f"demo:{demo_folder}@demo"
    for bad, message in (
        (dict(data=[f"demo:{demo_folder / 'nope'}@demo"], make_missing_demo=False), "does not exist"),
        (dict(data=[f"{good}*-1"]), "zero or more"),
        (dict(data=[f"demo:{demo_folder}@martian"]), "unknown survey/domain tag"),
        (dict(time_budget_minutes=-3.0), "time budget"),
    ):
        with pytest.raises(ValueError, match=message):
            TrainingRequest(**{"name": "ok", "data": [good], **bad}).validate()
    assert TrainingRequest(name="ok", data=[good]).validate().data == [good]


def test_a_missing_demo_survey_is_made_on_demand_by_the_job(demo_folder):
    missing = f"demo:{demo_folder / 'not-yet'}@demo"
    request = TrainingRequest(name="ok", data=[missing]).validate()
    command = request.command()
    assert command[command.index("--make-missing-demo") + 1] == "2000"
    assert "--make-missing-demo" not in TrainingRequest(name="ok", data=[missing], make_missing_demo=False).command()


CONFIGS = sorted((REPO_ROOT / "assets" / "configs").glob("*.yaml"))


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.name)
def test_every_shipped_training_config_is_valid(config, monkeypatch):
    monkeypatch.chdir(REPO_ROOT)  # configs name paths relative to the project
    loaded = TrainConfig.from_yaml(config)
    if loaded.init_from and not (Path(loaded.init_from) / "model_index.json").is_file():
        # a warm start from a run another shipped config makes (absent until that one runs)
        makers = [c for c in CONFIGS if Path(TrainConfig.from_yaml(c).run_dir) == Path(loaded.init_from).parent]
        assert makers, f"{config.name} starts from {loaded.init_from}, which no shipped config makes"
        loaded.init_from = None
    validated = loaded.validate()
    assert all(isinstance(source, DataSource) and ":" in source.catalog for source in validated.data)
