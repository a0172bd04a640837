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


def gif_bytes(images: np.ndarray, frame_ms: int = 250, pixels: int = 256, bounce: bool = True) -> bytes:
    """An animated GIF of ``images`` (``(N, H, W, 3)`` uint8), scaled up to ``pixels`` without
    blurring, looping forever; ``bounce`` plays the sequence forward then back."""
    frames = [Image.fromarray(np.asarray(im, dtype=np.uint8)).resize((pixels, pixels), Image.NEAREST) for im in images]
    if bounce and len(frames) > 2:
        frames = frames + frames[-2:0:-1]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=int(frame_ms), loop=0)
    return buffer.getvalue()


def frame_weights_table(prompts: list[dict[str, float]]) -> pd.DataFrame:
    """One row per interpolation frame: its fraction of the way and the weight of every tag."""
    tags = sorted({tag for prompt in prompts for tag in prompt})
    fractions = np.linspace(0.0, 1.0, len(prompts)) if len(prompts) > 1 else np.zeros(len(prompts))
    rows = [
        {"frame": i + 1, "fraction": round(float(f), 3), **{t: p.get(t, 0.0) for t in tags}, "prompt": format_prompt(p)}
        for i, (f, p) in enumerate(zip(fractions, prompts))
    ]
    return pd.DataFrame(rows)
