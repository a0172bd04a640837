"""The demo survey: deterministic renders, sane vote fractions, the specified population, physics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from galaxysd.data import demo
from galaxysd.data.demo import render_demo_survey, sample_truth
from galaxysd.data.demo_votes import truth_to_vote_fractions
from galaxysd.data.render import render_galaxy
from galaxysd.morphology import FRACTION_COLUMNS, TREE, fraction_column


@pytest.fixture(scope="module")
def population() -> pd.DataFrame:
    """20,000 sampled truths (no pixels) with their vote fractions."""
    truth = sample_truth(20_000, seed=7)
    return pd.concat([truth, truth_to_vote_fractions(truth, seed=7)], axis=1)


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_gives_identical_files_whatever_the_workers(tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "RENDER_CHUNK", 4)
    one = render_demo_survey(10, tmp_path / "one", size=32, seed=3, workers=1, progress=False)
    two = render_demo_survey(10, tmp_path / "two", size=32, seed=3, workers=2, progress=False)
    files = _files(tmp_path / "one")
    assert len(files) == 11 and files == _files(tmp_path / "two")
    assert one.drop(columns="image_path").equals(two.drop(columns="image_path"))
    other = render_demo_survey(10, tmp_path / "other", size=32, seed=4, workers=1, progress=False)
    assert _files(tmp_path / "other") != files and not other["truth_type"].equals(one["truth_type"])


def test_catalog_follows_the_schema_and_images_are_uint8(tmp_path):
    catalog = render_demo_survey(6, tmp_path, size=48, seed=0, workers=1, progress=False)
    assert list(catalog.columns[:6]) == ["id", "image_path", "ra", "dec", "source", "domain"]
    assert set(FRACTION_COLUMNS) <= set(catalog.columns)
    assert {"truth_type", "truth_sersic_n", "truth_inclination", "truth_n_arms", "truth_dust_lane"} <= set(catalog)
    assert (catalog["source"] == "demo").all() and (catalog["domain"] == "demo").all()
    assert catalog["ra"].isna().all() and catalog["dec"].isna().all()
    for path in catalog["image_path"]:
        assert Path(path).is_absolute()
        pixels = np.asarray(Image.open(path))
        assert pixels.shape == (48, 48, 3) and pixels.dtype == np.uint8
    on_disk = pd.read_csv(tmp_path / "catalog.csv")
    assert on_disk["image_path"].tolist() == [f"images/demo_{i:06d}.png" for i in range(6)]


def test_vote_fractions_are_probabilities_that_sum_to_one_per_question(population):
    fractions = population[list(FRACTION_COLUMNS)]
    assert fractions.notna().all().all()
    assert ((fractions >= 0) & (fractions <= 1)).all().all()
    for question in TREE:
        sums = population[[fraction_column(a) for a in question.answers]].sum(axis=1)
        np.testing.assert_allclose(sums, 1.0, atol=1e-9)


def test_population_frequencies_match_the_specification(population):
    kind = population["truth_type"]
    assert 0.003 < population["truth_dusty_early_type"].mean() < 0.007
    assert 0.003 < (kind == "star").mean() < 0.007
    assert abs((kind == "spiral").mean() - 0.475) < 0.02 and abs((kind == "elliptical").mean() - 0.40) < 0.02
    dusty = population[population["truth_dusty_early_type"]]
    assert (dusty["truth_type"] == "elliptical").all() and dusty["truth_dust_lane"].all()
    assert (dusty["truth_axis_ratio"] >= 0.55).all()  # round or in-between
    spirals = population[kind == "spiral"]
    arms = spirals["truth_n_arms"].value_counts(normalize=True)
    assert abs(arms[2] - 0.5) < 0.03 and abs(arms[1] - 0.06) < 0.02 and (arms[5] + arms[6]) > 0.1
    assert set(spirals["truth_winding"]) == {"tight", "medium", "loose"}
    assert abs(spirals["truth_bar"].mean() - 0.30) < 0.03
    disks = population[kind.isin(["spiral", "lenticular"])]
    assert abs((disks["truth_inclination"] > 80).mean() - 0.174) < 0.02
    assert 0.04 < population["truth_merger"].mean() < 0.06


def test_votes_follow_the_truth_and_blur_for_faint_galaxies(population):
    t, col = population, {a.tag: fraction_column(a) for q in TREE for a in q.answers}
    face_on_spiral = (t["truth_type"] == "spiral") & (t["truth_inclination"] < 50)
    bright, faint = t["truth_magnitude"] < 15.0, t["truth_magnitude"] > 17.4
    assert t.loc[face_on_spiral & bright, col["features or disk-shaped"]].mean() > 0.85
    assert t.loc[face_on_spiral & bright, col["spiral galaxy"]].mean() > 0.85
    assert (
        t.loc[face_on_spiral & faint, col["spiral galaxy"]].mean()
        < t.loc[face_on_spiral & bright, col["spiral galaxy"]].mean() - 0.1
    )
    assert t.loc[t["truth_type"] == "elliptical", col["smooth"]].mean() > 0.7
    assert t.loc[t["truth_inclination"] > 86, col["edge-on galaxy"]].mean() > 0.8
    dusty = t["truth_dusty_early_type"]
    assert t.loc[dusty, col["dust lane"]].mean() > 0.5 > t.loc[~dusty, col["dust lane"]].mean()
    assert t.loc[t["truth_type"] == "star", col["star or artifact"]].mean() > 0.6


def _clean_truth(kind: str, **changes) -> dict:
    """A bright isolated galaxy of ``kind`` without stars, neighbours, bar, ring or dust."""
    truth = sample_truth(200, seed=1)
    row = truth[truth["truth_type"] == kind].iloc[0]
    clean = {key[len("truth_") :]: value for key, value in row.items()}
    clean.update(
        magnitude=14.5,
        n_stars=0,
        companion=False,
        merger=False,
        bar=False,
        ring=False,
        dust_lane=False,
        sky_noise=0.5,
        psf_fwhm=0.03,
        pa=30.0,
    )
    clean.update(changes)
    return clean


def _light(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Background-subtracted intensity and pixel offsets from the centre."""
    intensity = pixels.astype(float).mean(axis=-1)
    intensity = np.clip(intensity - np.median(intensity), 0, None)
    y, x = np.indices(intensity.shape) - (intensity.shape[0] - 1) / 2
    return intensity, x, y


def _axis_ratio(pixels: np.ndarray) -> float:
    intensity, x, y = _light(pixels)
    weight = intensity * (np.hypot(x, y) < 0.4 * pixels.shape[0])
    cov = np.cov(np.stack([x.ravel(), y.ravel()]), aweights=weight.ravel())
    low, high = np.linalg.eigvalsh(cov)
    return float(np.sqrt(low / high))


def test_edge_on_disk_renders_elongated_and_face_on_round():
    ratios = {}
    for inclination in (5.0, 88.0):
        truth = _clean_truth(
            "spiral", inclination=inclination, bulge_fraction=0.1, axis_ratio=np.nan, n_arms=0, arm_strength=0.0
        )
        ratios[inclination] = np.mean(
            [_axis_ratio(render_galaxy(truth, 64, np.random.default_rng(s))) for s in range(3)]
        )
    assert ratios[88.0] < 0.4 and ratios[5.0] > 0.8


def test_higher_sersic_index_renders_more_concentrated_light():
    concentration = []
    for n in (1.0, 2.5, 5.0):
        truth = _clean_truth("elliptical", sersic_n=n, axis_ratio=1.0, half_light_radius=0.08)
        intensity, x, y = _light(render_galaxy(truth, 64, np.random.default_rng(0)))
        radius = np.hypot(x, y)
        concentration.append(intensity[radius < 3].mean() / intensity[(radius > 8) & (radius < 12)].mean())
    assert concentration[0] < concentration[1] < concentration[2]


def test_rendered_pixels_are_uint8_for_every_kind_of_object():
    truth = sample_truth(400, seed=5)
    records = [{k[len("truth_") :]: v for k, v in row.items()} for row in truth.to_dict(orient="records")]
    picked = {r["type"]: r for r in records} | {"merger": next(r for r in records if r["merger"])}
    picked["dusty"] = _clean_truth("elliptical", dust_lane=True, dusty_early_type=True)
    for record in picked.values():
        pixels = render_galaxy(record, 40, np.random.default_rng(0))
        assert pixels.shape == (40, 40, 3) and pixels.dtype == np.uint8 and pixels.max() > 60
