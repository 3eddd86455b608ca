"""A rendered issue in real Chromium: fits a phone, shows its footer, hides its preheader."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from newsletter.content.issuefile import read_series
from newsletter.render import PersonalFields, Renderer
from tests.support.series import render_settings

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def issue_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Issue 2 of the sample series (it has previous and next links), as Ada receives it."""
    settings = render_settings(REPO)
    series = read_series(REPO / "issues" / "pain-care")
    rendered = Renderer(settings).compile_issue(series, 2).personalize(
        PersonalFields("ada@example.com", "Ada", "https://news.example.org/unsubscribe/tok")
    )
    path = tmp_path_factory.mktemp("email") / "issue.html"
    path.write_text(rendered.html, encoding="utf-8")
    return path


def _open(browser: Browser, path: Path, width: int) -> Page:
    page = browser.new_page(viewport={"width": width, "height": 800})
    # Nothing in an email may reach out to the network (remote fonts, trackers).
    page.route("**/*", lambda route: route.abort()
               if not route.request.url.startswith("file://") else route.continue_())
    page.goto(path.as_uri())
    return page


def test_on_a_375px_phone_nothing_overflows_and_the_footer_links_are_visible(
    browser: Browser, issue_file: Path, tmp_path: Path
) -> None:
    page = _open(browser, issue_file, 375)
    try:
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        for name in ("Unsubscribe", "View in your browser", "What Is Chronic Pain?"):
            link = page.get_by_role("link", name=name, exact=True)
            assert link.is_visible(), name
        unsubscribe = page.get_by_role("link", name="Unsubscribe", exact=True)
        assert unsubscribe.get_attribute("href") == "https://news.example.org/unsubscribe/tok"
        assert page.get_by_text("Riverside Pain Clinic, 12 Harbour Road").is_visible()
        body_size = page.evaluate(
            "parseFloat(getComputedStyle(document.querySelector('.body-text div')).fontSize)"
        )
        assert body_size >= 16
        shot = tmp_path / "mobile.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
    finally:
        page.close()


def test_the_preheader_is_in_the_document_but_not_visible(
    browser: Browser, issue_file: Path
) -> None:
    preheader = read_series(REPO / "issues" / "pain-care").issue(2).preheader
    page = _open(browser, issue_file, 375)
    try:
        hidden = page.get_by_text(preheader, exact=True)
        assert hidden.count() == 1
        assert not hidden.is_visible()
    finally:
        page.close()


def test_on_an_800px_screen_the_message_is_a_centred_600px_card_with_side_by_side_links(
    browser: Browser, issue_file: Path
) -> None:
    page = _open(browser, issue_file, 800)
    try:
        title = page.get_by_text("What Causes It?", exact=True)
        box = title.bounding_box()
        assert box is not None
        assert 100 <= box["x"] <= 140  # inside the 600px card that starts at x=100
        previous = page.get_by_role("link", name="What Is Chronic Pain?", exact=True)
        following = page.get_by_role("link", name="Nerve Blocks", exact=True)
        left, right = previous.bounding_box(), following.bounding_box()
        assert left is not None
        assert right is not None
        assert abs(left["y"] - right["y"]) < 5  # one row on desktop
        assert right["x"] > left["x"] + 200
        assert page.evaluate("document.documentElement.scrollWidth") <= 800
    finally:
        page.close()
