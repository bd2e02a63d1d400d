"""The real headless browser that the HTML tests open pages in."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def chromium() -> str:
    """The Chromium on PATH; without one the test is skipped, or fails under
    `SRL_PLUGIN_REQUIRE_BROWSER` (as `make test` sets it)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)  # type: ignore
    if os.environ.get("SRL_PLUGIN_REQUIRE_BROWSER"):
        pytest.fail("no chromium: run `make browser` (apt-get install chromium)")
    pytest.skip("no chromium (make browser installs it; CI requires it)")


FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]


def dump_dom(page: Path) -> str:
    """The DOM the real browser builds from the file `page`, as HTML (`--dump-dom`)."""
    dom = subprocess.run(
        [chromium(), *FLAGS, "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert dom.returncode == 0, dom.stderr[-2000:]
    return dom.stdout


def assert_screenshot(page: Path, folder: Path) -> None:
    """The real browser draws `page` into a PNG that is not a blank page."""
    screenshot = folder / "page.png"
    shot = subprocess.run(
        [chromium(), *FLAGS, f"--screenshot={screenshot}", "--window-size=900,600", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert shot.returncode == 0 and screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 5000  # Not a blank page.
