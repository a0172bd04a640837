"""End to end: ``streamlit run`` on 127.0.0.1 driven by headless Chromium.

Opens Generate on a fresh server (timing the first images), moves a morphology slider five
steps and times each until its new images are drawn, and saves a screenshot of every page
(the Interpolate and About pages included) into ``test-artifacts/browser/``, with the
timings in ``timings.json``.
"""

from __future__ import annotations

import json
import statistics
import time

import pytest
from app_runs import shared_tiny_run
from prerequisites import skip_unless

from galaxysd.app.browser import (
    PAGES,
    app_server,
    chromium_paths,
    headless_chromium,
    image_sources,
    open_page,
    screenshot_pages,
    wait_for_new_images,
    wait_until_idle,
)
from galaxysd.runs import DEFAULT_RUN, REPO_ROOT

ARTIFACTS = REPO_ROOT / "test-artifacts" / "browser"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(autouse=True)
def chromium_installed():
    skip_unless(
        chromium_paths() is not None,
        "Chromium is not installed: apt-get install -y --no-install-recommends chromium chromium-driver",
    )


def slider_input(driver, label: str):
    """The range input of the slider labelled ``label``."""
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, f'input[type="range"][aria-label="{label}"]')


def press_keys_on_slider(driver, label: str, keys: str) -> None:
    """Focus a slider, as a click on it would, and press keys."""
    from selenium.webdriver.common.action_chains import ActionChains

    driver.execute_script("arguments[0].focus()", slider_input(driver, label))
    ActionChains(driver).send_keys(keys).perform()


def test_a_slider_move_in_the_browser_shows_new_images(tmp_path_factory, tmp_path):
    from selenium.webdriver.common.keys import Keys

    run = DEFAULT_RUN if (DEFAULT_RUN / "model" / "model_index.json").is_file() else shared_tiny_run(tmp_path_factory)
    env = {
        "GALAXYSD_RUN": str(run),
        "GALAXYSD_HOME": str(tmp_path / "home"),
        "GALAXYSD_DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        "GALAXYSD_WARM_UP": "1",  # as a user's server runs: the model loads while the entry page shows
    }
    with app_server(env, log=tmp_path / "server.log") as url, headless_chromium() as driver:
        open_page(driver, url, "")  # the entry page first: it sets up the page router
        start = time.perf_counter()
        open_page(driver, url, "generate")
        first_images_s = time.perf_counter() - start
        before = image_sources(driver)
        assert len(before) == 4, "the Generate page shows four images"
        value = float(slider_input(driver, "smooth").get_attribute("value"))
        slider_s = []
        for keys in (Keys.ARROW_RIGHT, Keys.ARROW_LEFT) * 2 + (Keys.ARROW_RIGHT,):  # five steps
            start = time.perf_counter()
            press_keys_on_slider(driver, "smooth", keys)
            after = wait_for_new_images(driver, before)
            slider_s.append(time.perf_counter() - start)
            assert set(after).isdisjoint(before)
            wait_until_idle(driver)
            before = image_sources(driver)
        assert float(slider_input(driver, "smooth").get_attribute("value")) == pytest.approx(value + 0.05)
        wait_until_idle(driver)
        shots = screenshot_pages(driver, url, ARTIFACTS)
    assert [p.stem for p in shots] == [page or "home" for page in PAGES]
    assert all(p.stat().st_size > 10_000 for p in shots)
    # Felt speed (targets on an idle 2-core CPU: 5 s and 1 s; recorded in benchmarks/RESULTS.md).
    # The bounds here are loose: CI machines are shared.
    timings = {
        "first_images_s": round(first_images_s, 2),
        "slider_change_first_s": round(slider_s[0], 2),
        "slider_change_median_s": round(statistics.median(slider_s), 2),
        "slider_change_max_s": round(max(slider_s), 2),
    }
    (ARTIFACTS / "timings.json").write_text(json.dumps(timings))
    print(f"browser timings: {timings}")
    assert first_images_s < 60 and max(slider_s) < 20, timings
