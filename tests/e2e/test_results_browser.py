"""An issue's results after a real send, in real Chromium against `newsletter serve`.

Three issues of a series go to a loopback SMTP server over a day and a half
(the sending App runs on a manual clock, so deliveries land in different
hours); a reader's bounce comes back through the feedback intake, readers
leave through the unsubscribe service (one-click, the page, this series
only) and links are followed through the server's redirect. Then staff open
the issue's results and the series comparison and see the counts, the charts
and the tables beneath them. Screenshots on a desktop and on a phone.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from newsletter.app import App, create_app
from newsletter.audience.unsubscribe import Scope, unsubscribe
from newsletter.clock import ManualClock
from newsletter.delivery.sender import drain
from newsletter.feedback.intake import process_message
from newsletter.schedule.send_now import send_now
from tests.e2e.test_console_browser import CONTRAST_JS  # the console's contrast check
from tests.support.bounces import dsn
from tests.support.browser import screenshot_path
from tests.support.clicks import click_links, results_project
from tests.support.console import ConsoleServer, login_page
from tests.support.sending import PEOPLE, add_people
from tests.support.smtpd import ReceivedMessage, SMTPRecorder

VIEWER = "viewer@example.org"
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}
CLICKS_ON_ISSUE_1 = 5


def _html_of(message: ReceivedMessage) -> str:
    import email
    import email.policy

    parsed = email.message_from_bytes(message.data, policy=email.policy.default)
    part = parsed.get_body(preferencelist=("html",))  # type: ignore[attr-defined]
    assert part is not None
    return str(part.get_content())


def _unsubscribe_token(message: ReceivedMessage) -> str:
    for line in message.data.decode("ascii", "replace").splitlines():
        if line.startswith("List-Unsubscribe:"):
            return line.split("/unsubscribe/")[1].rstrip(">").strip()
    raise AssertionError("no List-Unsubscribe header")


def _send(app: App, relay: SMTPRecorder, clock: ManualClock, position: int,
          per_hour: int) -> dict[str, ReceivedMessage]:
    before = len(relay.messages)
    send_now(app, "care", position)
    while drain(app, limit=per_hour).attempted:
        clock.advance(timedelta(hours=1))
    return {m.rcpt_tos[0]: m for m in relay.messages[before:]}


def _follow(server: ConsoleServer, link: str, times: int) -> None:
    with httpx.Client(base_url=server.url, follow_redirects=False) as visitor:
        for _ in range(times):
            assert visitor.get(link.removeprefix(server.url)).status_code == 302


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ConsoleServer]:
    """Issues 1–3 of ``care`` sent over a day and a half, with readers leaving between them."""
    with SMTPRecorder() as relay, ConsoleServer(
            results_project(tmp_path / "project", "counts"),
            env={"NEWSLETTER_TRANSPORT": "smtp", "NEWSLETTER_SMTP_PORT": str(relay.port)},
    ) as running:
        running.add_staff(VIEWER, "viewer")
        clock = ManualClock(datetime.now(UTC).replace(microsecond=0) - timedelta(hours=40))
        app = create_app(running.settings, clock=clock)
        try:
            add_people(app)
            first = _send(app, relay, clock, 1, per_hour=2)
            assert len(first) == len(PEOPLE)
            reading, exercise = click_links(_html_of(first[PEOPLE[0]]))
            _follow(running, reading, 3)
            _follow(running, exercise, CLICKS_ON_ISSUE_1 - 3)
            bounced = first[PEOPLE[2]]
            process_message(app, dsn(to=bounced.mail_from, recipient=PEOPLE[2],
                                     original=bounced.data),
                            source="smtp", envelope_to=bounced.mail_from)
            unsubscribe(app, _unsubscribe_token(first[PEOPLE[5]]), Scope.LIST,
                        method="one-click")
            clock.advance(timedelta(hours=1))
            unsubscribe(app, _unsubscribe_token(first[PEOPLE[4]]), Scope.SERIES, method="page")
            clock.advance(timedelta(hours=18))
            second = _send(app, relay, clock, 2, per_hour=3)
            assert sorted(second) == sorted([PEOPLE[0], PEOPLE[1], PEOPLE[3]])
            _follow(running, click_links(_html_of(second[PEOPLE[0]]))[0], 1)
            clock.advance(timedelta(hours=2))
            unsubscribe(app, _unsubscribe_token(second[PEOPLE[3]]), Scope.LIST, method="page")
            clock.advance(timedelta(hours=10))
            third = _send(app, relay, clock, 3, per_hour=3)
            assert sorted(third) == sorted([PEOPLE[0], PEOPLE[1]])
        finally:
            app.close()
        yield running


@pytest.mark.browser
def test_staff_see_an_issues_counts_its_chart_and_where_in_the_series_people_leave(
    server: ConsoleServer, browser: Browser, tmp_path: Path
) -> None:
    for size, (width, height) in sorted(SIZES.items()):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        login_page(page, server.url, VIEWER)
        page.goto(server.url + "/admin/sends/care/1")
        page.get_by_role("link", name="Results: bounces, complaints, unsubscribes").click()
        expect(page.locator("h1")).to_contain_text("care #1")
        tiles = {"delivered": len(PEOPLE), "bounced": 1, "unsubscribed": 2,
                 "clicks": CLICKS_ON_ISSUE_1, "complained": 0}
        for name, value in tiles.items():
            expect(page.locator(f'[data-result="{name}"] strong')).to_have_text(str(value))
        chart = page.locator("svg#timeline-chart")
        expect(chart).to_be_visible()
        expect(chart.locator("title").first).to_have_text("care #1 per hour")
        assert "6 delivered, 1 bounced, 2 unsubscribed" in str(
            chart.locator("desc").text_content())
        expect(page.locator('#methods-table [data-method="one-click"] td.num')).to_have_text("1")
        expect(page.locator('#methods-table [data-method="series"] td.num')).to_have_text("1")
        expect(page.locator('#links-table [data-link="1"] td[data-col="clicks"]')).to_have_text("3")
        page.get_by_text("The numbers per hour").click()
        expect(page.locator("#timeline-table tbody tr").first).to_be_visible()
        _check_and_shoot(page, f"console-results-{size}.png", size, tmp_path)

        page.get_by_role("link", name="care", exact=True).click()
        expect(page.locator("h1")).to_contain_text("Pain care: issue by issue")
        expect(page.locator("svg#series-chart")).to_be_visible()
        unsubscribed = page.locator('#series-table td[data-col="unsubscribed"]')
        expect(unsubscribed).to_have_text(["2", "1", "0"])
        expect(page.locator('#series-table td[data-col="clicks"]')).to_have_text(
            [str(CLICKS_ON_ISSUE_1), "1", "0"])
        _check_and_shoot(page, f"console-series-comparison-{size}.png", size, tmp_path)
        context.close()


def _check_and_shoot(page: object, name: str, size: str, tmp_path: Path) -> None:
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{name} runs {overflow}px wider than the {size} screen"
    low = [(text, round(ratio, 2)) for text, ratio in page.evaluate(CONTRAST_JS) if ratio < 4.5]
    assert low == [], f"{name}: text below 4.5:1: {low}"
    page.screenshot(path=str(screenshot_path(name, tmp_path)), full_page=True)
