"""Helpers of the Streamlit page tests: open a page in a new ``AppTest`` session, and list what
it shows as errors or exceptions."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[1] / "streamlit_app.py"
TIMEOUT = 120


def open_page(page: str) -> AppTest:
    """A new browser session on ``page``."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    return at.switch_page(f"pages/{page}.py").run()


def problems(at: AppTest) -> list[str]:
    return [str(e.value) for e in at.exception] + [str(e.value) for e in at.error]
