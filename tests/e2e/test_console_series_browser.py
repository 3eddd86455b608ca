"""Series and issues in the console, in real Chromium against a real server process.

An editor pastes an article, merges two proposed issues and splits one between
two paragraphs, accepts, and finds the files; edits an issue and watches the
preview change as they type; a viewer sees the same pages and cannot change
them. Screenshots for docs/console.md are taken on the way.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from newsletter.content.issuefile import read_series
from tests.e2e.test_console_browser import CONTRAST_JS
from tests.support import project as builder
from tests.support.browser import screenshot_path
from tests.support.console import ConsoleServer, console_project, login_page

pytestmark = pytest.mark.browser
EDITOR = "ed@clinic.example"
VIEWER = "vi@clinic.example"
ARTICLE = """\
# Living well with back pain

Share this article: Facebook · X · Email

Back pain is common, and most of it gets better. This short series explains what helps.

## Why backs hurt

Most back pain comes from muscles and joints, not from damage. Scans rarely show the cause.

Stress and poor sleep turn the volume up. That is real pain, not imagined pain.

## Moving again

Gentle movement is the best medicine. Walk a little every day.

Add a little more each week, even on days that feel stiff.

## Sleep

A regular bedtime helps the body recover. Keep the bedroom cool and dark.

## When to call us

Call the clinic if the pain spreads down a leg, or if numbness appears.

## Related posts

- [Ten myths about sciatica](/blog/sciatica-myths)
- [Our physiotherapy team](/team)
"""
PHONE: ViewportSize = {"width": 375, "height": 812}
DESKTOP: ViewportSize = {"width": 1600, "height": 1000}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleServer]:
    root = console_project(tmp_path_factory.mktemp("console") / "project")
    builder.write_series(root, "pacing", "Pacing", [
        builder.IssueSpec("Start small", "Start small", "Why less is more",
                          "Do a little, then rest.\n\nThen do a little more."),
        builder.IssueSpec("Build up", "Build up", "Adding a little", "Add five minutes."),
    ], time_zone="Europe/Berlin")
    builder.write_series(root, "first-steps", "First steps after a diagnosis", [
        builder.IssueSpec("Welcome", "Welcome", "", "What to expect."),
    ], mode="drip", cadence_days=7, send_time="09:00", send_weekdays=["tue"])
    with ConsoleServer(root) as running:
        running.add_staff(EDITOR, "editor")
        running.add_staff(VIEWER, "viewer")
        scheduled = running.cli().run("schedule", "pacing", "2", "--at", "2027-01-12 09:00")
        assert scheduled.exit_code == 0, scheduled.output
        yield running


def watched(browser: Browser) -> tuple[Page, list[str]]:
    """A desktop page and the errors its console logs (a CSP violation is one)."""
    page = browser.new_page(viewport=DESKTOP)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page, errors


def shoot(page: Page, name: str, scratch: Path) -> None:
    """Desktop and phone screenshots of the page as it is now (docs/screenshots/ when asked)."""
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        # The whole page in the viewport: Chromium paints the preview frames (other
        # processes) only there, so a full-page capture would show them empty.
        height = page.evaluate("document.documentElement.scrollHeight")
        page.set_viewport_size({"width": size["width"], "height": height})
        page.wait_for_timeout(300)  # let the frames repaint at the new size
        page.screenshot(path=str(screenshot_path(f"console-{name}-{label}.png", scratch)))
    page.set_viewport_size(DESKTOP)


def fits(page: Page) -> None:
    """Nothing on the page is wider than a 375px phone."""
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.set_viewport_size(DESKTOP)


def test_an_editor_imports_a_pasted_article_merges_and_splits_then_accepts(
    browser: Browser, server: ConsoleServer, tmp_path: Path,
) -> None:
    page, errors = watched(browser)
    try:
        login_page(page, server.url, EDITOR)
        page.get_by_role("link", name="Series", exact=True).click()
        expect(page.get_by_role("heading", name="Series", exact=True)).to_be_visible()
        page.get_by_role("link", name="Import an article").click()
        page.get_by_label("Series name for the web address").fill("back-pain")
        page.get_by_label("Paste the article").fill(ARTICLE)
        page.get_by_role("button", name="Show the proposed split").click()

        heading = page.get_by_role("heading", level=1)
        expect(heading).to_have_text("Living well with back pain: 4 issues")
        expect(page.get_by_text("Nothing has been written yet.")).to_be_visible()
        dropped = page.locator(".dropped li")
        expect(dropped.filter(has_text="Share this article")).to_have_count(1)
        expect(dropped.filter(has_text="Related posts")).to_have_count(1)
        assert not (server.root / "issues" / "back-pain").exists()
        subjects = page.locator(".subject")
        expect(subjects.first).to_contain_text("part 1 of 4")

        page.get_by_role("button", name="Merge issues 3 and 4").click()
        expect(heading).to_have_text("Living well with back pain: 3 issues")
        assert page.url.endswith("/admin/import/adjust#issue-3")  # back where staff were
        page.get_by_role("button",
                         name="Start a new issue here: Add a little more each week").click()
        expect(heading).to_have_text("Living well with back pain: 4 issues")
        expect(page.get_by_role("heading", name="Issue 3: Moving again (continued)")
               ).to_be_visible()
        shoot(page, "import", tmp_path)
        fits(page)

        page.get_by_role("button", name="Accept and write 4 issues").click()
        expect(page.get_by_text("Imported pasted-article")).to_be_visible()
        series = read_series(server.root / "issues" / "back-pain")
        assert [d.title for d in series.issues] == [
            "Why backs hurt", "Moving again", "Moving again (continued)", "Sleep"]
        assert "## When to call us" in series.issue(4).body
        assert series.issue(3).body.startswith("Add a little more each week")
        for issue in series.issues:
            expect(page.get_by_role("link", name=issue.title, exact=True)).to_be_visible()
        assert errors == []
    finally:
        page.close()


def test_an_editor_types_and_the_preview_follows_then_saves(
    browser: Browser, server: ConsoleServer, tmp_path: Path,
) -> None:
    page, errors = watched(browser)
    try:
        login_page(page, server.url, EDITOR)
        page.goto(server.url + "/admin/series")
        expect(page.get_by_role("cell", name="Europe/Berlin", exact=True)).to_be_visible()
        next_send = page.get_by_role("cell", name="Tue 12 Jan 2027, 09:00 Europe/Berlin")
        expect(next_send).to_contain_text("issue 2, broadcast")
        expect(page.get_by_role("cell", name="when someone subscribes")).to_be_visible()
        shoot(page, "series", tmp_path)
        fits(page)
        page.get_by_role("link", name="Pacing").click()
        page.get_by_role("link", name="Start small").click()
        desktop = page.frame_locator("iframe[title='Desktop preview']")
        phone = page.frame_locator("iframe[title='Phone preview']")
        expect(desktop.get_by_text("Do a little, then rest.")).to_be_visible()
        expect(phone.get_by_text("Do a little, then rest.")).to_be_visible()

        # htmx sends the draft as staff type; the frames and the text part follow, unsaved.
        page.get_by_label("Text (Markdown)").fill("Rest **before** you are tired.")
        expect(desktop.get_by_text("before", exact=True)).to_be_visible()
        expect(phone.get_by_text("before", exact=True)).to_be_visible()
        expect(page.locator("#preview-text")).to_contain_text("Rest before you are tired.")
        page.locator("#subject").fill("Start small: rest first")
        expect(page.locator("#preview-subject")).to_have_text(
            "Start small: rest first (part 1 of 2)")
        assert "Rest" not in (server.root / "issues" / "pacing" / "01-part-1.md").read_text()
        shoot(page, "editor", tmp_path)
        fits(page)

        page.get_by_role("button", name="Save").click()
        expect(page.get_by_text("Saved issue 1")).to_be_visible()
        saved = read_series(server.root / "issues" / "pacing").issue(1)
        assert (saved.subject, saved.body) == ("Start small: rest first",
                                               "Rest **before** you are tired.\n")
        assert errors == []  # no CSP violation: not in the page, not in the preview frames
    finally:
        page.close()


def test_the_preview_button_works_without_javascript(
    browser: Browser, server: ConsoleServer,
) -> None:
    context = browser.new_context(java_script_enabled=False, viewport=DESKTOP)
    page = context.new_page()
    try:
        login_page(page, server.url, EDITOR)
        page.goto(server.url + "/admin/series/pacing/issues/2")
        page.get_by_label("Text (Markdown)").fill("Add ten minutes, not five.")
        page.get_by_role("button", name="Preview").click()
        frame = page.frame_locator("iframe[title='Desktop preview']")
        expect(frame.get_by_text("Add ten minutes, not five.")).to_be_visible()
        assert "ten minutes" not in (server.root / "issues" / "pacing" / "02-part-2.md").read_text()
    finally:
        context.close()


def test_a_viewer_sees_the_issue_and_its_preview_but_cannot_edit(
    browser: Browser, server: ConsoleServer,
) -> None:
    page = browser.new_page(viewport=DESKTOP)
    try:
        login_page(page, server.url, VIEWER)
        page.goto(server.url + "/admin/series")
        expect(page.get_by_role("link", name="Import an article")).to_have_count(0)
        page.get_by_role("link", name="Pacing").click()
        expect(page.get_by_role("button", name="Move issue 2 up")).to_have_count(0)
        page.get_by_role("link", name="Build up").click()
        expect(page.locator("#title")).to_be_disabled()
        expect(page.get_by_role("button", name="Save")).to_have_count(0)
        expect(page.frame_locator("iframe[title='Phone preview']").get_by_text(
            "minutes", exact=False).first).to_be_visible()
        page.goto(server.url + "/admin/import")
        expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    finally:
        page.close()


def test_every_text_on_the_series_pages_has_a_contrast_of_at_least_4_5(
    browser: Browser, server: ConsoleServer,
) -> None:
    page, errors = watched(browser)
    try:
        login_page(page, server.url, EDITOR)
        checked: list[tuple[str, float]] = []
        for path in ("/admin/series", "/admin/series/pacing", "/admin/series/pacing/issues/1",
                     "/admin/series/pacing/issues/2/delete", "/admin/import"):
            page.goto(server.url + path)
            checked += page.evaluate(CONTRAST_JS)
        page.get_by_label("Series name for the web address").fill("contrast")
        page.get_by_label("Paste the article").fill(ARTICLE)
        page.get_by_role("button", name="Show the proposed split").click()
        expect(page.get_by_text("Nothing has been written yet.")).to_be_visible()
        checked += page.evaluate(CONTRAST_JS)
        page.goto(server.url + "/admin/series/pacing/issues/1")
        page.locator("#extra").fill("note: Pain: what it is")
        expect(page.locator(".bad-line")).to_be_visible()
        checked += page.evaluate(CONTRAST_JS)
        assert len(checked) > 100
        low = [(text, round(ratio, 2)) for text, ratio in checked if ratio < 4.5]
        assert low == [], f"text below 4.5:1: {low}"
        assert errors == []
    finally:
        page.close()
