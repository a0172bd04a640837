"""Downloads of generated galaxies: single PNGs, and a zip with a CSV of the settings."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pandas as pd
from PIL import Image

from galaxysd.model.pipeline import GalaxyOutput
from galaxysd.morphology import format_prompt


def png_bytes(image: np.ndarray) -> bytes:
    """A uint8 ``(H, W, 3)`` image as PNG bytes."""
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def image_filename(index: int, seed: int) -> str:
    """File name of the ``index``-th generated galaxy, e.g. ``galaxy_00_seed42.png``."""
    return f"galaxy_{index:02d}_seed{seed}.png"


def settings_table(output: GalaxyOutput, run: str) -> pd.DataFrame:
    """One row per image: file, prompt, seed and every sampling setting."""
    rows = []
    for i, (prompt, seed) in enumerate(zip(output.prompts, output.seeds)):
        rows.append(
            {
                "file": image_filename(i, seed),
                "prompt": format_prompt(prompt),
                "seed": seed,
                **output.settings,
                "run": run,
            }
        )
    return pd.DataFrame(rows)


def images_zip(output: GalaxyOutput, run: str) -> bytes:
    """A zip of every image as PNG plus ``settings.csv`` (see :func:`settings_table`)."""
    table = settings_table(output, run)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, image in zip(table["file"], output.arrays):
            archive.writestr(name, png_bytes(image))
        archive.writestr("settings.csv", table.to_csv(index=False))
    return buffer.getvalue()
