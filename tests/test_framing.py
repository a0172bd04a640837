"""Measured framing: each galaxy's crop scaled to its half-light radius, with counted fallbacks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from galaxysd.data.cache import build_cache, load_image
from galaxysd.data.framing import (
    FAILED,
    MAX_CROP,
    MEASURED,
    MIN_CROP,
    R50_TARGET,
    TOO_LARGE,
    TOO_SMALL,
    before_after_rows,
    crops_from_radii,
    measured_framing,
)
from galaxysd.data.loaders import load_catalog_spec
from galaxysd.data.shape_measure import measure_shape

WIDTH = 423  # a GZ1 cutout: fixed crop 0.4


def gaussian_cutout(sigma: float, seed: int = 0) -> np.ndarray:
    """A round Gaussian galaxy of width ``sigma`` px in the middle of a GZ1-sized noisy cutout."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:WIDTH, :WIDTH] - (WIDTH - 1) / 2
    light = 220 * np.exp(-0.5 * (x**2 + y**2) / sigma**2)
    plane = np.clip(light + 12 + rng.normal(0, 2.0, light.shape), 0, 255)
    return np.repeat(plane[..., None], 3, axis=2).astype(np.uint8)


def catalog_of(paths) -> pd.DataFrame:
    return pd.DataFrame(
        {"id": [f"g{i}" for i in range(len(paths))], "image_path": [str(p) for p in paths], "source": "gz1"}
    )


def test_crops_follow_the_radius_and_fall_back_with_a_reason():
    crops, outcome = crops_from_radii(
        [0.05, 0.1, float("nan"), 0.01, 0.3, 0.08], ["", "", "", "", "", "no source"], [0.4] * 6
    )
    assert crops[:2] == pytest.approx([0.05 / R50_TARGET, 0.1 / R50_TARGET])
    assert list(outcome) == [MEASURED, MEASURED, FAILED, TOO_SMALL, TOO_LARGE, FAILED]
    assert crops[2:].tolist() == [0.4] * 4


def test_every_galaxy_fills_the_frame_alike_whatever_its_size(tmp_path):
    sigmas = [14.0, 22.0, 32.0]
    paths = []
    for i, sigma in enumerate(sigmas):
        paths.append(tmp_path / f"g{i}.png")
        Image.fromarray(gaussian_cutout(sigma, seed=i)).save(paths[-1])
    framed = measured_framing(catalog_of(paths), shapes_dir=tmp_path / "shapes")
    assert framed["framing"].tolist() == [MEASURED] * 3
    assert framed["crop"].is_monotonic_increasing
    assert ((framed["crop"] >= MIN_CROP) & (framed["crop"] <= MAX_CROP)).all()
    in_frame_fixed = [measure_shape(load_image(p, 64, source="gz1").astype(float))["r50_frac"] for p in paths]
    in_frame = [
        measure_shape(load_image(p, 64, crop=c).astype(float))["r50_frac"] for p, c in zip(paths, framed["crop"])
    ]
    assert max(in_frame_fixed) / min(in_frame_fixed) > 2.0  # the fixed crop: sizes differ 2.3x
    assert max(in_frame) / min(in_frame) < 1.25  # measured: alike
    assert np.median(in_frame) == pytest.approx(R50_TARGET, rel=0.25)
    assert (tmp_path / "shapes" / "measurements.csv").is_file()


def test_failed_tiny_and_corrupt_images_keep_the_fixed_crop_and_are_counted_in_the_cache(tmp_path):
    good, tiny, blank, corrupt = (tmp_path / n for n in ("good.png", "tiny.png", "blank.png", "corrupt.jpg"))
    Image.fromarray(gaussian_cutout(20.0)).save(good)
    Image.fromarray(gaussian_cutout(2.5)).save(tiny)
    Image.fromarray(np.full((WIDTH, WIDTH, 3), 12, np.uint8)).save(blank)
    corrupt.write_bytes(b"not an image")
    framed = measured_framing(catalog_of([good, tiny, blank, corrupt]), shapes_dir=tmp_path / "shapes")
    assert framed["framing"].tolist() == [MEASURED, TOO_SMALL, FAILED, FAILED]
    assert framed["crop"].iloc[1:3].tolist() == [0.4, 0.4]
    cache = build_cache(framed, tmp_path / "cache", size=32, workers=1, progress=False)
    assert len(cache) == 3 and len(cache.failed) == 1  # the corrupt file is left out, not a crash
    assert cache.meta["framing"] == {MEASURED: 1, TOO_SMALL: 1, FAILED: 1}
    assert cache.catalog["crop"].tolist() == pytest.approx(framed["crop"].iloc[:3].tolist())


def test_the_catalog_option_frames_real_gz1_galaxies_more_alike(shared_data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # measurements go to .data/shapes of the project, not of the test
    import galaxysd.data.framing as framing

    monkeypatch.setattr(framing, "SHAPES_DIR", str(tmp_path / "shapes"))
    full = load_catalog_spec(f"gz1:{shared_data / 'gz1-sdss'}")
    sample = full.sample(60, random_state=3).reset_index(drop=True)
    framed = measured_framing(sample)
    assert framed["framing"].isin([MEASURED, TOO_SMALL, TOO_LARGE, FAILED]).all()
    assert (framed["framing"] == MEASURED).mean() > 0.6
    measured = framed[framed["framing"] == MEASURED]
    fixed_r50 = np.array(
        [measure_shape(load_image(p, 64, source="gz1").astype(float))["r50_frac"] for p in measured["image_path"]]
    )
    framed_r50 = np.array(
        [
            measure_shape(load_image(p, 64, crop=c).astype(float))["r50_frac"]
            for p, c in zip(measured["image_path"], measured["crop"])
        ]
    )

    def spread(values):
        q25, q75 = np.nanpercentile(values, [25, 75])
        return (q75 - q25) / np.nanmedian(values)

    assert spread(framed_r50) < 0.8 * spread(fixed_r50)
    rows = before_after_rows(framed, n=8, size=32)
    assert rows.shape == (4, 4, 32, 32, 3)
    with pytest.raises(ValueError, match="framing must be fixed or measured"):
        load_catalog_spec(f"gz1:{shared_data / 'gz1-sdss'}?framing=zoomed")


def test_the_framing_option_of_a_catalog_spec(tmp_path, monkeypatch):
    import galaxysd.data.framing as framing

    monkeypatch.setattr(framing, "SHAPES_DIR", str(tmp_path / "shapes"))
    folder = tmp_path / "cutouts"
    folder.mkdir()
    for i, sigma in enumerate((14.0, 40.0)):
        Image.fromarray(gaussian_cutout(sigma, seed=i)).save(folder / f"g{i}.png")
    fixed = load_catalog_spec(f"folder:{folder}?source=gz1")
    framed = load_catalog_spec(f"folder:{folder}?source=gz1&framing=measured")
    assert "framing" not in fixed
    assert framed["framing"].tolist() == [MEASURED, MEASURED]
    assert framed["crop"].iloc[0] < 0.4 < framed["crop"].iloc[1]
