"""``python -m galaxysd.data {download,cache,demo,reference,label,info}``: the data jobs on the command line."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from pathlib import Path
from typing import Iterator, Sequence

from galaxysd.cli import JobParser, run_cli
from galaxysd.data.cache import build_cache
from galaxysd.data.catalog import concat_catalogs, load_report
from galaxysd.data.demo import render_demo_survey
from galaxysd.data.download import download_dataset
from galaxysd.data.labelling_job import LABELS_NAME, REPORT_NAME, run_labelling
from galaxysd.data.loaders import LOADERS, load_catalog_spec
from galaxysd.data.reference_set import REFERENCE_DIR, build_reference_set

SPEC_HELP = (
    f"a catalog as KIND:PATH[?option=value&...], KIND one of {', '.join(LOADERS)}; "
    "e.g. gz1:../shared/data/gz1-sdss or gz2:data/gz2?images_only=true"
)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line of the data jobs (``ValueError`` on bad usage)."""
    parser = JobParser(
        prog="python -m galaxysd.data",
        description="Download Galaxy Zoo data, build image caches, render the demo survey, inspect catalogs.",
    )
    jobs = parser.add_subparsers(dest="job", required=True, metavar="{download,cache,demo,reference,label,info}")

    download = jobs.add_parser(
        "download",
        help="fetch a public data set (resumable, verified)",
        description="Fetch a public data set into DEST; run it again to resume an interrupted download.",
    )
    download.add_argument(
        "dataset", choices=["gz2"], help="gz2: Hart et al. (2016) table, filename mapping and images (~3 GB)"
    )
    download.add_argument("--dest", required=True, metavar="DIR", help="folder to download into")
    download.add_argument(
        "--base-url", metavar="URL", help="fetch every file from URL/NAME instead of its public host (a mirror)"
    )
    download.add_argument("--skip-images", action="store_true", help="fetch only the tables, not the images archive")
    download.add_argument(
        "--keep-archives", action="store_true", help="keep archives after extracting them (default: delete)"
    )

    cache = jobs.add_parser(
        "cache",
        help="decode catalogs' images once into an image cache",
        description="Build an image cache from one or more catalogs (rows without an image are left out).",
    )
    cache.add_argument(
        "--catalog", action="append", required=True, metavar="SPEC", help=SPEC_HELP + "; repeat to combine catalogs"
    )
    cache.add_argument("--out", required=True, metavar="DIR", help="folder to write the cache into")
    cache.add_argument("--size", type=int, default=64, help="side of the square images in pixels (default 64)")
    cache.add_argument(
        "--crop",
        type=float,
        metavar="F",
        help="keep the central fraction F of every image before resizing (default: each source's standard framing)",
    )
    cache.add_argument("--workers", type=int, default=2, help="decoding processes (default 2)")

    demo = jobs.add_parser(
        "demo",
        help="render the built-in demo survey",
        description="Render N synthetic demo-survey galaxies with catalog.csv.",
    )
    demo.add_argument("--n", type=int, required=True, help="number of galaxies")
    demo.add_argument("--out", required=True, metavar="DIR", help="folder for catalog.csv and images/")
    demo.add_argument("--size", type=int, default=64, help="image side in pixels (default 64)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.add_argument("--workers", type=int, default=2, help="rendering processes (default 2)")

    reference = jobs.add_parser(
        "reference",
        help="build the small real reference set the app ships (assets/reference)",
        description="Pick N real galaxies evenly across classes and store them at the model's size (<= 3 MB).",
    )
    reference.add_argument(
        "--catalog", default="gz1:../shared/data/gz1-sdss?split=holdout&framing=measured", metavar="SPEC"
    )
    reference.add_argument("--n", type=int, default=300, help="number of galaxies (default 300)")
    reference.add_argument("--size", type=int, default=64, help="image side in pixels (default 64)")
    reference.add_argument("--out", default=str(REFERENCE_DIR), metavar="DIR", help="default assets/reference")

    label = jobs.add_parser(
        "label",
        help="derive fine GZ2 answers (roundness, ...) from measured shapes, calibrated on real votes",
        description="Measure every galaxy's shape, fit each derivable question on voted galaxies, report the "
        "held-out agreement and write the answers that pass (AUC >= 0.8) as labels.",
    )
    label.add_argument("--catalog", default="gz1:../shared/data/gz1-sdss", metavar="SPEC", help="galaxies to label")
    label.add_argument(
        "--calibrate",
        default="gz2:../shared/data/gz2-sample",
        metavar="SPEC",
        help="a gz2 catalog with images and votes",
    )
    label.add_argument(
        "--calibration-look",
        default="gz2cyan",
        help="survey tag of the calibration images' look (default gz2cyan: the shared excerpt; "
        "sdss for the full release)",
    )
    label.add_argument("--out", default=".data/labels/gz1", metavar="DIR", help="default .data/labels/gz1")

    info = jobs.add_parser(
        "info",
        help="load a catalog and print what was kept and skipped",
        description="Load a catalog and print its row count and load report.",
    )
    info.add_argument("spec", metavar="SPEC", help=SPEC_HELP)
    return parser.parse_args(argv)


@contextlib.contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    """Silence a logger below errors while the same text is printed instead."""
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def run_download(args: argparse.Namespace) -> None:
    """The ``download`` job."""
    dest = download_dataset(
        args.dataset, args.dest, base_url=args.base_url, skip_images=args.skip_images, keep_archives=args.keep_archives
    )
    print(f"{args.dataset} ready in {dest}; load it as {args.dataset}:{dest}")


def run_cache(args: argparse.Namespace) -> None:
    """The ``cache`` job."""
    catalog = concat_catalogs(load_catalog_spec(spec) for spec in args.catalog)
    imaged = catalog[catalog["image_path"] != ""].reset_index(drop=True)
    if len(imaged) < len(catalog):
        print(f"{len(catalog) - len(imaged):,} rows have no image and are left out of the cache")
    if imaged.empty:
        raise ValueError("the catalogs hold no images to cache")
    cache = build_cache(imaged, args.out, size=args.size, crop=args.crop, workers=args.workers)
    print(
        f"cached {len(cache):,} images at {args.size}x{args.size} in {args.out} ({cache.meta['failed']:,} unreadable)"
    )
    if cache.meta.get("framing"):
        print("framing: " + ", ".join(f"{n:,} {outcome}" for outcome, n in cache.meta["framing"].items()))


def run_demo(args: argparse.Namespace) -> None:
    """The ``demo`` job."""
    if args.n < 1:
        raise ValueError(f"--n must be at least 1, got {args.n}")
    catalog = render_demo_survey(args.n, args.out, size=args.size, seed=args.seed, workers=args.workers)
    print(f"rendered {len(catalog):,} demo galaxies in {args.out}; load them as demo:{args.out}")


def run_info(args: argparse.Namespace) -> None:
    """The ``info`` job."""
    with _quiet("galaxysd.data.catalog"):
        catalog = load_catalog_spec(args.spec)
    with_image = int((catalog["image_path"] != "").sum())
    print(f"{args.spec}: {len(catalog):,} rows, {with_image:,} with an image")
    print(load_report(catalog))


def run_reference(args: argparse.Namespace) -> None:
    """The ``reference`` job."""
    table = build_reference_set(args.catalog, Path(args.out), n=args.n, size=args.size)
    print(f"{len(table):,} reference galaxies ({table['stratum'].value_counts().to_dict()}) written to {args.out}")


def run_label(args: argparse.Namespace) -> None:
    """The ``label`` job."""
    result = run_labelling(args.catalog, args.calibrate, args.out, calibration_look=args.calibration_look)
    report = result.report
    for row in report.itertuples():
        auc = "n/a" if row.auc_held_out != row.auc_held_out else f"{row.auc_held_out:.3f}"
        print(f"{row.answer:36s} held-out AUC {auc:>6s} ({row.galaxies} galaxies){'  used' if row.used else ''}")
    derived = int((result.labels["derived_answers"].fillna("") != "").sum())
    failed = ", ".join(f"{n} {why}" for why, n in result.failures.items()) or "none"
    print(f"{derived:,} galaxies got derived answers; measurement failures: {failed}")
    labels = Path(args.out) / LABELS_NAME
    print(f"wrote {Path(args.out) / REPORT_NAME} and {labels}; use them as {args.catalog}?labels={labels}")


JOBS = {
    "download": run_download,
    "cache": run_cache,
    "demo": run_demo,
    "reference": run_reference,
    "label": run_label,
    "info": run_info,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one data job; returns the exit code (1 with one line on stderr for bad input)."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")

    def body() -> None:
        args = parse_args(argv)
        JOBS[args.job](args)

    return run_cli(body, interrupted="run the same command again to resume")


if __name__ == "__main__":
    sys.exit(main())
