"""The unsubscribe page shows whose address leaves and offers an undo for a while (item 16).

The page names the address (masked), has "this series" chosen for a link from
an issue, and after the button offers "Resubscribe" for a few minutes: a POST
bound to the link's token and to that very unsubscribe (no cookie, no CSRF
token, nothing on GET). The RFC 8058 one-click POST still unsubscribes at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser
from sqlalchemy import func, select

from newsletter.app import App, create_app
from newsletter.clock import ManualClock
from newsletter.config import load_settings
from newsletter.db.engine import write_transaction
from newsletter.db.models import SeriesOptOut, Subscription
from newsletter.delivery.outbox import fan_out
from newsletter.delivery.sender import drain
from newsletter.web.app import create_web_app
from tests.support.audience import address, seed
from tests.support.net import free_port
from tests.support.signup import LiveServer
from tests.support.smtpd import SMTPRecorder


@pytest.fixture
def served(project: Path, database_url: str, clock: ManualClock) -> Iterator[tuple[App, str]]:
    """Two readers got issue 1; the List-Unsubscribe link of reader 0, on a live server."""
    port = free_port()
    with SMTPRecorder() as server:
        settings = load_settings(project, environ={}, overrides={
            "database_url": database_url, "transport": "smtp", "smtp_port": server.port,
            "secret_keys": ["k"], "base_url": f"http://127.0.0.1:{port}"})
        app = create_app(settings, clock=clock)
        try:
            seeded = seed(app, project, 2)
            with write_transaction(app.sessions) as session:
                fan_out(session, seeded.issue_id, seeded.list_id, clock.now())
            drain(app)
            message = next(m.message for m in server.messages if m.rcpt_tos == [address(0)])
            link = str(message["List-Unsubscribe"])[1:-1]
            with LiveServer(create_web_app(app), port=port):
                yield app, link
        finally:
            app.close()


def _statuses(app: App) -> list[str]:
    with app.sessions() as session:
        return sorted(session.scalars(select(Subscription.status)))


def _opt_outs(app: App) -> int:
    with app.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(SeriesOptOut)) or 0)


@pytest.mark.browser
def test_the_page_shows_the_masked_address_and_leaving_can_be_undone_with_a_button(
        served: tuple[App, str], browser: Browser) -> None:
    app, link = served
    page = browser.new_page()
    try:
        page.goto(link)
        shown = page.locator("#leaving").inner_text()
        assert "r•••0@example.org" in shown  # reader000000@example.org, masked
        assert address(0) not in page.content()
        assert page.locator('input[value="series"]').is_checked()  # what the link was for
        page.click("#unsubscribe")
        page.wait_for_selector("text=You are unsubscribed")
        assert _opt_outs(app) == 1
        assert page.get_by_role("button", name="Resubscribe").is_visible()
        page.get_by_role("button", name="Resubscribe").click()
        page.wait_for_selector("text=You are subscribed again")
    finally:
        page.close()
    assert _opt_outs(app) == 0
    assert _statuses(app) == ["active", "active"]


def test_the_undo_is_a_post_bound_to_its_link_and_lasts_only_a_few_minutes(
        served: tuple[App, str], clock: ManualClock) -> None:
    app, link = served
    with httpx.Client(timeout=10) as client:
        left = client.post(link, data={"scope": "series"})
        assert left.status_code == 200
        assert _opt_outs(app) == 1
        undo = left.text.split('name="undo" value="', 1)[1].split('"', 1)[0]
        assert client.get(link + "/undo", params={"undo": undo}).status_code == 405
        assert _opt_outs(app) == 1
        other = link[:-1] + ("A" if link[-1] != "A" else "B")  # another (broken) link
        assert client.post(other + "/undo", data={"undo": undo}).status_code == 400
        assert client.post(link + "/undo", data={"undo": undo[:-2]}).status_code == 400
        assert _opt_outs(app) == 1
        clock.advance(timedelta(minutes=11))
        late = client.post(link + "/undo", data={"undo": undo})
        assert late.status_code == 400
        assert _opt_outs(app) == 1
        again = client.post(link, data={"scope": "list"})  # a new unsubscribe: a new button
        fresh = again.text.split('name="undo" value="', 1)[1].split('"', 1)[0]
        assert _statuses(app) == ["active", "unsubscribed"]
        back = client.post(link + "/undo", data={"undo": fresh})
    assert back.status_code == 200
    assert "You are subscribed again" in back.text
    assert _statuses(app) == ["active", "active"]
    assert _opt_outs(app) == 1  # the series left earlier stays left: its undo ran out


def test_one_click_still_unsubscribes_at_once(served: tuple[App, str]) -> None:
    app, link = served
    response = httpx.post(link, data={"List-Unsubscribe": "One-Click"}, timeout=10)
    assert response.status_code == 200
    assert response.text == "You are unsubscribed.\n"
    assert _statuses(app) == ["active", "unsubscribed"]
