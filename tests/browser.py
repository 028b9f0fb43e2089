"""Debian's chromium driven by Playwright, for the browser tests: the launch arguments, and a
skip with the reason when the browser or the driver is missing (never a browser download)."""

from __future__ import annotations

from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> None:
    """Skip the calling test when chromium or the playwright driver is missing."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} missing: apt-get install chromium (.ci/run does)")
    pytest.importorskip("playwright.sync_api", reason="pip install playwright")


def launch(playwright):  # noqa: ANN001, ANN201 (playwright's own types)
    """The system's chromium, headless, with no network side traffic."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
