"""Real Chromium for page tests: Debian's chromium driven by Playwright (never a download)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# Without the background-networking flags Chromium tries hosts this machine cannot reach.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium for the length of a ``with`` block."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def screenshot_path(name: str, scratch: Path) -> Path:
    """Where a test saves a screenshot: ``docs/screenshots/`` only when asked.

    ``NEWSLETTER_UPDATE_SCREENSHOTS=1 make test`` refreshes the committed
    pictures; an ordinary run writes to ``scratch`` and leaves the tree clean.
    """
    folder = DOCS_SCREENSHOTS if os.environ.get("NEWSLETTER_UPDATE_SCREENSHOTS") else scratch
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


def watched_page(browser: Browser, viewport: dict[str, int],
                 **options: Any) -> tuple[Page, list[str]]:
    """A page in its own context, and the errors it logs (CSP violations, script errors).

    ``options`` go to ``new_context`` (``accept_downloads=True``, say).
    """
    context = browser.new_context(viewport=viewport, **options)  # type: ignore[arg-type]
    page = context.new_page()
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page, errors
