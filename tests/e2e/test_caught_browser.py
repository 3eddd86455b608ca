"""The local mail catcher's pages in real Chromium (issue 13, item 12).

The page of a caught message shows the email's HTML in a sandboxed frame (its
own CSP used to block the frame), the confirm button in it opens the confirm
page in a new tab, and the long links of the plain-text part wrap instead of
running off the card, on a desktop and on a phone.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage

from newsletter.app import App
from newsletter.delivery.sender import drain
from newsletter.web.app import create_web_app
from tests.support import signup as support
from tests.support.browser import screenshot_path
from tests.support.net import free_port
from tests.support.signup import LIST_SLUG, LiveServer, process

make_app = support.make_app


@pytest.fixture
def caught(make_app: support.AppFactory) -> Iterator[tuple[App, str]]:
    """A local run with the catcher transport and one caught confirmation email."""
    port = free_port()
    app = make_app(base_url=f"http://127.0.0.1:{port}")
    assert app.settings.transport == "catcher"
    with LiveServer(create_web_app(app), port=port) as server:
        response = httpx.post(server.url + "/subscribe",
                              data={"email": "maria.patient@example.com", "list": LIST_SLUG})
        assert response.status_code == 200
        process(app)  # what a worker's signup processor does
        drain(app)
        yield app, server.url


@pytest.mark.browser
@pytest.mark.parametrize(("width", "height"), [(1280, 900), (390, 844)])
def test_a_caught_message_shows_its_html_and_wraps_its_links(
    browser: Browser, caught: tuple[App, str], tmp_path: Path, width: int, height: int
) -> None:
    _app, url = caught
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    blocked: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "violates" in message.text:
            blocked.append(message.text)

    page.on("console", on_console)
    page.goto(url + "/caught")
    page.click("table.caught a")
    frame = page.frame_locator("main iframe")
    button = frame.get_by_text("Confirm my subscription")
    page.screenshot(path=str(screenshot_path(f"caught-message-{width}.png", tmp_path)),
                    full_page=True)
    text = page.locator("main pre")
    overflow = text.evaluate("e => e.scrollWidth - e.clientWidth")
    assert overflow <= 0, f"the text part runs {overflow}px off the card"
    button.wait_for(timeout=10_000)

    assert "/confirm/" in text.inner_text()
    card = page.locator("main").evaluate("e => e.scrollWidth - e.clientWidth")
    assert card <= 0
    assert blocked == []

    # The button opens the confirm page in a new tab (the frame itself stays sandboxed).
    with context.expect_page() as opened:
        button.click()
    confirm_page = opened.value
    confirm_page.wait_for_selector("#confirm")
    assert "/confirm/" in confirm_page.url
    context.close()


def test_the_frame_may_be_embedded_by_this_site_only(caught: tuple[App, str]) -> None:
    _app, url = caught
    listing = httpx.get(url + "/caught").text
    key = listing.split('href="/caught/', 1)[1].split('"', 1)[0]
    message_page = httpx.get(f"{url}/caught/{key}")
    frame = httpx.get(f"{url}/caught/{key}/html")
    assert "frame-src 'self'" in message_page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in message_page.headers["content-security-policy"]
    policy = frame.headers["content-security-policy"]
    assert "frame-ancestors 'self'" in policy
    assert policy.startswith("sandbox")
    assert "allow-scripts" not in policy
    assert "allow-same-origin" not in policy
    assert "script-src" not in policy
