"""The real headless browser that the HTML tests open pages in."""

import os
import shutil

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
