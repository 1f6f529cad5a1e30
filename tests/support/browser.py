"""A real browser for UI tests: Debian's chromium driven by Playwright.

Playwright's own browser download is not reachable here, so it drives the system chromium
(`.ci/run` installs Debian's package). A missing browser fails the test, saying how to install it.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator

from playwright.sync_api import Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextlib.contextmanager
def browser_page() -> Iterator[Page]:
    if not shutil.which(CHROMIUM):
        raise RuntimeError(f"no browser at {CHROMIUM}: install Debian's chromium (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": 1600, "height": 1000})
        finally:
            browser.close()


def dismiss_welcome(page: Page) -> None:
    """The first visit shows a "Join the Dagster community" dialog; skip it if it is there."""
    skip = page.get_by_role("button", name="Skip")
    with contextlib.suppress(Exception):
        skip.click(timeout=5000)
