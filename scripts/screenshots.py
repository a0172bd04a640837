"""Screenshots of the app for the README: ``python scripts/screenshots.py``.

Starts the app on the chosen run (default: the shipped ``assets/default-run``) with an
empty app database, opens the Generate, Interpolate, Metrics, Candidates and About pages in
headless Chromium and saves ``assets/screenshots/<page>.png``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from galaxysd.app.browser import app_server, chromium_paths, headless_chromium, open_page, screenshot_pages  # noqa: E402
from galaxysd.runs import DEFAULT_RUN  # noqa: E402

README_PAGES = ("generate", "interpolate", "metrics", "candidates", "about")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Save README screenshots of the app.")
    parser.add_argument("--run", default=str(DEFAULT_RUN), help="run directory to show (default: %(default)s)")
    parser.add_argument(
        "--out",
        default=str(REPO_ROOT / "assets" / "screenshots"),
        help="folder for the PNG files (default: %(default)s)",
    )
    parser.add_argument("--width", type=int, default=1500, help="window width in pixels")
    parser.add_argument("--height", type=int, default=1100, help="window height in pixels")
    args = parser.parse_args(argv)
    if chromium_paths() is None:
        print("error: Chromium is not installed (apt-get install chromium chromium-driver)", file=sys.stderr)
        return 1
    if not (Path(args.run) / "config.yaml").is_file():
        print(f"error: {args.run} is not a run directory", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as home:
        env = {
            "GALAXYSD_RUN": str(Path(args.run).resolve()),
            "GALAXYSD_HOME": home,
            "GALAXYSD_DATABASE_URL": f"sqlite:///{home}/app.db",
        }
        with app_server(env) as url, headless_chromium(args.width, args.height) as driver:
            open_page(driver, url, "")  # the entry page first: it sets up the page router
            for path in screenshot_pages(driver, url, Path(args.out), README_PAGES):
                print(f"saved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
