"""Before/after sheet of the measured framing: the same 32 galaxies at the fixed crop and
at a crop scaled to each galaxy's measured half-light radius (galaxysd.data.framing).

    python scripts/framing_sheet.py --catalog gz1:../shared/data/gz1-sdss --out assets/screenshots/framing.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from galaxysd.data.cache import framing_counts  # noqa: E402 - after the path set-up
from galaxysd.data.framing import before_after_rows, measured_framing
from galaxysd.data.loaders import load_catalog_spec
from galaxysd.grids import save_grid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog", default="gz1:../shared/data/gz1-sdss", help="catalog spec (KIND:PATH)")
    parser.add_argument("--out", default="assets/screenshots/framing.png", help="PNG to write")
    parser.add_argument("--size", type=int, default=64, help="side of each image in pixels")
    args = parser.parse_args()
    catalog = measured_framing(load_catalog_spec(args.catalog))
    rows = before_after_rows(catalog, n=32, size=args.size)
    labels = ["fixed crop (smallest 16)", "measured framing", "fixed crop (largest 16)", "measured framing"]
    save_grid(rows, args.out, labels)
    counts = framing_counts(catalog)
    crops = catalog.loc[catalog["framing"] == "measured", "crop"]
    spread = crops.quantile([0.05, 0.5, 0.95]).round(3).tolist()
    print(f"wrote {args.out}; framing: {counts}; measured crop 5/50/95%: {spread}")


if __name__ == "__main__":
    main()
