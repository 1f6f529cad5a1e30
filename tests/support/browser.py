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


@contextlib.contextmanager
def page_at(url: str) -> Iterator[Page]:
    """A browser page opened at ``url`` once the network is idle, the welcome dialog dismissed."""
    with browser_page() as page:
        page.goto(url, wait_until="networkidle")
        dismiss_welcome(page)
        yield page


def dismiss_welcome(page: Page) -> None:
    """The first visit shows a "Join the Dagster community" dialog; skip it if it is there."""
    skip = page.get_by_role("button", name="Skip")
    with contextlib.suppress(Exception):
        skip.click(timeout=5000)


def check_rows(page: Page, asset_path: str, url: str) -> dict[str, tuple[str, str]]:
    """The checks on an asset's Checks tab: for each, its icon (``warning_outline`` for a failed WARN,
    ``cancel`` for a failed ERROR or a run that failed before it) and the status written under it."""
    page.goto(f"{url}/assets/{asset_path}?view=checks", wait_until="networkidle")
    dismiss_welcome(page)
    rows = page.locator("[class*=checkRow]")
    rows.first.wait_for(timeout=60_000)
    found = {}
    for row in rows.all():
        name = row.locator("[title]").first.get_attribute("title") or ""
        icon = row.get_by_role("img").first.get_attribute("aria-label") or ""
        found[name] = (icon, row.inner_text().strip().splitlines()[-1])
    return found
