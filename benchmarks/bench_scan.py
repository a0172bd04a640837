"""Scan rate of the dusty early-type detector: galaxies per second through an image cache.

    python benchmarks/bench_scan.py [--n 20000] [--threads 2] [--size 64]

Writes a memory-mapped uint8 cache of ``--n`` noise images at ``--size`` px (the scan cost
does not depend on the pixels), scans it with the detector architecture of
:class:`galaxysd.science.dusty_search.SearchSettings` exactly as ``galaxysd.discover`` does
(chunks, batches, channels-last, inference mode) and prints one JSON line. The target is
at least 500 galaxies/s on 2 CPU cores at 64 px, so the 239,695 galaxies of GZ2 take
minutes.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from galaxysd.evaluation.classifier import Classifier
from galaxysd.science.dusty_search import SearchSettings
from galaxysd.science.scan import DEFAULT_BATCH, DEFAULT_CHUNK, scan_chunks

GZ2_GALAXIES = 239_695


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20000, help="galaxies to scan (default %(default)s)")
    parser.add_argument("--size", type=int, default=64, help="cache image side, px (default %(default)s)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default %(default)s)")
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH, help="batch size (default %(default)s)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default %(default)s)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = SearchSettings(device=args.device).detector_config(args.size)
    detector = Classifier(config)
    with tempfile.TemporaryDirectory() as tmp:
        images = np.lib.format.open_memmap(
            Path(tmp) / "images.npy", mode="w+", dtype=np.uint8, shape=(args.n, args.size, args.size, 3)
        )
        rng = np.random.default_rng(0)
        for start in range(0, args.n, 4096):
            images[start : start + 4096] = rng.integers(0, 256, images[start : start + 4096].shape, dtype=np.uint8)
        images.flush()
        detector.predict_proba(np.array(images[:256]))  # warm-up
        started = time.perf_counter()
        scan_chunks(detector, images, Path(tmp) / "scan", DEFAULT_CHUNK, args.batch, progress=False)
        elapsed = time.perf_counter() - started
    rate = args.n / elapsed
    print(
        json.dumps(
            {
                "galaxies": args.n,
                "size": args.size,
                "threads": args.threads,
                "device": args.device,
                "detector_widths": list(config.widths),
                "detector_input": config.image_size,
                "seconds": round(elapsed, 2),
                "galaxies_per_s": round(rate, 1),
                "gz2_release_minutes": round(GZ2_GALAXIES / rate / 60, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
