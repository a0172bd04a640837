"""The scripts' sample sheets: one row of seeds per prompt, real rows below, one labelled PNG."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from galaxysd.grids import LABEL_HEIGHT
from galaxysd.model.sample_sheets import sheet_arguments, write_sample_sheet
from galaxysd.model.saving import save_pipeline


def test_a_sheet_has_a_row_per_prompt_and_the_real_rows_below(tiny_pipe, tmp_path):
    save_pipeline(tiny_pipe, tmp_path / "run" / "model")
    out = tmp_path / "sheet.png"
    args = sheet_arguments("sheet", str(out), 3).parse_args(
        ["--run", str(tmp_path / "run"), "--out", str(out), "--steps", "2", "--sampler", "dpmpp"]
    )
    size = int(tiny_pipe.config.image_size)
    seen = {}

    def real(pipe):
        seen["size"] = int(pipe.config.image_size)
        return [np.full((args.n, size, size, 3), 255, np.uint8)], ["real"]

    written = write_sample_sheet(args, ["sdss, smooth", "sdss, spiral galaxy"], real)
    sheet = np.asarray(Image.open(written))
    assert seen["size"] == size
    assert sheet.shape == (3 * (size + 2 + LABEL_HEIGHT) + 2, 3 * (size + 2) + 2, 3)
    rows = [sheet[2 + r * (size + 2 + LABEL_HEIGHT) + LABEL_HEIGHT :][:size, 2 : 2 + size] for r in range(3)]
    assert not np.array_equal(rows[0], rows[1]), "two prompts gave the same first image"
    assert rows[2].min() == 255, "the real row is not the one given"


def test_a_sheet_refuses_a_run_without_a_model(tmp_path):
    args = sheet_arguments("sheet", str(tmp_path / "s.png"), 2).parse_args(["--run", str(tmp_path / "none")])
    with pytest.raises((FileNotFoundError, OSError, ValueError)):
        write_sample_sheet(args, ["sdss, smooth"])
    assert not (tmp_path / "s.png").exists()
