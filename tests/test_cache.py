"""The image cache: exact round trip, skipped corrupt files, resumable builds, real samples."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from galaxysd.data import cache as cache_module
from galaxysd.data.cache import ImageCache, build_cache, default_crop, load_image
from galaxysd.morphology import FRACTION_COLUMNS


def _write_galaxy(path, width: int, seed: int) -> None:
    """A noisy elliptical blob on black sky, saved as JPEG or PNG by suffix."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:width, :width] - (width - 1) / 2
    blob = np.exp(-(x**2 / 2 + y**2) / (2 * (0.08 * width) ** 2))
    rgb = blob[..., None] * np.array([230, 200, 150]) + rng.normal(0, 6, (width, width, 3))
    Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(path)


def _catalog(paths, sources) -> pd.DataFrame:
    n = len(paths)
    frame = pd.DataFrame(
        {
            "id": [f"g{i}" for i in range(n)],
            "image_path": [str(p) for p in paths],
            "ra": np.linspace(150, 151, n),
            "dec": np.zeros(n),
            "source": sources,
            "domain": ["demo" if s == "demo" else "sdss" for s in sources],
        }
    )
    fractions = pd.DataFrame(0.5, index=frame.index, columns=list(FRACTION_COLUMNS))
    return pd.concat([frame, fractions], axis=1)


@pytest.fixture
def small_catalog(tmp_path) -> pd.DataFrame:
    """Ten images: SDSS-sized JPEGs (gz1, gz2) and 64 px demo PNGs."""
    folder = tmp_path / "images"
    folder.mkdir()
    paths, sources = [], []
    for i in range(10):
        source, width, suffix = [("gz1", 423, "jpeg"), ("gz2", 424, "jpg"), ("demo", 64, "png")][i % 3]
        path = folder / f"galaxy_{i}.{suffix}"
        _write_galaxy(path, width, seed=i)
        paths.append(path)
        sources.append(source)
    return _catalog(paths, sources)


def test_cached_images_equal_direct_decoding(small_catalog, tmp_path):
    cache = build_cache(small_catalog, tmp_path / "cache", size=32, workers=2, progress=False, chunk=4)
    assert len(cache) == 10 and cache.size == 32 and cache.images.shape == (10, 32, 32, 3)
    assert not cache.images.flags.writeable
    for i, row in cache.catalog.iterrows():
        direct = load_image(row["image_path"], size=32, source=row["source"])
        np.testing.assert_array_equal(cache[i], direct)
    assert cache.catalog["crop"].tolist() == [0.4, 0.5, 1.0, 0.4, 0.5, 1.0, 0.4, 0.5, 1.0, 0.4]
    assert list(cache.catalog["id"]) == list(small_catalog["id"])
    reopened = ImageCache.open(tmp_path / "cache")
    assert reopened.meta["count"] == 10 and reopened.meta["sources"] == {"gz1": 4, "gz2": 3, "demo": 3}
    np.testing.assert_array_equal(reopened.batch([3, 0]), np.stack([cache[3], cache[0]]))


def test_explicit_crop_and_catalog_crop_column_override_the_source_default(small_catalog, tmp_path):
    assert default_crop("gz2", 424) == 0.5 and default_crop("gz2", 300) == 1.0
    with_column = small_catalog.assign(crop=[0.7] + [np.nan] * 9)
    cache = build_cache(with_column, tmp_path / "a", size=16, workers=1, progress=False)
    assert cache.catalog["crop"].tolist()[:3] == [0.7, 0.5, 1.0]
    forced = build_cache(small_catalog, tmp_path / "b", size=16, crop=0.9, workers=1, progress=False)
    assert set(forced.catalog["crop"]) == {0.9} and forced.meta["crop"] == 0.9


def test_corrupt_and_missing_images_are_skipped_and_reported(small_catalog, tmp_path, caplog):
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes((tmp_path / "images" / "galaxy_0.jpeg").read_bytes()[:300])
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("not an image")
    extra = _catalog([truncated, not_an_image, tmp_path / "missing.jpg"], ["gz2", "folder", "gz1"])
    extra["id"] = ["bad_truncated", "bad_text", "bad_missing"]
    catalog = pd.concat([small_catalog.iloc[:4], extra, small_catalog.iloc[4:]], ignore_index=True)
    with caplog.at_level(logging.WARNING, logger="galaxysd.data.cache"):
        cache = build_cache(catalog, tmp_path / "cache", size=16, workers=2, progress=False, chunk=3)
    assert len(cache) == 10 and cache.images.shape[0] == 10
    assert sorted(cache.failed["id"]) == ["bad_missing", "bad_text", "bad_truncated"]
    assert cache.meta["failed"] == 3 and "3 of 13 images" in caplog.text
    assert list(cache.catalog["id"]) == list(small_catalog["id"])
    assert list(cache.catalog["cache_index"]) == list(range(10))
    for i, row in cache.catalog.iterrows():
        np.testing.assert_array_equal(cache[i], load_image(row["image_path"], 16, source=row["source"]))
    assert len(ImageCache.open(tmp_path / "cache").failed) == 3


class SimulatedKill(Exception):
    """Stands in for the process dying in the middle of a build."""


def test_interrupted_build_resumes_and_gives_the_identical_array(small_catalog, tmp_path, monkeypatch):
    reference = build_cache(small_catalog, tmp_path / "reference", size=16, workers=1, progress=False, chunk=4)
    real_loader = cache_module._load_framed
    calls = []

    def dies_in_second_chunk(*args):
        calls.append(args[0])
        if len(calls) == 6:
            raise SimulatedKill
        return real_loader(*args)

    monkeypatch.setattr(cache_module, "_load_framed", dies_in_second_chunk)
    with pytest.raises(SimulatedKill):
        build_cache(small_catalog, tmp_path / "cache", size=16, workers=1, progress=False, chunk=4)
    with pytest.raises(FileNotFoundError, match="interrupted build resumes"):
        ImageCache.open(tmp_path / "cache")

    calls.clear()
    monkeypatch.setattr(cache_module, "_load_framed", lambda *args: calls.append(args[0]) or real_loader(*args))
    resumed = build_cache(small_catalog, tmp_path / "cache", size=16, workers=1, progress=False, chunk=4)
    assert len(calls) == 6  # the first chunk of 4 was not decoded again
    np.testing.assert_array_equal(np.asarray(resumed.images), np.asarray(reference.images))
    pd.testing.assert_frame_equal(resumed.catalog, reference.catalog)
    assert not (tmp_path / "cache" / "partial").exists()

    calls.clear()
    build_cache(small_catalog, tmp_path / "cache", size=16, workers=1, progress=False, chunk=4)
    assert calls == []  # a finished cache is reused as is


def test_subset_by_mask_and_positions_reads_the_right_images(small_catalog, tmp_path):
    cache = build_cache(small_catalog, tmp_path / "cache", size=8, workers=1, progress=False)
    train = cache.subset(cache.catalog["source"] == "gz2")
    assert len(train) == 3 and list(train.catalog["id"]) == ["g1", "g4", "g7"]
    np.testing.assert_array_equal(train[1], cache[4])
    picked = train.subset([2, 0])
    np.testing.assert_array_equal(picked.batch([0, 1]), cache.batch([7, 1]))


def test_real_gz1_sample_caches_centred_galaxies(shared_data, tmp_path):
    labels = pd.read_csv(shared_data / "gz1-sdss" / "labels.csv", dtype={"objid": str}).iloc[::160][:40]
    paths = [str(shared_data / "gz1-sdss" / "images" / name) for name in labels["filename"]]
    catalog = _catalog(paths, ["gz1"] * len(paths)).assign(id=labels["objid"].to_numpy())
    cache = build_cache(catalog, tmp_path / "cache", size=64, workers=2, progress=False, chunk=16)
    assert len(cache) == 40 and cache.failed.empty and cache.meta["crop"] == "by source"
    assert set(cache.catalog["crop"]) == {0.4}
    images = np.asarray(cache.images, dtype=float).mean(axis=-1)
    centre, border = images[:, 28:36, 28:36].mean(), images[:, :4, :].mean()
    assert centre > border + 40  # the galaxy sits in the middle of a dark sky frame
