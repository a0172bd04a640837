"""Score every galaxy of an image cache with a classifier: batched, resumable, sharded.

The cache's rows are cut into fixed chunks; each finished chunk's scores are saved as
``scores_<start>.npy`` in the work folder, so a killed scan resumes from the chunks it
has, and, because chunk boundaries and batches do not depend on when the scan stopped, a
resumed scan gives exactly the scores of an uninterrupted one.

With ``accelerate launch`` (several processes, GPUs or hosts) process ``i`` of ``n`` scans
chunks ``i, i + n, ...`` on its own device and the main process merges them; started as a
plain single process it runs unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from accelerate import PartialState
from tqdm.auto import tqdm

from galaxysd.atomic_files import save_array
from galaxysd.evaluation.classifier import WEIGHTS_FILE, Classifier

DEFAULT_CHUNK = 8192
DEFAULT_BATCH = 1024
RATE_FILE = "rate.json"


@dataclass
class ScanResult:
    """Scores of every row (main process; ``None`` on the others) and the measured rate."""

    scores: np.ndarray | None
    galaxies_per_s: float  # of the main process (NaN if it scanned nothing, now or before)
    scanned_now: int


def classifier_fingerprint(directory: str | os.PathLike) -> str:
    """Hash of a saved classifier's weights: names the scan folder of that classifier."""
    digest = hashlib.sha256((Path(directory) / WEIGHTS_FILE).read_bytes())
    return digest.hexdigest()[:12]


def _chunk_path(work: Path, start: int) -> Path:
    return work / f"scores_{start:010d}.npy"


def scan_chunks(
    classifier: Classifier,
    images: np.ndarray,
    work: str | os.PathLike,
    chunk: int = DEFAULT_CHUNK,
    batch_size: int = DEFAULT_BATCH,
    process_index: int = 0,
    num_processes: int = 1,
    progress: bool = True,
) -> tuple[float, int]:
    """Score this process's share of ``images`` (uint8 (N, H, W, 3), e.g. a cache memmap)
    chunk by chunk into ``work``; chunks already there are skipped.

    Returns (galaxies per second over the chunks scored now, how many were scored now).
    """
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    mine = list(range(0, len(images), chunk))[process_index::num_processes]
    todo = [s for s in mine if not _chunk_path(work, s).is_file()]
    total = sum(min(chunk, len(images) - s) for s in mine)
    remaining = sum(min(chunk, len(images) - s) for s in todo)
    bar = tqdm(total=total, initial=total - remaining, unit="galaxy", desc="scanning", disable=not progress)
    started = time.perf_counter()
    with torch.inference_mode():
        for start in todo:
            block = np.array(images[start : start + chunk])  # read (and copy) from disk
            scores = classifier.predict_proba(block, batch_size=batch_size)[:, 0]
            save_array(_chunk_path(work, start), scores.astype(np.float32))
            bar.update(len(block))
    bar.close()
    elapsed = time.perf_counter() - started
    return (remaining / elapsed if remaining and elapsed > 0 else float("nan")), remaining


def merge_chunks(work: str | os.PathLike, n: int, chunk: int = DEFAULT_CHUNK) -> np.ndarray:
    """All ``n`` scores of a finished scan, in row order (``RuntimeError`` if a chunk is missing)."""
    parts = []
    for start in range(0, n, chunk):
        path = _chunk_path(Path(work), start)
        if not path.is_file():
            raise RuntimeError(f"scan in {work} is unfinished: {path.name} is missing")
        parts.append(np.load(path))
    scores = np.concatenate(parts) if parts else np.zeros(0, np.float32)
    if len(scores) != n:
        raise RuntimeError(f"scan in {work} has {len(scores)} scores for {n} galaxies")
    return scores


def scan(
    classifier_dir: str | os.PathLike,
    images: np.ndarray,
    work: str | os.PathLike,
    chunk: int = DEFAULT_CHUNK,
    batch_size: int = DEFAULT_BATCH,
    progress: bool = True,
) -> ScanResult:
    """Scan ``images`` with the classifier saved in ``classifier_dir``, sharded over the
    ``accelerate`` processes (one process without a launcher); the main process returns the
    merged scores."""
    state = PartialState()
    device = str(state.device) if state.device.type != "mps" else "cpu"
    classifier = Classifier.load(classifier_dir, device=device)
    rate, scanned = scan_chunks(
        classifier,
        images,
        work,
        chunk,
        batch_size,
        state.process_index,
        state.num_processes,
        progress and state.is_local_main_process,
    )
    state.wait_for_everyone()
    if not state.is_main_process:
        return ScanResult(None, rate, scanned)
    rate_file = Path(work) / RATE_FILE
    if scanned:
        rate_file.write_text(
            json.dumps({"galaxies_per_s": rate, "galaxies": scanned, "processes": state.num_processes})
        )
    elif rate_file.is_file():  # everything was scanned before: report that scan's rate
        rate = json.loads(rate_file.read_text())["galaxies_per_s"]
    return ScanResult(merge_chunks(work, len(images), chunk), rate, scanned)
