"""A page opened in a real headless browser: Debian's Chromium, driven by Playwright.

``scripts/setup.sh`` installs Chromium where it can (``apt-get`` as root, as in CI). Elsewhere a
browser test is skipped with the reason, except under CI (``CI`` set), where a missing browser
fails the test: a check CI cannot run must not pass unseen.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import sync_playwright

#: The flags a sandboxed, offline machine needs (no background connections, no GPU, as root).
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class OpenedPage:
    """The Playwright page, and what its console said while it loaded."""

    page: Any
    console_errors: list[str] = field(default_factory=list)


def chromium_path() -> str:
    """Chromium's executable; skips (or, under CI, fails) the test when there is none."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        message = "no chromium on PATH (scripts/setup.sh installs Debian's where it can)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


@contextmanager
def opened_page(path: Path, *, width: int = 1000) -> Iterator[OpenedPage]:
    """``path`` loaded in headless Chromium, its console errors and page errors collected."""
    executable = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            opened = OpenedPage(page)
            page.on(
                "console",
                lambda message: (
                    opened.console_errors.append(message.text) if message.type == "error" else None
                ),
            )
            page.on("pageerror", lambda error: opened.console_errors.append(str(error)))
            page.goto(path.resolve().as_uri(), wait_until="load")
            yield opened
        finally:
            browser.close()
