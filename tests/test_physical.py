"""statmorph statistics of rendered and degenerate images; comparing distributions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from astropy.modeling.models import Sersic2D

from galaxysd.evaluation.physical import (
    STATISTICS,
    central_colour,
    compare_statistics,
    failure_counts,
    histogram_table,
    measure_images,
    morphology_statistics,
)


def render_sersic(n: float, size: int = 64, r_eff: float = 7.0, ellip: float = 0.3, seed: int = 0) -> np.ndarray:
    """A Sérsic profile as an 8-bit RGB image with a faint sky and noise."""
    y, x = np.mgrid[:size, :size]
    profile = Sersic2D(amplitude=1.0, r_eff=r_eff, n=n, x_0=(size - 1) / 2, y_0=(size - 1) / 2, ellip=ellip, theta=0.5)(
        x, y
    )
    light = profile / profile.max() * 230 + 10 + np.random.default_rng(seed).normal(0, 2, (size, size))
    grey = np.clip(np.round(light), 0, 255).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


@pytest.mark.parametrize("index", [1.0, 4.0])
def test_sersic_index_of_a_rendered_profile_is_recovered_within_20_percent(index):
    stats = morphology_statistics(render_sersic(index))
    assert stats["failure"] == ""
    assert stats["sersic_n"] == pytest.approx(index, rel=0.2)
    assert stats["ellipticity"] == pytest.approx(0.3, abs=0.1)
    assert abs(stats["asymmetry"]) < 0.1
    assert stats["colour"] == pytest.approx(0.0, abs=0.01)  # grey: blue = green


def test_concentration_and_gini_grow_with_the_sersic_index():
    low, high = (morphology_statistics(render_sersic(n)) for n in (1.0, 4.0))
    assert high["concentration"] > low["concentration"]
    assert high["gini"] > low["gini"]


def test_images_without_a_galaxy_give_nan_and_are_counted():
    blank = np.full((2, 32, 32, 3), 12, np.uint8)
    table = measure_images(blank, progress=False)
    assert list(table.columns) == [*STATISTICS, "failure"]
    assert table[list(STATISTICS)].isna().all().all()
    assert failure_counts(table) == {"no source": 2}


def test_wasserstein_distance_is_zero_for_the_same_values_and_grows_with_a_shift():
    rng = np.random.default_rng(0)
    real = pd.DataFrame({name: rng.normal(size=200) for name in STATISTICS})
    shifted = real + 1.0
    shifted.loc[0, "gini"] = np.nan  # failures are left out, not propagated
    same, moved = compare_statistics(real, real), compare_statistics(real, shifted)
    assert all(same[name]["w1"] == pytest.approx(0.0) for name in STATISTICS)
    assert moved["concentration"]["w1"] == pytest.approx(1.0)
    assert moved["gini"]["n_generated"] == 199 and np.isfinite(moved["gini"]["w1"])


def test_histograms_share_bins_and_integrate_to_one():
    rng = np.random.default_rng(1)
    sets = {
        "real": pd.DataFrame({n: rng.normal(size=50) for n in STATISTICS}),
        "generated": pd.DataFrame({n: rng.normal(1, 1, size=40) for n in STATISTICS}),
    }
    table = histogram_table(sets, bins=10)
    for (name, _), group in table.groupby(["statistic", "set"]):
        width = group["bin_right"] - group["bin_left"]
        assert (group["density"] * width).sum() == pytest.approx(1.0)
        assert len(group) == 10
    assert set(table["statistic"]) == set(STATISTICS)


def test_central_colour_is_zero_for_grey_negative_for_blue_and_ignores_the_sky():
    grey = render_sersic(1.0)
    tinted = grey.astype(float)
    tinted[..., 2] *= 1.5  # a bluer galaxy: B / G = 1.5 in the light above the sky
    sky = np.array([[[30.0, 30.0, 60.0]]])  # a blue sky, removed as background
    images = np.stack([grey, tinted, grey + sky]).clip(0, 255)
    colour = central_colour(images)
    assert abs(colour[0]) < 0.01 and colour[1] < -0.3
    assert abs(colour[2] - colour[0]) < 0.05
    with pytest.raises(ValueError, match="N, H, W, 3"):
        central_colour(grey)
