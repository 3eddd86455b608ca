"""One-click unsubscribe (RFC 8058) with curl against a real uvicorn server, then a real send."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from newsletter.app import App, create_app
from newsletter.clock import ManualClock
from newsletter.config import load_settings
from newsletter.db.engine import write_transaction
from newsletter.db.models import ConsentRecord, Issue, SeriesOptOut, Subscription
from newsletter.delivery.outbox import fan_out
from newsletter.delivery.sender import drain
from newsletter.web.app import create_web_app
from tests.support.audience import Seeded, address, counts, seed
from tests.support.net import free_port
from tests.support.signup import LiveServer
from tests.support.smtpd import SMTPRecorder

AUDIENCE = 4


@pytest.fixture
def server() -> Iterator[SMTPRecorder]:
    with SMTPRecorder() as recorder:
        yield recorder


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def mail_app(project: Path, database_url: str, clock: ManualClock, server: SMTPRecorder,
             port: int) -> Iterator[App]:
    settings = load_settings(project, environ={}, overrides={
        "database_url": database_url, "transport": "smtp", "smtp_port": server.port,
        "secret_keys": ["test-secret"], "base_url": f"http://127.0.0.1:{port}",
    })
    application = create_app(settings, clock=clock)
    yield application
    application.close()


@pytest.fixture
def sent(mail_app: App, project: Path, server: SMTPRecorder) -> Seeded:
    """Issue 1 went out to everyone; issue 2 is queued (not yet sent)."""
    seeded = seed(mail_app, project, AUDIENCE)
    with write_transaction(mail_app.sessions) as session:
        fan_out(session, seeded.issue_id, seeded.list_id, mail_app.clock.now())
    drain(mail_app)
    server.wait_for(AUDIENCE)
    return seeded


@pytest.fixture
def live(mail_app: App, port: int) -> Iterator[LiveServer]:
    with LiveServer(create_web_app(mail_app), port=port) as running:
        yield running


def link_for(server: SMTPRecorder, n: int) -> str:
    message = next(m for m in server.messages if m.rcpt_tos == [address(n)]).message
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    header = str(message["List-Unsubscribe"])
    assert header.startswith("<")
    assert header.endswith(">")
    return header[1:-1]


def queue_issue_two(app: App, seeded: Seeded, expected: int = AUDIENCE) -> int:
    with write_transaction(app.sessions) as session:
        issue_two = session.scalar(select(Issue.id).where(
            Issue.series_id == seeded.series_id, Issue.position == 2))
        assert issue_two is not None
        assert fan_out(session, issue_two, seeded.list_id, app.clock.now()) == expected
    return issue_two


def curl(*args: str) -> tuple[str, str]:
    """Run curl; returns (status code and redirect, body)."""
    done = subprocess.run(["curl", "-s", "-w", "\n%{http_code} %{redirect_url}", *args],
                          capture_output=True, text=True, check=True, timeout=30)
    body, _, status = done.stdout.rpartition("\n")
    return status.strip(), body.strip()


@pytest.mark.parametrize("encoding", [["-X", "POST", "-d", "List-Unsubscribe=One-Click"],
                                      ["-F", "List-Unsubscribe=One-Click"]],
                         ids=["form-urlencoded", "multipart"])
def test_curl_one_click_unsubscribes_and_queued_mail_is_not_sent(
        mail_app: App, sent: Seeded, live: LiveServer, server: SMTPRecorder,
        encoding: list[str]) -> None:
    issue_two = queue_issue_two(mail_app, sent)  # queued before the unsubscribe
    status, body = curl(*encoding, link_for(server, 1))
    assert status == "200"  # no redirect URL follows the code
    assert body == "You are unsubscribed."
    before = len(server.messages)
    drain(mail_app)
    fresh = server.messages[before:]
    assert address(1) not in [r for m in fresh for r in m.rcpt_tos]
    assert len(fresh) == AUDIENCE - 1
    assert counts(mail_app, issue_two) == {"sent": AUDIENCE - 1, "suppressed": 1}


def test_one_click_is_idempotent_and_records_one_withdrawal(
        mail_app: App, sent: Seeded, live: LiveServer, server: SMTPRecorder) -> None:
    url = link_for(server, 0)
    for _ in range(2):
        status, body = curl("-X", "POST", "-d", "List-Unsubscribe=One-Click", url)
        assert (status, body) == ("200", "You are unsubscribed.")
    with mail_app.sessions() as session:
        assert session.scalar(select(func.count()).select_from(ConsentRecord).where(
            ConsentRecord.event == "withdrawn")) == 1
        assert session.scalar(select(Subscription.unsubscribe_method).where(
            Subscription.subscriber_id == sent.subscriber_ids[0])) == "one-click"


def test_get_shows_a_choice_and_changes_nothing(
        mail_app: App, sent: Seeded, live: LiveServer, server: SMTPRecorder) -> None:
    response = httpx.get(link_for(server, 2))
    assert response.status_code == 200
    for choice in ('value="series"', 'value="list"', 'value="everything"', "<form method=\"post\""):
        assert choice in response.text
    with mail_app.sessions() as session:
        assert set(session.scalars(select(Subscription.status))) == {"active"}


def test_the_page_form_can_leave_only_the_series(
        mail_app: App, sent: Seeded, live: LiveServer, server: SMTPRecorder) -> None:
    response = httpx.post(link_for(server, 3), data={"scope": "series"})
    assert response.status_code == 200
    assert "no more issues" in response.text
    with mail_app.sessions() as session:  # leaving the series keeps the list
        assert session.scalar(select(Subscription.status).where(
            Subscription.subscriber_id == sent.subscriber_ids[3])) == "active"
    issue_two = queue_issue_two(mail_app, sent, expected=AUDIENCE - 1)  # not even queued
    drain(mail_app)
    assert counts(mail_app, issue_two) == {"sent": AUDIENCE - 1}
    with mail_app.sessions() as session:
        assert session.scalar(select(SeriesOptOut.subscriber_id)) == sent.subscriber_ids[3]
        assert session.scalar(select(Subscription.status).where(
            Subscription.subscriber_id == sent.subscriber_ids[3])) == "active"


@pytest.mark.parametrize("mangle", [lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
                                    lambda t: t[: len(t) // 2], lambda t: "nonsense"],
                         ids=["flipped", "truncated", "garbage"])
def test_a_bad_token_gets_a_friendly_page_and_changes_nothing(
        mail_app: App, sent: Seeded, live: LiveServer, server: SMTPRecorder,
        mangle: object) -> None:
    url = link_for(server, 0)
    base, _, token = url.rpartition("/")
    bad = f"{base}/{mangle(token)}"  # type: ignore[operator]
    for response in (httpx.get(bad), httpx.post(bad, data={"List-Unsubscribe": "One-Click"})):
        assert response.status_code in (400, 404)
        assert "<html" in response.text.lower()
    with mail_app.sessions() as session:
        assert set(session.scalars(select(Subscription.status))) == {"active"}


def test_an_erased_subscribers_link_gets_a_friendly_404_and_changes_nothing(
        mail_app: App, sent: Seeded, live: LiveServer, server: SMTPRecorder) -> None:
    from sqlalchemy import delete

    from newsletter.db.models import Subscriber

    url = link_for(server, 0)
    with write_transaction(mail_app.sessions) as session:
        session.execute(delete(Subscriber).where(Subscriber.id == sent.subscriber_ids[0]))
    for response in (httpx.get(url), httpx.post(url, data={"List-Unsubscribe": "One-Click"})):
        assert response.status_code == 404
        assert "no subscription" in response.text
