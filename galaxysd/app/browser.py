"""Run the app in a real server and drive it with headless Chromium (end-to-end tests and
the README's screenshots).

Needs Debian's ``chromium`` and ``chromium-driver`` packages and the ``selenium`` package;
nothing is downloaded at run time.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from galaxysd.runs import REPO_ROOT

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--hide-scrollbars",
)
#: url path of each page (``st.Page`` derives it from the file name), in menu order.
PAGES = (
    "",
    "generate",
    "real_vs_synthetic",
    "quiz",
    "interpolate",
    "metrics",
    "explore",
    "augmentation",
    "candidates",
    "train",
    "about",
)


def chromium_paths() -> tuple[str, str] | None:
    """(browser, driver) executables, or ``None`` when Chromium is not installed."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver") or (
        "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None
    )
    return (browser, driver) if browser and driver else None


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def app_server(env: dict[str, str] | None = None, timeout_s: float = 120.0, log: Path | None = None) -> Iterator[str]:
    """``streamlit run streamlit_app.py`` on a free local port; yields its base URL."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(REPO_ROOT / "streamlit_app.py"),
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
    ]
    log_file = open(log or os.devnull, "wb")
    server = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env={**os.environ, **(env or {})},
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout_s
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"the app server exited with code {server.returncode}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                    if reply.read().strip() == b"ok":
                        break
            except OSError:
                if time.time() > deadline:
                    raise TimeoutError(f"the app did not answer on {url} within {timeout_s:.0f} s")
                time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log_file.close()


@contextmanager
def headless_chromium(width: int = 1500, height: int = 1200):
    """A Selenium driver of headless Chromium with a fresh profile."""
    from selenium import webdriver  # test-only dependency
    from selenium.webdriver.chrome.service import Service  # test-only dependency

    paths = chromium_paths()
    if paths is None:
        raise RuntimeError("Chromium is not installed (apt-get install chromium chromium-driver)")
    profile = tempfile.mkdtemp(prefix="galaxysd-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = paths[0]
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(paths[1]), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def script_state(driver) -> str | None:
    """The app's script state as the page reports it: ``initial``, ``running``, ``notRunning``."""
    return driver.execute_script(
        "const app = document.querySelector('[data-testid=stApp]');"
        "return app ? app.getAttribute('data-test-script-state') : null;"
    )


def charts_drawn(driver) -> bool:
    """True when every plotly and vega chart on the page has drawn itself."""
    return driver.execute_script(
        "const plots = document.querySelectorAll('[data-testid=stPlotlyChart]');"
        "const vegas = document.querySelectorAll('[data-testid=stVegaLiteChart]');"
        "return Array.from(plots).every(p => p.querySelector('.main-svg'))"
        " && Array.from(vegas).every(v => v.querySelector('svg, canvas'));"
    )


def wait_until_idle(driver, timeout_s: float = 90.0, settle_s: float = 0.5) -> None:
    """Wait until the app's script has run (and stayed finished for ``settle_s`` seconds)
    and its charts have drawn."""
    deadline = time.time() + timeout_s
    quiet_since = None
    while time.time() < deadline:
        if script_state(driver) == "notRunning" and charts_drawn(driver):
            quiet_since = quiet_since or time.time()
            if time.time() - quiet_since >= settle_s:
                return
        else:
            quiet_since = None
        time.sleep(0.2)
    raise TimeoutError(f"the app was still running after {timeout_s:.0f} s")


def image_sources(driver) -> list[str]:
    """``src`` of every image in the page's main area."""
    from selenium.webdriver.common.by import By  # test-only dependency

    return [
        img.get_attribute("src")
        for img in driver.find_elements(By.CSS_SELECTOR, '[data-testid="stMain"] [data-testid="stImage"] img')
    ]


_LOADED_IMAGES_JS = """
return Array.from(document.querySelectorAll('[data-testid="stMain"] [data-testid="stImage"] img'))
    .filter(img => img.complete && img.naturalWidth > 0).map(img => img.src);
"""


def loaded_image_sources(driver) -> list[str]:
    """``src`` of every image in the page's main area that the browser has finished drawing."""
    return driver.execute_script(_LOADED_IMAGES_JS)


def wait_for_new_images(
    driver, before: list[str], count: int = 4, timeout_s: float = 60.0, poll_s: float = 0.03
) -> list[str]:
    """Wait until ``count`` images are drawn and none of them is one of ``before``: the moment a
    person sees the new galaxies (polled every ``poll_s`` seconds, no settling time)."""
    deadline = time.time() + timeout_s
    old = set(before)
    while time.time() < deadline:
        shown = loaded_image_sources(driver)
        if len(shown) >= count and old.isdisjoint(shown):
            return shown
        time.sleep(poll_s)
    raise AssertionError(f"no {count} new images were drawn within {timeout_s:.0f} s")


def open_page(driver, base_url: str, page: str, timeout_s: float = 90.0) -> None:
    """Load one page of the app and wait until it is idle."""
    driver.get(f"{base_url}/{page}")
    wait_until_idle(driver, timeout_s)


def screenshot_pages(driver, base_url: str, folder: Path, pages=PAGES) -> list[Path]:
    """A PNG screenshot of each page into ``folder`` (named after the page)."""
    folder.mkdir(parents=True, exist_ok=True)
    saved = []
    for page in pages:
        open_page(driver, base_url, page)
        path = folder / f"{page or 'home'}.png"
        driver.save_screenshot(str(path))
        saved.append(path)
    return saved
