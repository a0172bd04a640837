"""Segmenting the central galaxy of an RGB cutout (photutils), for measurements of its shape.

The background level and noise come from a border strip of the channel mean; the image is
smoothed with a Gaussian and ``photutils.segmentation.detect_sources`` finds segments at
``DETECTION_SIGMA`` sigma; the galaxy is the segment under the centre, or else the largest
one. Used by the shape measurements of the data layer (:mod:`galaxysd.data.shape_measure`)
and the statmorph statistics of the evaluation (:mod:`galaxysd.evaluation.physical`).
"""

from __future__ import annotations

import warnings

import numpy as np

BORDER = 4
DETECTION_SIGMA = 2.0
MIN_PIXELS = 10
MIN_NOISE = 1.0  # in 0-255 units: JPEG skies can be nearly flat


def _background(plane: np.ndarray) -> tuple[float, float]:
    from astropy.stats import sigma_clipped_stats  # slow import (astropy), only when measuring

    border = np.concatenate(
        [
            plane[:BORDER].ravel(),
            plane[-BORDER:].ravel(),
            plane[BORDER:-BORDER, :BORDER].ravel(),
            plane[BORDER:-BORDER, -BORDER:].ravel(),
        ]
    )
    _, median, std = sigma_clipped_stats(border, sigma=3.0)
    return float(median), max(float(std), MIN_NOISE)


def segment_galaxy(image: np.ndarray) -> tuple[np.ndarray | None, np.ndarray, np.ndarray, float]:
    """Segment the central galaxy of an RGB image.

    Returns ``(galaxy_mask, neighbour_mask, light, noise)``: ``light`` is the
    background-subtracted channel mean, ``galaxy_mask`` is None when nothing is detected.
    """
    from astropy.convolution import Gaussian2DKernel, convolve  # slow imports, only when measuring
    from photutils.segmentation import detect_sources  # slow import, only when measuring

    rgb = np.asarray(image, dtype=np.float64)
    plane = rgb.mean(axis=2) if rgb.ndim == 3 else rgb
    level, noise = _background(plane)
    light = plane - level
    smoothed = convolve(light, Gaussian2DKernel(1.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "no sources found" is an outcome here, not a problem
        segments = detect_sources(smoothed, DETECTION_SIGMA * noise, n_pixels=MIN_PIXELS)
    if segments is None:
        return None, np.zeros(light.shape, bool), light, noise
    labels = segments.data
    cy, cx = (np.array(labels.shape) - 1) // 2
    label = labels[cy, cx]
    if label == 0:
        label = segments.labels[np.argmax(segments.areas)]
    return labels == label, (labels != 0) & (labels != label), light, noise
