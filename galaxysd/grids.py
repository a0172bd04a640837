"""Image grids as PNG files (sample sheets, training progress grids)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw

LABEL_HEIGHT = 12


def grid_image(rows: np.ndarray, labels: Sequence[str] | None = None, gap: int = 2) -> Image.Image:
    """(R, C, H, W, 3) uint8 -> one image, rows separated by a label strip when given."""
    rows = np.asarray(rows, dtype=np.uint8)
    if rows.ndim != 5:
        raise ValueError(f"grid needs (rows, cols, H, W, 3) images, got shape {rows.shape}")
    n_rows, n_cols, height, width, _ = rows.shape
    strip = LABEL_HEIGHT if labels else 0
    canvas = Image.new("RGB", (n_cols * (width + gap) + gap, n_rows * (height + gap + strip) + gap), (20, 20, 24))
    draw = ImageDraw.Draw(canvas)
    for r in range(n_rows):
        top = gap + r * (height + gap + strip)
        if labels:
            draw.text((gap, top), str(labels[r])[: (n_cols * width) // 6], fill=(200, 200, 210))
        for c in range(n_cols):
            canvas.paste(Image.fromarray(rows[r, c]), (gap + c * (width + gap), top + strip))
    return canvas


def save_grid(rows: np.ndarray, path: str | Path, labels: Sequence[str] | None = None) -> Path:
    """Save :func:`grid_image` atomically as PNG."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    grid_image(rows, labels).save(tmp, format="PNG")
    os.replace(tmp, path)
    return path
