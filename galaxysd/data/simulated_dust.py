"""Simulated dust lanes on real smooth galaxies: standard-look examples of the ``dust lane`` answer.

The Galaxy Zoo samples of the standard SDSS look that this project trains on label almost no
dusty early type (Galaxy Zoo 1 has no dust-lane question; 1 of the 450 imaged GZ2-excerpt
galaxies has a dust-lane fraction of 0.3 or more), so ``sdss, smooth, dust lane`` has nothing
real to learn from. A training source with ``simulate: dust_lane`` instead shows copies of its
smooth galaxies crossed by a simulated lane, labelled ``odd feature`` and ``dust lane``
(provenance ``simulated`` in the data report). With ``simulate: dust_lane_leaf`` the copies are
labelled ``dust lane`` alone, without its parent answer: ``odd feature`` then keeps meaning what
volunteers saw in that look (mergers, rings, ...), and ``sdss, smooth, dust lane`` is exactly the
prompt the copies are shown with. They are real galaxies with simulated dust, not observed dusty
early types.

The lane is the demo survey's (:func:`galaxysd.data.render.dust_transmission`): a screen of
optical depth ``tau = depth * exp(-v**2 / 2 w**2) * exp(-(u / extent)**4)`` along a slightly
bent line through the galaxy's light centre, reddened like Milky Way dust (``A_g : A_r : A_i =
1.35 : 1 : 0.76``; the JPEG's red, green and blue are i, r and g). The galaxy's centre, size and
position angle come from the second moments of its light in the cutout. The SDSS colour stretch
(asinh) compresses bright light, so the transmission acts on the displayed light above the sky
with an exponent :data:`STRETCH_EXPONENT` below 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from galaxysd.data.render import DUST_REDDENING

#: Optical depth per displayed channel (R, G, B = i, r, g) relative to r.
CHANNEL_REDDENING = DUST_REDDENING[::-1].copy()
#: The attenuation's exponent on stretched pixels (asinh display compresses bright light).
STRETCH_EXPONENT = 0.6
#: Answers a simulated dust lane may set (the odd-feature question and its dust-lane answer).
LANE_ANSWERS = ("odd feature", "dust lane")
#: Each simulation and the answers it sets to 1 (``dust_lane_leaf``: the leaf answer alone,
#: its parent cleared with the answers below).
SIMULATION_ANSWERS: dict[str, tuple[str, ...]] = {"dust_lane": LANE_ANSWERS, "dust_lane_leaf": ("dust lane",)}
SIMULATIONS: tuple[str, ...] = tuple(SIMULATION_ANSWERS)
#: Answers every simulated lane clears (the rest of questions 6 and 8).
CLEARED_ANSWERS = (
    "nothing odd",
    "ring",
    "lens or arc",
    "disturbed",
    "irregular",
    "other odd feature",
    "merger",
)


@dataclass(frozen=True)
class LightShape:
    """Centre (px), position angle of the major axis (degrees from +x) and sigma along it (px)."""

    x: float
    y: float
    pa: float
    sigma: float


def border_pixels(image: np.ndarray) -> np.ndarray:
    """The pixels along the four edges of an ``(S, S)`` or ``(S, S, C)`` image (the sky)."""
    return np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])


def light_shape(pixels: np.ndarray) -> LightShape:
    """The centre, position angle and size of the central galaxy of an ``(S, S, 3)`` image.

    Light above the sky (the median of the border pixels) is weighted by a wide Gaussian
    window on the image centre, which keeps neighbours from pulling the moments.
    """
    image = np.asarray(pixels, dtype=np.float64).mean(axis=2)
    side = image.shape[0]
    light = np.clip(image - np.median(border_pixels(image)), 0.0, None)
    y, x = np.mgrid[0:side, 0:side] - (side - 1) / 2.0
    light = light * np.exp(-0.5 * (x * x + y * y) / (0.25 * side) ** 2)
    total = light.sum()
    if total <= 0:
        return LightShape(0.0, 0.0, 0.0, side / 10.0)
    cx, cy = (light * x).sum() / total, (light * y).sum() / total
    dx, dy = x - cx, y - cy
    cov = np.array(
        [[(light * dx * dx).sum(), (light * dx * dy).sum()], [(light * dx * dy).sum(), (light * dy * dy).sum()]]
    )
    values, vectors = np.linalg.eigh(cov / total)
    major = vectors[:, 1]
    pa = float(np.degrees(np.arctan2(major[1], major[0])))
    sigma = float(np.sqrt(max(values[1], 1.0)))
    return LightShape(float(cx), float(cy), pa, min(sigma, side / 4.0))


def lane_transmission(side: int, shape: LightShape, rng: np.random.Generator) -> np.ndarray:
    """``(S, S, 3)`` per-channel transmission of one lane across a galaxy of ``shape``."""
    radius = 1.2 * shape.sigma  # about the half-light radius of a de Vaucouleurs profile's moments
    y, x = np.mgrid[0:side, 0:side] - (side - 1) / 2.0
    angle = np.radians(shape.pa + rng.uniform(-70.0, 70.0))
    dx, dy = x - shape.x, y - shape.y
    u = dx * np.cos(angle) + dy * np.sin(angle)
    v = -dx * np.sin(angle) + dy * np.cos(angle)
    v = v - rng.normal(0.0, 0.15) * radius - rng.uniform(-0.1, 0.1) * u * u / radius
    width = rng.uniform(0.1, 0.2) * radius + 0.4
    extent = rng.uniform(1.4, 2.0) * radius
    tau = rng.uniform(0.7, 2.0) * np.exp(-0.5 * (v / width) ** 2) * np.exp(-((u / extent) ** 4))
    return np.exp(-STRETCH_EXPONENT * tau[..., None] * CHANNEL_REDDENING[None, None, :])


def paint_dust_lane(pixels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``pixels`` (``(S, S, 3)`` uint8) with a simulated dust lane across its central galaxy."""
    image = np.asarray(pixels, dtype=np.float32)
    if image.ndim != 3 or image.shape[2] != 3 or image.shape[0] != image.shape[1]:
        raise ValueError(f"expected a square (S, S, 3) image, got shape {image.shape}")
    sky = np.median(border_pixels(image), axis=0)
    transmission = lane_transmission(image.shape[0], light_shape(pixels), rng)
    painted = sky + np.clip(image - sky, 0.0, None) * transmission + np.minimum(image - sky, 0.0)
    return np.clip(np.rint(painted), 0, 255).astype(np.uint8)


def lane_candidates(conditions: np.ndarray, tags: Sequence[str]) -> np.ndarray:
    """Indices of the galaxies labelled ``smooth`` with no odd feature and no disk answer."""
    column = {t: i for i, t in enumerate(tags)}
    smooth = conditions[:, column["smooth"]] > 0
    for tag in ("features or disk-shaped", "odd feature"):
        smooth &= conditions[:, column[tag]] <= 0
    return np.flatnonzero(smooth)


def lane_answers(simulation: str) -> tuple[str, ...]:
    """The answers a simulation (one of :data:`SIMULATIONS`) labels its copies with."""
    if simulation not in SIMULATION_ANSWERS:
        raise ValueError(f"unknown simulation {simulation!r}; choose from {', '.join(SIMULATIONS)}")
    return SIMULATION_ANSWERS[simulation]


def simulate_dust_lanes(
    images: np.ndarray, conditions: np.ndarray, tags: Sequence[str], seed: int = 0, simulation: str = "dust_lane"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Copies of the smooth galaxies in ``images`` with a dust lane painted on, and their labels.

    Returns ``(images, conditions, rows)`` of the copies only, ``rows`` being the indices of the
    galaxies copied (:func:`lane_candidates`): each copy keeps its galaxy's smooth and roundness
    answers and survey tag, gains ``odd feature`` and ``dust lane`` at 1 and loses every other
    answer of the odd-feature questions. With ``simulation="dust_lane_leaf"`` it gains ``dust
    lane`` only and loses ``odd feature`` too. The same ``seed`` gives the same lanes.
    Raises ``ValueError`` if no galaxy is labelled smooth.
    """
    answers = lane_answers(simulation)
    rows = lane_candidates(conditions, tags)
    if len(rows) == 0:
        raise ValueError("simulated dust lanes need smooth galaxies, and this source labels none")
    rng = np.random.default_rng(seed)
    painted = np.stack([paint_dust_lane(images[i], rng) for i in rows])
    labels = conditions[rows].copy()
    column = {t: i for i, t in enumerate(tags)}
    for tag in CLEARED_ANSWERS + LANE_ANSWERS:
        labels[:, column[tag]] = 0.0
    for tag in answers:
        labels[:, column[tag]] = 1.0
    return painted, labels, rows
