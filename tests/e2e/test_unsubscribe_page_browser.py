"""The unsubscribe page in real Chromium: a scanner's GET changes nothing; the button does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from sqlalchemy import select

from newsletter.app import App, create_app
from newsletter.clock import ManualClock
from newsletter.config import load_settings
from newsletter.db.engine import write_transaction
from newsletter.db.models import Subscription
from newsletter.delivery.outbox import fan_out
from newsletter.delivery.sender import drain
from newsletter.web.app import create_web_app
from tests.support.audience import address, seed
from tests.support.net import free_port
from tests.support.signup import LiveServer
from tests.support.smtpd import SMTPRecorder


@pytest.fixture
def setup(project: Path, database_url: str, clock: ManualClock) -> Iterator[tuple[App, str]]:
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


@pytest.mark.browser
def test_choosing_everything_and_pressing_the_button_unsubscribes_from_every_list(
        setup: tuple[App, str], browser: Browser) -> None:
    app, link = setup
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(link)
        assert page.locator("h1").inner_text() == "Unsubscribe"
        with app.sessions() as session:
            assert set(session.scalars(select(Subscription.status))) == {"active"}
        page.check('input[value="everything"]')
        page.click("#unsubscribe")
        page.wait_for_selector("text=You are unsubscribed")
        assert "no more email from us on any list" in page.content()
        assert page.url == link  # answered in place, no redirect
    finally:
        context.close()
    with app.sessions() as session:
        statuses = dict(session.execute(select(Subscription.subscriber_id,
                                               Subscription.status)).all())
    assert sorted(statuses.values()) == ["active", "unsubscribed"]
