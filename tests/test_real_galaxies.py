"""Real galaxies for the app's pages: from the run's caches, its catalogs' images, the shipped
reference set or the evaluation sheets; matching a prompt; nearest neighbours."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from app_runs import SIZE, copy_run, shared_tiny_run

from galaxysd.data.cache import ImageCache
from galaxysd.data.reference_set import REFERENCE_DIR, build_reference_set, load_reference_set
from galaxysd.evaluation.evaluate_job import run_training_images
from galaxysd.evaluation.neighbours import PixelFeatures, build_index, feature_space
from galaxysd.evaluation.real_galaxies import open_real_galaxies
from galaxysd.evaluation.run_results import eval_prompts
from galaxysd.morphology import answer, fraction_column
from galaxysd.runs import RunDir


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    return shared_tiny_run(tmp_path_factory)


@pytest.fixture(scope="module")
def cache_images(tiny_run):
    root = tiny_run.parent / "cache"
    return ImageCache.open(next(root.iterdir()))


def test_real_galaxies_come_from_the_cache_then_image_files_then_the_reference_set_then_sheets(
    tiny_run, cache_images, tmp_path, monkeypatch
):
    from_cache = open_real_galaxies(RunDir(tiny_run), SIZE)
    assert from_cache.origin == "image cache" and len(from_cache) == len(cache_images)
    np.testing.assert_array_equal(from_cache.images([0, 5]), cache_images.batch([0, 5]))

    no_cache = copy_run(tiny_run, tmp_path / "files", cache_dir=str(tmp_path / "missing"))
    from_files = open_real_galaxies(no_cache, SIZE)
    assert from_files.origin == "catalog images"
    np.testing.assert_array_equal(from_files.images([3]), cache_images.batch([3]))

    no_data = copy_run(
        tiny_run,
        tmp_path / "sheets",
        cache_dir=str(tmp_path / "missing"),
        data=[{"catalog": f"demo:{tmp_path / 'gone'}", "domain": "demo"}],
    )
    shipped = open_real_galaxies(no_data, SIZE)  # a clone without the data: the shipped reference set
    assert shipped.origin == "shipped reference set" and len(shipped) == 300
    assert shipped.images([0, 299]).shape == (2, SIZE, SIZE, 3) and shipped.domains() == ["sdss"]
    assert len(shipped.matching({"sdss": 1.0, "edge-on galaxy": 1.0}, 500, domain="sdss")) >= 50
    monkeypatch.setattr("galaxysd.evaluation.real_galaxies.REFERENCE_DIR", tmp_path / "no-reference")
    from_sheets = open_real_galaxies(no_data, SIZE)
    assert from_sheets.origin == "evaluation sample sheets"
    assert len(from_sheets) == 3 * 4  # three prompts, four real galaxies in each sheet's first row
    np.testing.assert_array_equal(from_sheets.images([0, 1, 2, 3]), cache_images.batch([0, 1, 2, 3]))
    spec = eval_prompts(no_data)[0]
    assert len(from_sheets.matching(spec.weights, 10, domain="demo")) == 4

    shutil.rmtree(no_data.eval_dir)
    assert open_real_galaxies(no_data, SIZE) is None


def test_a_simulated_source_is_not_counted_as_real_galaxies(tiny_run, cache_images, tmp_path):
    """A ``simulate: dust_lane`` source reads the same cache as its plain catalog: counting it
    would put every galaxy twice into the real reference (and halve the real-vs-real floor)."""
    entry = RunDir(tiny_run).config()["data"][0]
    doubled = copy_run(tiny_run, tmp_path / "doubled", data=[entry, {**entry, "weight": 0.1, "simulate": "dust_lane"}])
    assert len(open_real_galaxies(doubled, SIZE)) == len(cache_images)
    images, domain = run_training_images(doubled.path)
    assert len(images.catalog) == len(cache_images) and domain == entry["domain"]
    repeated = copy_run(tiny_run, tmp_path / "repeated", data=[entry, entry])  # a catalog named twice
    assert len(open_real_galaxies(repeated, SIZE)) == len(cache_images)


def test_real_galaxies_match_a_prompts_morphology(tiny_run):
    real = open_real_galaxies(RunDir(tiny_run), SIZE)
    rows = real.matching({"demo": 1.0, "smooth": 1.0}, n=100, domain="demo")
    smooth = real.catalog[fraction_column(answer("smooth"))].to_numpy()[rows]
    assert len(rows) and (smooth >= 0.5).all()
    assert len(real.matching({"smooth": 1.0}, n=100, domain="sdss")) == 0
    assert real.prompt_of(rows[0])["demo"] == 1.0


def test_nearest_neighbours_find_an_exact_copy_at_distance_zero(tiny_run, cache_images):
    images = cache_images.batch(np.arange(len(cache_images)))
    space = feature_space(RunDir(tiny_run))
    assert isinstance(space, PixelFeatures)  # the tiny run has no judge
    index = build_index(space, images, np.arange(len(images)) + 100)
    distances, rows = index.query(space.features(images[[7, 2]]), k=3)
    assert rows[:, 0].tolist() == [107, 102]
    assert distances[:, 0] == pytest.approx([0, 0], abs=1e-4)
    assert (np.diff(distances, axis=1) >= 0).all()
    assert index.typical_distance() > 0.01


def test_the_shipped_reference_set_is_small_labelled_and_rebuildable(shared_data, tmp_path):
    catalog, images = load_reference_set(REFERENCE_DIR)
    assert images.shape == (300, 64, 64, 3) and images.dtype == np.uint8
    assert sum(p.stat().st_size for p in REFERENCE_DIR.iterdir()) <= 3 * 2**20
    smooth = catalog["t01_smooth_or_features_a01_smooth_debiased"].dropna()
    assert len(smooth) >= 250 and smooth.between(0, 1).all()
    assert set(catalog["stratum"]) >= {"smooth", "edge-on", "spiral", "merger"}
    made = build_reference_set(f"gz1:{shared_data / 'gz1-sdss'}?split=holdout", tmp_path / "ref", n=12, size=32)
    assert len(made) == 12 and made["stratum"].value_counts().max() <= 4  # drawn evenly across strata
    again, again_images = load_reference_set(tmp_path / "ref")
    assert again_images.shape == (12, 32, 32, 3) and list(again["id"]) == list(made["id"])
    (tmp_path / "ref" / "galaxies.npz").write_bytes(b"broken")
    assert load_reference_set(tmp_path / "ref") is None
    with pytest.raises(ValueError, match="at least 1"):
        build_reference_set(f"gz1:{shared_data / 'gz1-sdss'}", tmp_path / "x", n=0)


def test_the_reference_set_keeps_each_galaxys_own_crop(shared_data, tmp_path, monkeypatch):
    import galaxysd.data.reference_set as reference_module
    from galaxysd.data.cache import load_image

    real_load = reference_module.load_catalog_spec

    def framed(spec):  # as ?framing=measured gives: a crop per galaxy
        catalog = real_load(spec)
        return catalog.assign(crop=np.where(np.arange(len(catalog)) % 2, 0.3, np.nan), framing="measured")

    monkeypatch.setattr(reference_module, "load_catalog_spec", framed)
    made = build_reference_set(f"gz1:{shared_data / 'gz1-sdss'}?split=holdout", tmp_path / "ref", n=6, size=32)
    _, images = load_reference_set(tmp_path / "ref")
    catalog = framed(f"gz1:{shared_data / 'gz1-sdss'}?split=holdout")
    by_id = catalog.set_index(catalog["id"].astype(str))
    for image, (galaxy, crop) in zip(images, zip(made["id"].astype(str), made["crop"])):
        path = by_id.at[galaxy, "image_path"]
        expected = load_image(path, size=32, crop=None if np.isnan(crop) else crop, source="gz1")
        np.testing.assert_array_equal(image, expected)
    assert made["crop"].notna().any() and made["crop"].isna().any()
