"""Draw one SDSS-like gri colour cutout of a galaxy from its truth parameters.

Physics, in frame units (the image side is 1, the centre 0): a Sérsic bulge and an
exponential disk seen at an inclination (intrinsic thickness 0.15), logarithmic spiral arms
and HII knots in the disk plane, a bar, an inner ring, a dust lane (screen attenuation,
redder bands less absorbed), a merging partner with tidal tails, neighbours, faint
background galaxies and foreground stars. Each component has its own g, r, i colour. The
bands are drawn at twice the output resolution, binned, convolved with a Gaussian PSF,
given sky and shot noise, and mapped to RGB with the Lupton et al. (2004) asinh stretch
used for SDSS colour JPEGs (i -> red, r -> green, g -> blue): black sky, yellow-red old
populations, blue star-forming disks. As in Galaxy Zoo cutouts, whose pixel scale grows
with the galaxy, a brighter galaxy is mostly bigger on the sky: in the frame it is only a
little brighter per pixel, but binned from more sky pixels, so less noisy.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
from scipy.ndimage import gaussian_filter

OVERSAMPLE = 2
DISK_THICKNESS = 0.15
REFERENCE_SIZE = 64  # noise levels refer to a 64 px image
SURFACE_BRIGHTNESS_SLOPE = 0.3  # a galaxy 1 mag brighter is 0.3 mag brighter per frame area
SKY_SIGMA = 0.7  # sky noise of a 64 px image in surface-brightness units
ASINH_SOFTENING = 1.4
ASINH_SATURATION = 520.0
#: RGB weights of the i, r, g bands (SDSS colour JPEG style).
CHANNEL_WEIGHTS = np.array([1.0, 1.12, 1.5], dtype=np.float32)[:, None, None]
#: Flux ratios g/r and i/r of stellar populations; colour offsets shift them per galaxy.
OLD_STARS = np.array([0.55, 1.0, 1.28], dtype=np.float32)
DISK_STARS = np.array([0.68, 1.0, 1.18], dtype=np.float32)
YOUNG_STARS = np.array([0.92, 1.0, 0.94], dtype=np.float32)
DUST_REDDENING = np.array([1.35, 1.0, 0.76], dtype=np.float32)  # optical depth per band / r


class Canvas:
    """Coordinates of an oversampled frame and the g, r, i surface brightness drawn on it."""

    def __init__(self, size: int):
        side = size * OVERSAMPLE
        axis = (np.arange(side, dtype=np.float32) + 0.5) / side - 0.5
        self.y, self.x = np.meshgrid(axis, axis, indexing="ij")
        self.side = side
        self.bands = np.zeros((3, side, side), dtype=np.float32)

    def add(
        self,
        profile: np.ndarray,
        flux: float,
        colour: np.ndarray,
        window: tuple[slice, slice] = (slice(None), slice(None)),
    ) -> None:
        """Add ``profile`` (drawn over ``window``) scaled to total r-band ``flux`` in ``colour``."""
        total = float(profile.sum())
        if total > 0:
            weights = np.float32(flux * self.side**2 / total) * colour.astype(np.float32)
            self.bands[(slice(None),) + window] += weights[:, None, None] * profile.astype(np.float32)[None]

    def window(self, position, radius: float) -> tuple[slice, slice]:
        """Pixel slices of the square of half-side ``radius`` around ``position`` (frame units)."""
        lo = np.clip(((np.asarray(position) - radius + 0.5) * self.side).astype(int), 0, self.side)
        hi = np.clip(((np.asarray(position) + radius + 0.5) * self.side).astype(int) + 1, 0, self.side)
        return slice(lo[1], hi[1]), slice(lo[0], hi[0])


def sersic_b(n: float) -> float:
    """The Sérsic b_n that makes r_e the half-light radius (Ciotti & Bertin 1999)."""
    return 2.0 * n - 1.0 / 3.0 + 4.0 / (405.0 * n) + 46.0 / (25515.0 * n * n)


def rotated(x: np.ndarray, y: np.ndarray, angle_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates along (u) and across (v) the direction ``angle_deg`` (from +x, counter-clockwise)."""
    a = np.deg2rad(angle_deg)
    c, s = np.float32(np.cos(a)), np.float32(np.sin(a))
    return x * c + y * s, -x * s + y * c


def sersic_profile(radius: np.ndarray, half_light: float, n: float) -> np.ndarray:
    """Sérsic surface brightness, 1 at ``half_light``."""
    scaled = np.maximum(radius, 1e-4) / half_light
    return np.exp(-sersic_b(n) * (scaled ** (1.0 / n) - 1.0))


def colour_shift(colour: np.ndarray, g_minus_r_offset: float) -> np.ndarray:
    """A population colour made redder (positive offset, mag) or bluer."""
    factor = 10 ** (-0.4 * g_minus_r_offset)
    return colour * np.array([factor, 1.0, 1.0 / np.sqrt(factor)], dtype=np.float32)


def draw_spheroid(
    canvas: Canvas,
    x,
    y,
    flux,
    half_light,
    n,
    axis_ratio,
    pa,
    colour,
    window: tuple[slice, slice] = (slice(None), slice(None)),
) -> None:
    """An elliptical Sérsic spheroid (bulge or early-type galaxy); x, y cover ``window``."""
    u, v = rotated(x, y, pa)
    radius = np.sqrt(u * u + (v / axis_ratio) ** 2)
    canvas.add(sersic_profile(radius, half_light, n), flux, colour, window)


def projected_axis_ratio(cos_inclination):
    """Apparent axis ratio of a disk of thickness :data:`DISK_THICKNESS` at inclination i."""
    return np.sqrt(cos_inclination**2 + DISK_THICKNESS**2 * (1 - cos_inclination**2))


def disk_plane(x, y, pa: float, inclination: float):
    """Disk-plane radius and azimuth of each pixel of a disk seen at ``inclination``."""
    cos_i = np.cos(np.deg2rad(inclination))
    q = float(projected_axis_ratio(cos_i))
    u, v = rotated(x, y, pa)
    v_disk = v / q
    return np.sqrt(u * u + v_disk * v_disk), np.arctan2(v_disk, u)


def draw_disk(canvas: Canvas, t: Mapping, x, y, flux: float, rng: np.random.Generator) -> np.ndarray:
    """Exponential disk with arms, knots, bar and ring; returns the disk-plane radius."""
    radius, azimuth = disk_plane(x, y, t["pa"], t["inclination"])
    scale = float(t["disk_re"]) / 1.678
    base = np.exp(-radius / scale)
    offset = t["colour"] - 0.55
    arms = float(t["n_arms"])
    arm_share = t["arm_strength"] if arms else 0.0
    canvas.add(base, flux * (1 - arm_share), colour_shift(DISK_STARS, offset))
    if arms:
        pitch = float(np.deg2rad(t["pitch"]))
        start = t["bar_length"] if t["bar"] else 0.6 * scale
        phase = arms * (azimuth - np.log(np.maximum(radius, 1e-4) / start) / np.tan(pitch))
        phase = phase - arms * np.deg2rad(t["bar_angle"])  # arms leave the bar ends
        wave = ((1 + np.cos(phase)) / 2) ** (3.0 if arms <= 2 else 2.0)
        taper = 1 - np.exp(-((radius / start) ** 2))
        pattern = base * wave * taper
        canvas.add(pattern, flux * arm_share * 0.8, colour_shift(YOUNG_STARS, offset / 2))
        _draw_knots(canvas, pattern, flux * arm_share * 0.2, rng)
    if t["bar"]:
        u, v = rotated(radius * np.cos(azimuth), radius * np.sin(azimuth), t["bar_angle"])
        length = t["bar_length"]
        bar = np.exp(-((np.abs(u) / length) ** 3) - (v / (0.22 * length)) ** 2)
        canvas.add(bar * base**0.3, flux * 0.12, colour_shift(OLD_STARS, offset / 2))
    if t["ring"]:
        ring_radius = t["bar_length"] if t["bar"] else 1.6 * scale
        ring = np.exp(-0.5 * ((radius - ring_radius) / (0.12 * ring_radius)) ** 2)
        canvas.add(ring, flux * 0.3, colour_shift(YOUNG_STARS, offset / 2))
    return radius


def _draw_knots(canvas: Canvas, pattern: np.ndarray, flux: float, rng: np.random.Generator) -> None:
    """Star-forming knots scattered along the arms (pixels drawn with the arm brightness)."""
    weights = pattern.ravel() / pattern.sum()
    count = int(rng.integers(6, 20))
    knots = np.zeros(pattern.size, dtype=np.float32)
    np.add.at(knots, rng.choice(pattern.size, size=count, p=weights), rng.exponential(1.0, count))
    canvas.add(gaussian_filter(knots.reshape(pattern.shape), 0.8), flux, YOUNG_STARS)


def dust_transmission(canvas: Canvas, x, y, t: Mapping, rng: np.random.Generator) -> np.ndarray:
    """Per-band transmission of a dust lane along the disk (or across an early type)."""
    if t["type"] == "elliptical":
        u, v = rotated(x, y, t["pa"] + rng.uniform(-70, 70))
        extent, width, depth = 1.8 * t["half_light_radius"], 0.2 * t["half_light_radius"] + 0.006, rng.uniform(1.5, 2.5)
        v = v - 0.08 * u * u / t["half_light_radius"]  # slightly bent lane
    else:
        u, v = rotated(x, y, t["pa"])
        offset = 0.5 * t["disk_re"] * np.cos(np.deg2rad(t["inclination"]))
        extent, width, depth = 1.8 * t["disk_re"], 0.06 * t["disk_re"] + 0.006, rng.uniform(1.5, 3.0)
        v = v - offset
    tau = depth * np.exp(-0.5 * (v / width) ** 2) * np.exp(-((u / extent) ** 4))
    return np.exp(-tau[None] * DUST_REDDENING[:, None, None])


def draw_galaxy(canvas: Canvas, t: Mapping, x, y, flux: float, rng: np.random.Generator) -> None:
    """The main galaxy: spheroid, or bulge plus disk, with dust where the truth says so."""
    offset = t["colour"] - 0.75
    if t["type"] == "elliptical":
        draw_spheroid(
            canvas,
            x,
            y,
            flux,
            t["half_light_radius"],
            t["sersic_n"],
            t["axis_ratio"],
            t["pa"],
            colour_shift(OLD_STARS, offset),
        )
    else:
        bulge = t["bulge_fraction"]
        if bulge > 0:
            draw_spheroid(
                canvas,
                x,
                y,
                flux * bulge,
                t["bulge_re"],
                t["sersic_n"],
                t["bulge_axis_ratio"],
                t["pa"],
                colour_shift(OLD_STARS, offset / 2),
            )
        draw_disk(canvas, t, x, y, flux * (1 - bulge), rng)
    if t["dust_lane"]:
        canvas.bands *= dust_transmission(canvas, x, y, t, rng)


def draw_merger(canvas: Canvas, t: Mapping, flux: float, rng: np.random.Generator) -> None:
    """A partner galaxy close by, a bridge towards it and two tidal tails."""
    angle = rng.uniform(0, 360)
    distance = t["half_light_radius"] * rng.uniform(1.4, 2.6)
    cx, cy = distance * np.cos(np.deg2rad(angle)), distance * np.sin(np.deg2rad(angle))
    partner_re = t["half_light_radius"] * rng.uniform(0.5, 1.0)
    draw_spheroid(
        canvas,
        canvas.x - cx,
        canvas.y - cy,
        flux * rng.uniform(0.3, 0.9),
        partner_re,
        rng.uniform(1.0, 4.0),
        rng.uniform(0.5, 1.0),
        rng.uniform(0, 180),
        colour_shift(OLD_STARS if rng.random() < 0.6 else DISK_STARS, rng.normal(0, 0.1)),
    )
    spin = 1.0 if rng.random() < 0.5 else -1.0
    for centre, phase in (((0.0, 0.0), np.deg2rad(angle) + np.pi), ((cx, cy), np.deg2rad(angle))):
        dx, dy = canvas.x - centre[0], canvas.y - centre[1]
        radius = np.sqrt(dx * dx + dy * dy)
        wave = spin * np.arctan2(dy, dx) - phase - np.log(np.maximum(radius, 1e-3) / distance) / 0.6
        tail = np.exp(-6.0 * (1 - np.cos(wave))) * np.exp(-((radius / (1.2 * distance)) ** 2))
        tail *= 1 - np.exp(-((radius / (0.6 * distance)) ** 2))
        canvas.add(tail, flux * rng.uniform(0.05, 0.12), DISK_STARS)


def draw_small_galaxy(canvas: Canvas, position, flux: float, half_light: float, rng) -> None:
    """A neighbour or background galaxy: a small Sérsic blob of random shape and colour."""
    colour = colour_shift(OLD_STARS if rng.random() < 0.5 else DISK_STARS, rng.normal(0, 0.15))
    window = canvas.window(position, 8 * half_light)
    draw_spheroid(
        canvas,
        canvas.x[window] - position[0],
        canvas.y[window] - position[1],
        flux,
        half_light,
        rng.uniform(0.8, 3.0),
        rng.uniform(0.3, 1.0),
        rng.uniform(0, 180),
        colour,
        window,
    )


def add_star(canvas: Canvas, position, flux: float, colour: np.ndarray, spikes: bool) -> None:
    """A point source (made a PSF by the later blur), with diffraction spikes if bright."""
    row = int(np.clip((position[1] + 0.5) * canvas.side, 0, canvas.side - 1))
    col = int(np.clip((position[0] + 0.5) * canvas.side, 0, canvas.side - 1))
    canvas.bands[:, row, col] += flux * canvas.side**2 * colour
    if spikes:
        dy, dx = np.abs(canvas.y - canvas.y[row, col]), np.abs(canvas.x - canvas.x[row, col])
        cross = np.exp(-dx / 0.003 - dy / 0.07) + np.exp(-dy / 0.003 - dx / 0.07)
        canvas.add(cross, flux * 0.03, colour)


def star_colour(rng: np.random.Generator) -> np.ndarray:
    """A stellar g, r, i colour from blue-white to red (g - r between -0.3 and 1.5)."""
    return colour_shift(np.array([1.0, 1.0, 1.0], dtype=np.float32), rng.uniform(-0.3, 1.5))


def to_rgb(bands: np.ndarray) -> np.ndarray:
    """Lupton asinh colour composite of (g, r, i) surface brightness -> uint8 RGB."""
    rgb = bands[::-1] * CHANNEL_WEIGHTS
    intensity = np.maximum(rgb.mean(axis=0), 1e-6)
    stretch = np.arcsinh(intensity / ASINH_SOFTENING) / np.arcsinh(ASINH_SATURATION / ASINH_SOFTENING)
    rgb = np.clip(rgb * (stretch / intensity)[None], 0.0, None)
    rgb /= np.maximum(rgb.max(axis=0), 1.0)[None]  # saturate to white without a hue shift
    return (np.moveaxis(rgb, 0, -1) * 255 + 0.5).astype(np.uint8)


def render_galaxy(t: Mapping, size: int, rng: np.random.Generator) -> np.ndarray:
    """Render one galaxy described by truth ``t`` (see ``galaxysd.data.demo``) as (size, size, 3) uint8."""
    canvas = Canvas(size)
    brighter = 17.0 - t["magnitude"]  # Galaxy Zoo framing: bright galaxies are big, not brighter per pixel
    flux = 10 ** (0.4 * SURFACE_BRIGHTNESS_SLOPE * brighter)
    if t["type"] == "star":
        add_star(canvas, (0.0, 0.0), 12 * flux, star_colour(rng), spikes=t["magnitude"] < 15.5)
        draw_small_galaxy(canvas, rng.uniform(-0.15, 0.15, 2), 0.2 * flux, 0.04, rng)
    else:
        draw_galaxy(canvas, t, canvas.x, canvas.y, flux, rng)
        if t["merger"]:
            draw_merger(canvas, t, flux, rng)
    if t["companion"]:
        side = rng.uniform(0.25, 0.42) * rng.choice([-1, 1], 2)
        draw_small_galaxy(canvas, side, flux * rng.uniform(0.05, 0.3), rng.uniform(0.015, 0.04), rng)
    for _ in range(int(rng.poisson(0.8))):
        draw_small_galaxy(canvas, rng.uniform(-0.48, 0.48, 2), rng.uniform(0.01, 0.05), rng.uniform(0.005, 0.012), rng)
    for _ in range(int(t["n_stars"])):
        star_flux = float(rng.lognormal(-2.0, 1.2))
        add_star(canvas, rng.uniform(-0.48, 0.48, 2), star_flux, star_colour(rng), spikes=star_flux > 8)
    binned = canvas.bands.reshape(3, size, OVERSAMPLE, size, OVERSAMPLE).mean(axis=(2, 4))
    sigma = t["psf_fwhm"] / 2.3548 * size
    binned = gaussian_filter(binned, sigma=(0, sigma, sigma), mode="constant")
    sky = t["sky_noise"] * SKY_SIGMA * size / REFERENCE_SIZE * 10 ** (-0.2 * brighter)
    noise = rng.standard_normal(binned.shape, dtype=np.float32)
    binned += noise * np.sqrt(sky**2 + 0.02 * np.maximum(binned, 0) * (size / REFERENCE_SIZE) ** 2)
    return to_rgb(binned)
