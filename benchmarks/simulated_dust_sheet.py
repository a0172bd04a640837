"""A sheet of real smooth SDSS galaxies before and after a simulated dust lane.

Rows in pairs: held-out GZ1 smooth galaxies at the training framing (64 px), then the same
galaxies as a ``simulate: dust_lane`` training source shows them; the last row holds Galaxy
Zoo's own reference images for the dust-lane answer (real dusty galaxies), framed the same way.

    python benchmarks/simulated_dust_sheet.py --out benchmarks/simulated_dust.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from sdss_dust_composition import REPO, SHARED, reference_sets  # noqa: E402

from galaxysd.data.cache import load_image  # noqa: E402
from galaxysd.grids import grid_image  # noqa: E402

EXAMPLES = SHARED / "gz-examples-sdss"
TRAINING_SEED = 0  # the lanes a +dust_lane source shows (simulate_dust_lanes' default seed)


def reference_lanes(size: int) -> list[np.ndarray]:
    """Galaxy Zoo's reference images for the dust-lane answer at ``size`` px (central 40%, as GZ1 cutouts)."""
    names = [line.split(",")[0] for line in (EXAMPLES / "labels.csv").read_text().splitlines() if "dust_lane" in line]
    return [load_image(EXAMPLES / name, size=size, crop=0.4) for name in names]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "simulated_dust.png")
    p.add_argument("--n", type=int, default=12, help="galaxies per row")
    p.add_argument("--rows", type=int, default=3, help="pairs of rows")
    p.add_argument("--scale", type=int, default=2, help="pixel repeat for viewing")
    args = p.parse_args()
    plain, painted = reference_sets(TRAINING_SEED)
    rows, labels = [], []
    for r in range(args.rows):
        pick = np.arange(r * args.n, (r + 1) * args.n)
        rows += [plain[pick], painted[pick]]
        labels += ["real held-out GZ1 smooth galaxies", "the same with a simulated dust lane"]
    refs = reference_lanes(64)
    blank = np.full((args.n - len(refs), 64, 64, 3), 20, np.uint8)
    rows.append(np.concatenate([np.stack(refs), blank]))
    labels.append("Galaxy Zoo's reference images for 'dust lane' (real)")
    sheet = np.stack(rows).repeat(args.scale, axis=2).repeat(args.scale, axis=3)
    grid_image(sheet, labels).save(args.out, optimize=True)
    print(f"wrote {args.out} ({len(plain)} smooth galaxies, {len(refs)} reference images)")


if __name__ == "__main__":
    main()
