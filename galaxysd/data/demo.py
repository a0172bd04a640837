"""The demo survey: SDSS-like galaxies with known truth, rendered on the spot.

:func:`sample_truth` draws the physical parameters of a population (cheap, no pixels);
:func:`galaxysd.data.demo_votes.truth_to_vote_fractions` turns them into GZ2 vote
fractions as noisy volunteers would give them; :func:`render_demo_survey` draws the images
(:mod:`galaxysd.data.render`) and writes the catalog.

Population (fractions of all objects): 40% ellipticals (1 in 80 of them, 0.5% of all, a
dusty early type: a round or in-between smooth galaxy crossed by a dust lane), 12%
lenticulars, 47.5% spirals, 0.5% foreground stars. Disks are seen at random orientation
(cos i uniform), so about 1 in 6 is edge-on; most edge-on disks show a dust lane.
Spirals have 1, 2, 3, 4 or more than 4 arms (6/50/20/10/14%), tight/medium/loose pitch
(35/40/25%), 30% a bar, 7% an inner ring (lenticulars 15% and 12%). 5% are mergers, 15%
have a small neighbour, stars are sprinkled over every field. Sizes follow the Galaxy Zoo
framing (the cutout scales with the galaxy, as after the cache's centre crop): half-light
radius about a tenth of the frame; fainter galaxies (r up to 17.7) are noisier and, seen
through the same seeing, blurrier.

Truth columns (``truth_`` + name; lengths in units of the image side, angles in degrees):
``type`` (elliptical|lenticular|spiral|star), ``magnitude`` (r), ``half_light_radius``,
``bulge_fraction`` (B/T), ``sersic_n``, ``bulge_re``, ``bulge_axis_ratio``, ``disk_re``,
``inclination``, ``axis_ratio`` (projected), ``pa``, ``n_arms`` (0 = none, 5-6 = more than
4), ``pitch``, ``winding`` (tight|medium|loose|none), ``arm_strength``, ``bar``,
``bar_length``, ``bar_angle``, ``ring``, ``dust_lane``, ``dusty_early_type``, ``merger``,
``companion``, ``n_stars``, ``colour`` (g - r), ``psf_fwhm``, ``sky_noise``, ``clarity``
(0-1: how well volunteers could see the features).
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from tqdm.auto import tqdm

from galaxysd.data.demo_votes import truth_to_vote_fractions
from galaxysd.data.render import projected_axis_ratio, render_galaxy
from galaxysd.runs import resolve_project_path

TYPES = ("elliptical", "lenticular", "spiral", "star")
TYPE_PROBABILITIES = (0.40, 0.12, 0.475, 0.005)
DUSTY_EARLY_TYPE_RATE = 0.005  # of all objects
ARM_COUNTS, ARM_COUNT_PROBABILITIES = (1, 2, 3, 4, 5, 6), (0.06, 0.50, 0.20, 0.10, 0.09, 0.05)
WINDINGS = {"tight": (7.0, 13.0), "medium": (15.0, 23.0), "loose": (26.0, 38.0)}
WINDING_PROBABILITIES = (0.35, 0.40, 0.25)
MAGNITUDE_RANGE = (14.0, 17.7)  # r, the GZ2 main-sample limit
RENDER_CHUNK = 250


def _faint_weighted_magnitudes(rng: np.random.Generator, n: int) -> np.ndarray:
    """r magnitudes with counts rising towards the faint limit (dN/dm ~ 10^(0.3 m))."""
    low, high = (10 ** (0.3 * m) for m in MAGNITUDE_RANGE)
    return np.log10(low + rng.random(n) * (high - low)) / 0.3


def sample_truth(n: int, seed: int = 0) -> pd.DataFrame:
    """Draw the truth of ``n`` demo objects (``truth_*`` columns, see the module doc); no pixels."""
    rng = np.random.default_rng([seed, 0])
    kind = rng.choice(TYPES, size=n, p=TYPE_PROBABILITIES)
    elliptical, lenticular, spiral, star = (kind == t for t in TYPES)
    disk = lenticular | spiral
    dusty_early = elliptical & (rng.random(n) < DUSTY_EARLY_TYPE_RATE / TYPE_PROBABILITIES[0])
    magnitude = _faint_weighted_magnitudes(rng, n)

    inclination = np.where(disk, np.rad2deg(np.arccos(rng.random(n))), np.nan)
    cos_i = np.cos(np.deg2rad(np.nan_to_num(inclination)))
    disk_q = projected_axis_ratio(cos_i)
    round_q = 1 - 0.7 * rng.beta(1.5, 2.5, n)
    round_q = np.where(dusty_early, np.maximum(round_q, rng.uniform(0.55, 1.0, n)), round_q)
    disk_re = np.where(disk, np.clip(0.115 * rng.lognormal(0, 0.22, n), 0.06, 0.22), np.nan)
    bulge_fraction = np.select(
        [elliptical, lenticular, spiral], [1.0, rng.uniform(0.3, 0.75, n), 0.8 * rng.beta(1.2, 3.5, n)], 0.0
    )
    elliptical_re = np.clip(0.08 * rng.lognormal(0, 0.25, n), 0.035, 0.18)
    bulge_re = np.where(elliptical, elliptical_re, np.nan_to_num(disk_re) * rng.uniform(0.15, 0.35, n))
    sersic_n = np.select(
        [elliptical, lenticular], [rng.uniform(2.5, 5.0, n), rng.uniform(1.5, 4.0, n)], rng.uniform(1.0, 3.5, n)
    )

    n_arms = np.where(spiral, rng.choice(ARM_COUNTS, size=n, p=ARM_COUNT_PROBABILITIES), 0)
    winding = np.where(spiral, rng.choice(list(WINDINGS), size=n, p=WINDING_PROBABILITIES), "none")
    pitch = np.full(n, np.nan)
    for name, (low, high) in WINDINGS.items():
        chosen = winding == name
        pitch[chosen] = rng.uniform(low, high, int(chosen.sum()))
    bar = (spiral & (rng.random(n) < 0.30)) | (lenticular & (rng.random(n) < 0.15))
    ring = (spiral & (rng.random(n) < 0.07)) | (lenticular & (rng.random(n) < 0.12))
    edge_on_dust = disk & (inclination > 76) & (rng.random(n) < np.where(spiral, 0.75, 0.4))
    psf_fwhm = np.clip(0.028 + 0.008 * (magnitude - 14.0) + rng.normal(0, 0.004, n), 0.022, 0.065)

    truth = pd.DataFrame(
        {
            "type": kind,
            "magnitude": magnitude,
            "half_light_radius": np.where(star, 0.0, np.where(elliptical, elliptical_re, disk_re)),
            "bulge_fraction": bulge_fraction,
            "sersic_n": sersic_n,
            "bulge_re": bulge_re,
            "bulge_axis_ratio": np.maximum(disk_q, rng.uniform(0.6, 0.95, n)),
            "disk_re": disk_re,
            "inclination": inclination,
            "axis_ratio": np.select([elliptical, disk], [round_q, disk_q], 1.0),
            "pa": rng.uniform(0, 180, n),
            "n_arms": n_arms,
            "pitch": pitch,
            "winding": winding,
            "arm_strength": np.where(spiral, rng.uniform(0.3, 0.6, n), 0.0),
            "bar": bar,
            "bar_length": np.where(bar, np.nan_to_num(disk_re) * rng.uniform(0.6, 1.0, n), 0.0),
            "bar_angle": rng.uniform(0, 180, n),
            "ring": ring,
            "dust_lane": dusty_early | edge_on_dust,
            "dusty_early_type": dusty_early,
            "merger": ~star & (rng.random(n) < 0.05),
            "companion": rng.random(n) < 0.15,
            "n_stars": rng.poisson(0.8, n),
            "colour": np.select(
                [elliptical, lenticular],
                [rng.normal(0.78, 0.05, n), rng.normal(0.72, 0.06, n)],
                rng.normal(0.55, 0.10, n),
            ),
            "psf_fwhm": psf_fwhm,
            "sky_noise": rng.lognormal(0, 0.15, n),
            "clarity": _clarity(magnitude, psf_fwhm),
        }
    )
    return truth.add_prefix("truth_")


def _clarity(magnitude: np.ndarray, psf_fwhm: np.ndarray) -> np.ndarray:
    """How clearly volunteers would see morphology: 1 for bright sharp galaxies, ~0.3 at the limit."""
    brightness = np.clip((MAGNITUDE_RANGE[1] - magnitude) / 3.0, 0.0, 1.0)
    sharpness = np.clip(1.2 - 5.0 * psf_fwhm, 0.6, 1.0)
    return (0.35 + 0.65 * brightness) * sharpness


def demo_image_name(index: int) -> str:
    """The image path of galaxy ``index`` relative to the survey folder."""
    return f"images/demo_{index:06d}.png"


def _render_chunk(records: list[dict], start: int, size: int, seed: int, out_dir: str) -> int:
    """Render and save galaxies ``start..``; each has its own generator, so workers don't matter."""
    for offset, truth in enumerate(records):
        index = start + offset
        pixels = render_galaxy(truth, size, np.random.default_rng([seed, 1, index]))
        Image.fromarray(pixels).save(os.path.join(out_dir, demo_image_name(index)), compress_level=1)
    return len(records)


def render_demo_survey(
    n: int, out_dir: str | os.PathLike, size: int = 64, seed: int = 0, workers: int = 2, progress: bool = True
) -> pd.DataFrame:
    """Render ``n`` demo galaxies into ``out_dir`` and return their catalog.

    Writes ``out_dir/images/demo_{i:06d}.png`` and ``out_dir/catalog.csv``: ``id``,
    ``image_path`` (relative to ``out_dir`` in the CSV; absolute in the returned
    DataFrame), ``ra``/``dec`` (NaN: demo galaxies have no sky position), ``source`` and
    ``domain`` ("demo"), the 37 GZ2 vote-fraction columns and the ``truth_*`` columns.
    The same ``seed`` gives identical files whatever ``workers`` is.
    """
    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    truth = sample_truth(n, seed)
    fractions = truth_to_vote_fractions(truth, seed)
    identity = pd.DataFrame(
        {
            "id": [f"demo_{i:06d}" for i in range(n)],
            "image_path": [demo_image_name(i) for i in range(n)],
            "ra": np.nan,
            "dec": np.nan,
            "source": "demo",
            "domain": "demo",
        }
    )
    catalog = pd.concat([identity, fractions, truth], axis=1)

    records = [{key[len("truth_") :]: value for key, value in row.items()} for row in truth.to_dict(orient="records")]
    jobs = [(records[start : start + RENDER_CHUNK], start, size, seed, str(out)) for start in range(0, n, RENDER_CHUNK)]
    with tqdm(total=n, disable=not progress, unit="galaxy", desc="rendering demo survey") as bar:
        if workers <= 1 or len(jobs) <= 1:
            for job in jobs:
                bar.update(_render_chunk(*job))
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                for done in pool.map(_render_chunk, *zip(*jobs)):
                    bar.update(done)

    temporary = out / "catalog.csv.tmp"
    catalog.to_csv(temporary, index=False)
    os.replace(temporary, out / "catalog.csv")
    catalog["image_path"] = [str((out / name).resolve()) for name in catalog["image_path"]]
    return catalog


def make_missing_demo_surveys(catalog_specs: list[str], n: int, workers: int = 2) -> list[Path]:
    """Render a demo survey of ``n`` galaxies for every ``demo:PATH`` spec whose folder has no
    catalog yet (e.g. the Train form's default on a fresh clone); returns the folders made."""
    made = []
    for spec in catalog_specs:
        kind, _, rest = spec.partition(":")
        if kind != "demo":
            continue
        folder = resolve_project_path(rest.split("?", 1)[0])
        if (folder / "catalog.csv").is_file():
            continue
        render_demo_survey(n, folder, workers=workers)
        made.append(folder)
    return made
