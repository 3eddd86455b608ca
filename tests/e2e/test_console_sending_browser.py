"""Test sends, scheduling and sends in the console, in real Chromium against `newsletter serve`.

Issue 9: send a test and find it in the mail catcher; schedule a broadcast
and see it on the calendar; send an issue now and watch the counts reach
"sent" while a real `newsletter worker` process sends (the page polls with
htmx, no reload); resume a paused send. Screenshots of the calendar, the
schedule page and a send, on a desktop and on a phone.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, expect
from sqlalchemy import select, update

from newsletter.db.models import Delivery, Issue, SendPause, Series
from newsletter.delivery.sender import drain
from newsletter.schedule import broadcasts_admin
from newsletter.schedule.agenda import agenda
from newsletter.schedule.send_now import send_now
from newsletter.schedule.tick import run_due
from tests.support.browser import screenshot_path
from tests.support.console import ConsoleServer, login_page
from tests.support.sending import PEOPLE, Worker, add_people, sending_project

OWNER, EDITOR = "owner@example.org", "editor@example.org"
VIEWER_ZONE = "America/New_York"
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}
WAIT = 30_000  # ms: a real worker process and htmx polling every 2 s


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ConsoleServer]:
    with ConsoleServer(sending_project(tmp_path / "project")) as running:
        running.add_staff(OWNER, "owner")
        running.add_staff(EDITOR, "editor")
        with running.app() as app:
            add_people(app)
        yield running


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    made = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id=VIEWER_ZONE)
    yield made
    made.close()


def later(days: int) -> datetime:
    return datetime.now(UTC) + timedelta(days=days)


@pytest.mark.browser
def test_an_editor_sends_a_test_and_finds_it_in_the_mail_catcher(
    server: ConsoleServer, context: BrowserContext
) -> None:
    page = context.new_page()
    login_page(page, server.url, EDITOR)
    page.goto(server.url + "/admin/sends/care/1")
    expect(page.get_by_label("Send to")).to_have_value(EDITOR)
    page.get_by_role("button", name="Send me a test").click()
    expect(page.locator(".flash-ok")).to_contain_text(f"Test sent to {EDITOR}")
    expect(page.locator('[data-state="sent"] strong')).to_have_text("0")  # the list got nothing

    page.goto(server.url + "/caught")
    caught = page.locator("table.caught a").filter(has_text="[TEST]")
    expect(caught).to_have_count(1)
    caught.click()
    expect(page.locator("main")).to_contain_text(EDITOR)


@pytest.mark.browser
def test_an_editor_schedules_a_broadcast_and_sees_it_on_the_calendar(
    server: ConsoleServer, context: BrowserContext
) -> None:
    day = later(5)
    page = context.new_page()
    login_page(page, server.url, EDITOR)
    page.goto(server.url + "/admin/series/care/schedule")
    # The browser's zone reached the page (viewer-zone.js), so times show in it too.
    expect(page.locator("main")).to_contain_text(f"in yours ({VIEWER_ZONE})")
    page.locator("#at-2").fill(f"{day:%Y-%m-%d}T08:00")
    page.locator("#tz-2").fill("Europe/Berlin")
    page.locator("#issue-2").get_by_role("button", name="Schedule").click()
    expect(page.locator(".flash-ok")).to_contain_text(f"care #2 scheduled for {day:%Y-%m-%d} 08:00")
    expect(page.locator("#issue-2")).to_contain_text("scheduled")

    page.get_by_role("link", name="Calendar", exact=True).click()
    entry = page.locator(".send-broadcast").filter(has_text="Part 2")
    expect(entry).to_contain_text(f"{day:%a %Y-%m-%d} 08:00 CET")
    expect(entry).to_contain_text(f"{day:%a %Y-%m-%d} 02:00 EST")
    expect(entry).to_contain_text(f"to {len(PEOPLE)} people")


@pytest.mark.browser
def test_an_owner_sends_now_and_watches_the_counts_reach_sent_without_reloading(
    server: ConsoleServer, context: BrowserContext
) -> None:
    page = context.new_page()
    login_page(page, server.url, OWNER)
    page.goto(server.url + "/admin/sends/care/1")
    page.get_by_role("link", name="Send now to the list…").click()
    expect(page.locator("#audience-count")).to_contain_text(f"{len(PEOPLE)} people")
    page.get_by_label(f"Yes, send it to these {len(PEOPLE)} people now").check()
    page.get_by_role("button", name=f"Send to {len(PEOPLE)} people").click()
    expect(page.locator(".flash-ok")).to_contain_text(f"Queued care #1 for {len(PEOPLE)} people")
    expect(page.locator('[data-state="queued"] strong')).to_have_text(str(len(PEOPLE)))
    page.evaluate("window.stillTheSamePage = true")
    with Worker(server) as worker:
        expect(page.locator('[data-state="sent"] strong')).to_have_text(
            str(len(PEOPLE)), timeout=WAIT)
        assert "Traceback" not in worker.log()
    expect(page.locator('[data-state="queued"] strong')).to_have_text("0")
    expect(page.locator(".status-line")).to_contain_text("finished")
    assert page.evaluate("window.stillTheSamePage") is True  # htmx updated it in place


@pytest.mark.browser
def test_an_editor_resumes_a_paused_send_and_it_goes_out(
    server: ConsoleServer, context: BrowserContext
) -> None:
    reason = "550 5.7.1 refused by the relay's content policy"
    with server.app() as app:
        send_now(app, "care", 1)
        with app.sessions.begin() as session:
            issue_id = session.scalar(select(Issue.id).join(Series).where(
                Series.slug == "care", Issue.position == 1))
            session.add(SendPause(issue_id=issue_id, reason=reason, created_at=app.clock.now()))
    page = context.new_page()
    login_page(page, server.url, EDITOR)
    with Worker(server):
        page.goto(server.url + "/admin/sends/care/1")
        pause = page.locator(".pause")
        expect(pause).to_contain_text("This issue's sending is paused")
        expect(pause).to_contain_text(reason)
        expect(page.locator('[data-state="queued"] strong')).to_have_text(str(len(PEOPLE)))
        pause.get_by_role("button", name="Resume").click()
        expect(page.locator(".flash-ok")).to_contain_text("Sending resumed")
        expect(page.locator(".pause")).to_have_count(0)
        expect(page.locator('[data-state="sent"] strong')).to_have_text(
            str(len(PEOPLE)), timeout=WAIT)
    expect(page.get_by_role("heading", name="Earlier pauses")).to_be_visible()


def _busy_console(server: ConsoleServer) -> None:
    """A calendar with a clash, a drip, a broadcast; a finished send with two failures."""
    with server.app() as app:
        run_due(app, app.clock.now(), drain=False)
        drip_day = agenda(app).lists[0].days[-1].day
        broadcasts_admin.schedule_issue(app, "care", 2, f"{drip_day:%Y-%m-%d} 08:00")
        evening = drip_day + timedelta(days=1)
        broadcasts_admin.schedule_issue(app, "care", 3, f"{evening:%Y-%m-%d} 17:30")
        send_now(app, "care", 1)
        drain(app)
        with app.sessions.begin() as session:
            session.execute(update(Delivery).where(Delivery.id.in_(select(Delivery.id).where(
                Delivery.issue_id.is_not(None)).limit(2))).values(
                status="failed", last_error="550 5.1.1 mailbox unknown"))


@pytest.mark.browser
@pytest.mark.parametrize("size", sorted(SIZES))
def test_screenshots_of_the_calendar_the_schedule_page_and_a_send(
    server: ConsoleServer, browser: Browser, tmp_path: Path, size: str
) -> None:
    _busy_console(server)
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height},
                                  timezone_id=VIEWER_ZONE)
    page = context.new_page()
    login_page(page, server.url, OWNER)
    signup = f"{later(1):%Y-%m-%d}T14:00"
    shots: list[tuple[str, str, str]] = [
        ("calendar", "/admin/calendar", ".warning"),
        ("schedule", f"/admin/series/sleep/schedule?signup={signup}&signup_tz={VIEWER_ZONE}",
         "table.preview"),
        ("send", "/admin/sends/care/1", "table.reasons"),
    ]
    for name, path, wait_for in shots:
        page.goto(server.url + path)
        expect(page.locator(wait_for).first).to_be_visible()
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} runs {overflow}px wider than the {size} screen"
        page.screenshot(path=str(screenshot_path(f"console-{name}-{size}.png", tmp_path)),
                        full_page=True)
    context.close()
