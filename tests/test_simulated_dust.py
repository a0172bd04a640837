"""Simulated dust lanes on smooth galaxies: geometry, colour, labels and the training source."""

from __future__ import annotations

import numpy as np
import pytest

from galaxysd import morphology
from galaxysd.data.demo import render_demo_survey
from galaxysd.data.simulated_dust import light_shape, paint_dust_lane, simulate_dust_lanes
from galaxysd.training.batches import PROVENANCE, DataSource, load_training_set
from galaxysd.training.config import TrainConfig, parse_source, source_text
from galaxysd.training.data_report import data_report, simulated_only_tags

TAGS = list(morphology.ALL_TAGS)
SIDE = 64


def elliptical(pa_deg: float = 30.0, q: float = 0.6, sky: float = 12.0) -> np.ndarray:
    """A yellow-white de Vaucouleurs-like galaxy on a dark sky, as a uint8 image."""
    y, x = np.mgrid[0:SIDE, 0:SIDE] - (SIDE - 1) / 2.0
    a = np.radians(pa_deg)
    u, v = x * np.cos(a) + y * np.sin(a), -x * np.sin(a) + y * np.cos(a)
    r = np.sqrt(u * u + (v / q) ** 2)
    light = 230 * np.exp(-3.0 * np.sqrt(r / 6.0))  # a concentrated profile, about 6 px across
    colour = np.array([1.0, 0.92, 0.75])
    return np.clip(sky + light[..., None] * colour, 0, 255).astype(np.uint8)


def test_light_shape_finds_the_major_axis():
    shape = light_shape(elliptical(pa_deg=30.0, q=0.5))
    assert abs(shape.x) < 0.5 and abs(shape.y) < 0.5
    assert abs(((shape.pa - 30.0) + 90) % 180 - 90) < 3.0
    assert 1.0 < shape.sigma < SIDE / 4


def test_a_lane_darkens_and_reddens_the_galaxy_but_not_the_sky():
    image = elliptical()
    painted = paint_dust_lane(image, np.random.default_rng(0))
    assert painted.shape == image.shape and painted.dtype == np.uint8
    assert np.all(painted <= image)  # dust only absorbs
    darkened = image.astype(int).sum(-1) - painted.astype(int).sum(-1)
    assert darkened.max() > 60  # a visible lane
    assert (darkened > 20).mean() < 0.2  # a lane, not a dimmed galaxy
    # blue (g) absorbed more than red (i): the lane is redder than the galaxy around it
    lane = darkened > darkened.max() / 2
    ratio_before = image[lane, 2].sum() / image[lane, 0].sum()
    ratio_after = painted[lane, 2].sum() / painted[lane, 0].sum()
    assert ratio_after < ratio_before
    corners = np.r_[image[:4, :4].ravel(), image[-4:, -4:].ravel()]
    assert np.array_equal(corners, np.r_[painted[:4, :4].ravel(), painted[-4:, -4:].ravel()])


def test_the_same_seed_paints_the_same_lanes():
    images = np.stack([elliptical(pa) for pa in (0, 45, 90)])
    conditions = np.zeros((3, len(TAGS)), np.float32)
    conditions[:, TAGS.index("smooth")] = 1.0
    first, _, _ = simulate_dust_lanes(images, conditions, TAGS, seed=3)
    second, _, _ = simulate_dust_lanes(images, conditions, TAGS, seed=3)
    other, _, _ = simulate_dust_lanes(images, conditions, TAGS, seed=4)
    assert np.array_equal(first, second) and not np.array_equal(first, other)


def test_copies_keep_smooth_answers_and_gain_the_dust_lane_only_for_smooth_galaxies():
    images = np.stack([elliptical() for _ in range(4)])
    conditions = np.zeros((4, len(TAGS)), np.float32)
    conditions[:, TAGS.index("sdss")] = 1.0
    conditions[[0, 2, 3], TAGS.index("smooth")] = [1.0, 0.8, 0.9]
    conditions[0, TAGS.index("completely round galaxy")] = 0.7
    conditions[0, TAGS.index("nothing odd")] = 0.9
    conditions[1, TAGS.index("features or disk-shaped")] = 1.0
    conditions[3, TAGS.index("odd feature")] = 0.5  # already odd: not a clean canvas
    painted, labels, rows = simulate_dust_lanes(images, conditions, TAGS)
    assert len(painted) == len(labels) == 2
    assert rows.tolist() == [0, 2]  # the galaxies copied
    assert labels[0, TAGS.index("completely round galaxy")] == pytest.approx(0.7)
    assert labels[1, TAGS.index("smooth")] == pytest.approx(0.8)
    for tag, value in (("odd feature", 1.0), ("dust lane", 1.0), ("nothing odd", 0.0), ("sdss", 1.0)):
        assert np.all(labels[:, TAGS.index(tag)] == value), tag


def test_leaf_copies_carry_the_dust_lane_without_its_parent_answer():
    images = np.stack([elliptical() for _ in range(2)])
    conditions = np.zeros((2, len(TAGS)), np.float32)
    conditions[:, TAGS.index("sdss")] = 1.0
    conditions[:, TAGS.index("smooth")] = 1.0
    conditions[:, TAGS.index("completely round galaxy")] = 0.8
    leaf_images, leaf, _ = simulate_dust_lanes(images, conditions, TAGS, seed=2, simulation="dust_lane_leaf")
    parent_images, parent, _ = simulate_dust_lanes(images, conditions, TAGS, seed=2)
    np.testing.assert_array_equal(leaf_images, parent_images)  # the same lanes, other labels
    assert np.all(leaf[:, TAGS.index("dust lane")] == 1.0)
    assert np.all(leaf[:, TAGS.index("odd feature")] == 0.0)
    assert np.all(leaf[:, TAGS.index("completely round galaxy")] == pytest.approx(0.8))
    changed = np.flatnonzero((leaf != parent).any(axis=0))
    assert [TAGS[i] for i in changed] == ["odd feature"]
    with pytest.raises(ValueError, match="unknown simulation"):
        simulate_dust_lanes(images, conditions, TAGS, simulation="tidal tails")


def test_no_smooth_galaxy_is_a_clear_error():
    conditions = np.zeros((2, len(TAGS)), np.float32)
    with pytest.raises(ValueError, match="smooth galaxies"):
        simulate_dust_lanes(np.zeros((2, SIDE, SIDE, 3), np.uint8), conditions, TAGS)
    with pytest.raises(ValueError, match="square"):
        paint_dust_lane(np.zeros((8, 4, 3), np.uint8), np.random.default_rng(0))


def test_a_config_source_can_ask_for_simulated_lanes_and_unknown_kinds_fail():
    source = parse_source({"catalog": "demo:x", "domain": "demo", "weight": 0.1, "simulate": "dust_lane"})
    assert source.simulate == "dust_lane" and source.name.endswith("[simulated dust_lane]")
    config = TrainConfig(data=[source, DataSource("demo:x", "demo")])
    round_trip = TrainConfig.from_dict(config.to_dict())
    assert round_trip.data == config.data
    assert "simulate" not in config.to_dict()["data"][1]  # configs without it read as before
    with pytest.raises(ValueError, match="unknown simulate value"):
        parse_source({"catalog": "demo:x", "simulate": "tidal tails"})


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    render_demo_survey(64, out, size=32, seed=5, workers=1, progress=False)
    return out


def test_training_set_with_a_simulated_source(demo_dir, tmp_path):
    sources = [DataSource(f"demo:{demo_dir}", "demo"), DataSource(f"demo:{demo_dir}", "demo", 0.5, "dust_lane")]
    data = load_training_set(sources, tmp_path / "cache", 16, TAGS, 0.3, workers=1)
    plain, simulated = data.conditions
    smooth = (plain[:, TAGS.index("smooth")] > 0) & (plain[:, TAGS.index("features or disk-shaped")] <= 0)
    smooth &= plain[:, TAGS.index("odd feature")] <= 0
    assert len(simulated) == smooth.sum() > 0
    assert np.all(simulated[:, TAGS.index("dust lane")] == 1.0)
    assert data.images[1].shape[1:] == (16, 16, 3)
    assert not np.array_equal(data.images[1], data.images[0][smooth])
    codes = data.provenance[1][:, TAGS.index("dust lane")]
    assert np.all(codes == PROVENANCE.index("simulated"))
    assert data.names[1].endswith("[simulated dust_lane]")


def test_the_text_form_names_a_simulation_and_round_trips():
    source = parse_source("gz1:../shared/data/gz1-sdss?split=train@sdss*0.05+dust_lane")
    assert source == DataSource("gz1:../shared/data/gz1-sdss?split=train", "sdss", 0.05, "dust_lane")
    assert parse_source(source_text(source)) == source
    plain = parse_source("folder:/data/a+b@sdss")  # a '+' that names no simulation stays in the path
    assert plain.catalog == "folder:/data/a+b" and plain.simulate is None


def test_the_data_report_names_simulated_labels(demo_dir, tmp_path):
    sources = [DataSource(f"demo:{demo_dir}", "demo"), DataSource(f"demo:{demo_dir}", "demo", 0.5, "dust_lane")]
    data = load_training_set(sources, tmp_path / "cache", 16, TAGS, 0.3, workers=1)
    report = data_report(data, TAGS, ["demo", "demo"])
    lanes = report[(report["tag"] == "dust lane") & report["catalog"].str.endswith("[simulated dust_lane]")]
    assert lanes["provenance"].tolist() == ["simulated"]
    simulated_only = report[report["catalog"].str.endswith("[simulated dust_lane]")]
    assert simulated_only_tags(simulated_only) == {"dust lane", "odd feature"}
    assert "dust lane" not in simulated_only_tags(report)  # the demo survey has real dust lanes too


def test_a_leaf_source_labels_only_the_dust_lane_as_simulated(demo_dir, tmp_path):
    source = parse_source(f"demo:{demo_dir}@demo*0.5+dust_lane_leaf")
    assert source.simulate == "dust_lane_leaf" and parse_source(source_text(source)) == source
    data = load_training_set([source], tmp_path / "cache", 16, TAGS, 0.3, workers=1)
    (conditions,) = data.conditions
    assert np.all(conditions[:, TAGS.index("dust lane")] == 1.0)
    assert np.all(conditions[:, TAGS.index("odd feature")] == 0.0)
    report = data_report(data, TAGS, ["demo"])
    assert simulated_only_tags(report) == {"dust lane"}
    odd = report[report["tag"] == "odd feature"]
    assert odd["galaxies"].tolist() == [0]  # no copy is labelled with the parent answer
