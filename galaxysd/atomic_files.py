"""Atomic file writes: a file is written under a temporary name and renamed, so a killed
job never leaves a half-written file that looks finished."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write a file through a temporary sibling and a rename (never half-written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data.encode() if isinstance(data, str) else data)
    os.replace(tmp, path)


def write_json(path: Path, value) -> None:
    """Atomic JSON write; NaN and infinities become ``null``, numpy scalars plain numbers."""
    write_atomic(path, json.dumps(to_json_value(value), indent=2, allow_nan=False))


def to_json_value(value):
    """``value`` with tuples and arrays as lists, numpy scalars as Python numbers and
    NaN or infinite floats as ``None``."""
    if isinstance(value, dict):
        return {str(key): to_json_value(v) for key, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [to_json_value(v) for v in value]
    if isinstance(value, (np.integer, np.bool_)):
        return value.item()
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    return value


def write_csv(path: Path, frame: pd.DataFrame) -> None:
    """Atomic CSV write without the index."""
    write_atomic(path, frame.to_csv(index=False))


def save_array(path: Path, array: np.ndarray) -> None:
    """Atomic ``.npy`` write."""
    buffer = io.BytesIO()
    np.save(buffer, array)
    write_atomic(path, buffer.getvalue())
