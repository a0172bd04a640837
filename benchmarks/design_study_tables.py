"""The design study's tables, printed as Markdown from its rows (``design_study.csv``): the
summary per run, then one table per per-prompt and per-tag measure (runs as columns)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

#: Per-prompt columns printed, in this order, where the rows have them.
PROMPT_MEASURES = (
    "frechet",
    "frechet_over_floor",
    "diversity",
    "consistency",
    "axis_ratio_gen",
    "axis_ratio_real",
    "axis_ratio_w1",
    "axis_ratio_w1_floor",
    "colour_w1",
    "blue_share_gen",
    "blue_share_real",
    "p_spiral_gen_median",
    "p_spiral_real_median",
)
TAG_MEASURES = ("judge_delta", "pixel_change_over_seed_diff")


def markdown(frame: pd.DataFrame, index: bool = True) -> str:
    """A Markdown table of ``frame`` (numbers to 3 significant digits)."""
    frame = frame.reset_index() if index else frame
    cell = lambda v: f"{v:.3g}" if isinstance(v, (float, np.floating)) else str(v)  # noqa: E731
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def print_tables(table: pd.DataFrame, prompt_keys: Sequence[str], tag_keys: Sequence[str]) -> None:
    """Markdown tables: summary per run, each per-prompt measure (rows in ``prompt_keys``
    order), each tag-response measure (rows in ``tag_keys`` order)."""
    summary = table[table.kind == "summary"].dropna(axis=1, how="all").drop(columns=["kind", "key"])
    print(markdown(summary.set_index("run").T))
    prompts = table[table.kind == "prompt"]
    for column in (c for c in PROMPT_MEASURES if c in prompts):
        pivot = prompts.pivot(index="key", columns="run", values=column).reindex(list(prompt_keys))
        print(f"\n{column}\n" + markdown(pivot))
    tags = table[table.kind == "tag"]
    for column in TAG_MEASURES:
        pivot = tags.pivot(index="key", columns="run", values=column).reindex(list(tag_keys))
        print(f"\n{column}\n" + markdown(pivot))
