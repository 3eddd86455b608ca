"""Frozen editions: workers send the issue as it was fanned out, from the database alone."""

from __future__ import annotations

import email
import email.policy
from collections import Counter
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select, update

from newsletter.app import App, create_app
from newsletter.clock import ManualClock
from newsletter.config import load_settings
from newsletter.db.engine import write_transaction
from newsletter.db.models import Delivery, DeliveryStatus, Edition
from newsletter.delivery.catcher import CATCHER_DIR
from newsletter.delivery.editions import editions_of, send_corrected
from newsletter.delivery.outbox import send_issue_now
from newsletter.delivery.sender import drain
from newsletter.errors import NotFoundError
from tests.support.audience import address, seed

AUDIENCE = 10
FIRST = "Pain that outlasts healing by months"
FIXED = "Pain that outlasts healing by many months (corrected)"


def make_app(project: Path, database_url: str, clock: ManualClock) -> App:
    settings = load_settings(project, environ={}, overrides={
        "database_url": database_url, "transport": "catcher", "secret_keys": ["k"],
        "base_url": "https://news.example.org"})
    return create_app(settings, clock=clock)


@pytest.fixture
def staff_app(project: Path, database_url: str, clock: ManualClock) -> Iterator[App]:
    application = make_app(project, database_url, clock)
    seed(application, project, AUDIENCE)
    yield application
    application.close()


def caught(project: Path) -> dict[str, str]:
    """Recipient → the plain-text part of what they were sent (from the catcher folder)."""
    found: dict[str, str] = {}
    for path in (project / "var" / CATCHER_DIR).glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        text = message.get_body(("plain",))
        assert text is not None
        found[str(message["X-Envelope-To"]).strip("<>")] = str(text.get_content())
    return found


def edit_first_issue(project: Path) -> None:
    path = sorted((project / "issues" / "pain-care").glob("01*.md"))[0]
    source = path.read_text(encoding="utf-8")
    assert FIRST in source
    path.write_text(source.replace(FIRST, FIXED), encoding="utf-8")


def test_a_worker_in_a_project_with_no_issues_folder_sends_the_frozen_edition(
        staff_app: App, tmp_path: Path, database_url: str, clock: ManualClock) -> None:
    send_issue_now(staff_app, "pain-care", 1)
    elsewhere = tmp_path / "worker-host"
    elsewhere.mkdir()
    assert not (elsewhere / "issues").exists()
    worker_app = make_app(elsewhere, database_url, clock)
    try:
        summary = drain(worker_app)
    finally:
        worker_app.close()
    assert summary.counts == {"sent": AUDIENCE}
    got = caught(elsewhere)
    assert set(got) == {address(n) for n in range(AUDIENCE)}
    assert all(FIRST in text for text in got.values())


def test_an_edit_on_disk_during_a_send_does_not_change_what_the_rest_get(
        staff_app: App, project: Path) -> None:
    send_issue_now(staff_app, "pain-care", 1)
    assert drain(staff_app, limit=4).counts == {"sent": 4}
    edit_first_issue(project)
    assert drain(staff_app).counts == {"sent": AUDIENCE - 4}
    got = caught(project)
    assert len(got) == AUDIENCE
    assert all(FIRST in text and "corrected" not in text for text in got.values())
    # A second `send --issue` (people who joined since) adds no edition either.
    send_issue_now(staff_app, "pain-care", 1)
    assert [e.number for e in editions_of(staff_app, "pain-care", 1)] == [1]


def test_send_corrected_switches_only_the_recipients_not_yet_sent(
        staff_app: App, project: Path) -> None:
    send_issue_now(staff_app, "pain-care", 1)
    assert drain(staff_app, limit=4).counts == {"sent": 4}
    with write_transaction(staff_app.sessions) as session:
        waiting = list(session.scalars(select(Delivery.id).where(
            Delivery.status == DeliveryStatus.QUEUED).order_by(Delivery.id)))
        # One row met a 4xx (deferred: not yet sent), one lost its connection after the
        # final "." (unknown: the relay may have edition 1, so its retry must be edition 1).
        session.execute(update(Delivery).where(Delivery.id == waiting[0]).values(
            status=DeliveryStatus.DEFERRED, next_attempt_at=staff_app.clock.now()))
        session.execute(update(Delivery).where(Delivery.id == waiting[1]).values(
            status=DeliveryStatus.UNKNOWN, next_attempt_at=staff_app.clock.now()))
    unchanged = send_corrected(staff_app, "pain-care", 1)
    assert (unchanged.new, unchanged.switched, unchanged.number) == (False, 0, 1)

    edit_first_issue(project)
    done = send_corrected(staff_app, "pain-care", 1)
    assert (done.new, done.number, done.switched, done.kept) == (True, 2, AUDIENCE - 5, 5)
    assert drain(staff_app).counts == {"sent": AUDIENCE - 4}

    got = caught(project)
    with staff_app.sessions() as session:
        numbers = {row.id: row.number for row in session.execute(
            select(Edition.id, Edition.number))}
        rows = session.execute(select(Delivery.id, Delivery.subscriber_id, Delivery.edition_id)
                               .order_by(Delivery.id)).all()
    by_edition: Counter[int] = Counter()
    for row_id, _subscriber, edition in rows:
        number = numbers[edition]
        by_edition[number] += 1
        if row_id == waiting[1]:
            assert number == 1  # the unknown row keeps its edition
        if row_id == waiting[0]:
            assert number == 2  # the deferred one was not yet sent
    assert by_edition == {1: 5, 2: AUDIENCE - 5}
    assert sum(FIXED in text for text in got.values()) == AUDIENCE - 5
    assert sum(FIRST in text and FIXED not in text for text in got.values()) == 5
    listed = editions_of(staff_app, "pain-care", 1)
    assert [(e.number, e.reason, dict(e.counts)) for e in listed] == [
        (1, "fan-out", {"sent": 5}), (2, "corrected", {"sent": AUDIENCE - 5})]


def test_send_corrected_refuses_an_issue_nobody_was_sent(staff_app: App) -> None:
    with pytest.raises(NotFoundError, match="pain-care/2 has not been sent to anyone yet"):
        send_corrected(staff_app, "pain-care", 2)
