"""Bounces and complaints end to end: an issue through a real relay, feedback in, the next issue.

An issue goes out through a local relay (aiosmtpd) with a VERP envelope
sender per delivery; a DSN for one recipient then arrives through
``newsletter bounces process``, through the inbound SMTP listener, or as a
signed provider webhook (see test_feedback_webhooks.py), and the next issue
skips that address (RELIABILITY #46, #47, #49).
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from newsletter.app import App, create_app
from newsletter.clock import ManualClock
from newsletter.config import load_settings
from newsletter.db.engine import write_transaction
from newsletter.db.models import (
    ConsentRecord,
    Delivery,
    FeedbackEvent,
    Issue,
    SendPause,
    Subscription,
)
from newsletter.delivery.outbox import fan_out
from newsletter.delivery.sender import drain
from newsletter.feedback.inbound import BounceListener
from newsletter.feedback.intake import process_message
from newsletter.feedback.summary import feedback_status
from tests.support.audience import Seeded, address, counts, seed
from tests.support.bounces import arf, auto_reply, dsn
from tests.support.cli import Cli
from tests.support.net import free_port
from tests.support.series import write_lists
from tests.support.smtpd import ReceivedMessage, SMTPRecorder

AUDIENCE = 5
BOUNCER = address(2)


@pytest.fixture
def relay() -> Iterator[SMTPRecorder]:
    with SMTPRecorder() as recorder:
        yield recorder


def relay_settings(project: Path, database_url: str, relay: SMTPRecorder, **extra: object) -> dict[
        str, object]:
    return {"database_url": database_url, "transport": "smtp", "smtp_port": relay.port,
            "secret_keys": ["feedback-secret"], "base_url": "https://news.example.org",
            "smtp_timeout": 5, "smtp_pool_size": 1, "bounce_listen_port": free_port(), **extra}


@pytest.fixture
def mail_app(project: Path, database_url: str, clock: ManualClock,
             relay: SMTPRecorder) -> Iterator[App]:
    settings = load_settings(project, environ={},
                             overrides=relay_settings(project, database_url, relay))
    application = create_app(settings, clock=clock)
    yield application
    application.close()


def issue_id(app: App, seeded: Seeded, position: int) -> int:
    with app.sessions() as session:
        found = session.scalar(select(Issue.id).where(Issue.series_id == seeded.series_id,
                                                      Issue.position == position))
        assert found is not None
        return found


def queue(app: App, seeded: Seeded, position: int) -> None:
    """Fan issue ``position`` out to the list's active readers."""
    with write_transaction(app.sessions) as session:
        fan_out(session, issue_id(app, seeded, position), seeded.list_id, app.clock.now())


def send(app: App, seeded: Seeded, position: int, relay: SMTPRecorder) -> list[ReceivedMessage]:
    """Queue issue ``position`` for the list and send it through the relay; what arrived."""
    before = len(relay.messages)
    queue(app, seeded, position)
    drain(app)
    return relay.messages[before:]


@pytest.fixture
def first_issue(mail_app: App, project: Path, relay: SMTPRecorder) -> tuple[Seeded, bytes, str]:
    """Issue 1 sent to five readers: the seeded ids, the bouncer's message and its envelope."""
    seeded = seed(mail_app, project, AUDIENCE)
    arrived = send(mail_app, seeded, 1, relay)
    assert len(arrived) == AUDIENCE
    message = next(m for m in arrived if m.rcpt_tos == [BOUNCER])
    return seeded, message.data, message.mail_from


def assert_next_issue_skips_the_bouncer(app: App, seeded: Seeded, relay: SMTPRecorder,
                                        expected: dict[str, int] | None = None) -> None:
    """Issue 2 goes to everyone else (queued now, or already queued before the bounce)."""
    arrived = send(app, seeded, 2, relay)
    recipients = sorted(r for m in arrived for r in m.rcpt_tos)
    assert recipients == sorted(address(n) for n in range(AUDIENCE) if address(n) != BOUNCER)
    assert counts(app, issue_id(app, seeded, 2)) == (expected or {"sent": AUDIENCE - 1})


def statuses(app: App, person: str) -> list[str]:
    with app.sessions() as session:
        return sorted(session.scalars(select(Subscription.status).join(
            Subscription.subscriber).where(Subscription.subscriber.has(email=person))))


def events(app: App) -> list[FeedbackEvent]:
    with app.sessions() as session:
        return list(session.scalars(select(FeedbackEvent).order_by(FeedbackEvent.id)))


def test_each_message_goes_out_with_its_own_signed_verp_envelope_sender(
        mail_app: App, first_issue: tuple[Seeded, bytes, str], relay: SMTPRecorder) -> None:
    with mail_app.sessions() as session:
        ids = {row.id for row in session.scalars(select(Delivery))}
    senders = {m.mail_from for m in relay.messages}
    assert len(senders) == AUDIENCE
    assert {mail_app.verp.decode(sender) for sender in senders} == ids
    assert all(s.startswith("bounces+") and s.endswith("@clinic.example.com") for s in senders)


def test_a_dsn_through_bounces_process_suppresses_the_address_and_the_next_issue_skips_it(
        mail_app: App, first_issue: tuple[Seeded, bytes, str], relay: SMTPRecorder,
        tmp_path: Path) -> None:
    seeded, original, envelope = first_issue
    bounce = tmp_path / "bounce.eml"
    bounce.write_bytes(dsn(to=envelope, recipient=BOUNCER, original=original))
    result = Cli(mail_app.settings, mail_app.clock).run("bounces", "process", str(bounce))
    assert f"hard_bounce for {BOUNCER}: suppress" in result.output
    assert statuses(mail_app, BOUNCER) == ["bounced"]
    [event] = events(mail_app)
    assert (event.source, event.kind, event.status_code, event.action) == (
        "process", "hard_bounce", "5.1.1", "suppress")
    assert event.raw_ref is not None
    assert (mail_app.settings.var_path / event.raw_ref).read_bytes() == bounce.read_bytes()
    assert_next_issue_skips_the_bouncer(mail_app, seeded, relay)


def test_a_dsn_through_the_inbound_smtp_listener_suppresses_the_address(
        mail_app: App, first_issue: tuple[Seeded, bytes, str], relay: SMTPRecorder) -> None:
    seeded, original, envelope = first_issue
    queue(mail_app, seeded, 2)  # already queued: the bounce must stop it at claim time (#20)
    message = dsn(to=envelope, recipient=BOUNCER, original=original)
    with BounceListener(mail_app) as listener, smtplib.SMTP(listener.host, listener.port,
                                                            timeout=10) as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            client.sendmail("", ["postmaster@elsewhere.example"], message)
        assert client.sendmail("", [envelope], message) == {}
    assert statuses(mail_app, BOUNCER) == ["bounced"]
    assert [e.source for e in events(mail_app)] == ["smtp"]
    assert_next_issue_skips_the_bouncer(mail_app, seeded, relay,
                                        {"sent": AUDIENCE - 1, "suppressed": 1})


def test_the_same_bounce_twice_is_recorded_and_acted_on_once(
        mail_app: App, first_issue: tuple[Seeded, bytes, str]) -> None:
    _seeded, original, envelope = first_issue
    message = dsn(to=envelope, recipient=BOUNCER, original=original)
    first = process_message(mail_app, message, source="process")
    again = process_message(mail_app, message, source="imap")
    assert not first.duplicate
    assert again.duplicate
    assert len(events(mail_app)) == 1


def test_an_arf_complaint_unsubscribes_the_person_from_every_list_and_suppresses(
        mail_app: App, first_issue: tuple[Seeded, bytes, str], project: Path) -> None:
    seeded, original, envelope = first_issue
    second_list = add_second_list(mail_app, project)
    report = arf(to="fbl@clinic.example.com", recipient=BOUNCER, original=original)
    recorded = process_message(mail_app, report, source="process", envelope_to=envelope)
    assert recorded.action == "unsubscribe_all"
    assert statuses(mail_app, BOUNCER) == ["complained", "complained"]
    with mail_app.sessions() as session:
        subs = list(session.scalars(select(Subscription).where(
            Subscription.subscriber.has(email=BOUNCER))))
        assert {s.unsubscribe_method for s in subs} == {"complaint"}
        assert {s.list_id for s in subs} == {seeded.list_id, second_list}
        withdrawn = list(session.scalars(select(ConsentRecord.method).where(
            ConsentRecord.email == BOUNCER, ConsentRecord.event == "withdrawn")))
        assert withdrawn == ["complaint", "complaint"]
    found = feedback_status(mail_app)
    assert [(s.address, s.reason) for s in found.suppressed] == [(BOUNCER, "complained")]


def add_second_list(app: App, project: Path) -> int:
    """A second list with the bouncer on it too; its id."""
    write_lists(project, [("clinic-news", "Riverside Pain Clinic News"),
                          ("clinic-events", "Clinic events")])
    lists = {slug: entry.id for slug, entry in app.catalog.lists().items()}
    with write_transaction(app.sessions) as session:
        person = session.scalar(select(Subscription.subscriber_id).where(
            Subscription.subscriber.has(email=BOUNCER)))
        assert person is not None
        now = app.clock.now()
        session.add(Subscription(subscriber_id=person, list_id=lists["clinic-events"],
                                 status="active", created_at=now, updated_at=now,
                                 confirmed_at=now))
    return lists["clinic-events"]


def test_an_auto_reply_changes_nothing(
        mail_app: App, first_issue: tuple[Seeded, bytes, str], relay: SMTPRecorder) -> None:
    seeded, _original, envelope = first_issue
    recorded = process_message(mail_app, auto_reply(to=envelope, sender=BOUNCER),
                               source="smtp", envelope_to=envelope)
    assert (recorded.kind, recorded.action) == ("auto_reply", "ignore")
    assert statuses(mail_app, BOUNCER) == ["active"]
    arrived = send(mail_app, seeded, 2, relay)
    assert len(arrived) == AUDIENCE


def test_soft_bounces_suppress_only_after_the_limit_within_the_window(
        mail_app: App, first_issue: tuple[Seeded, bytes, str], relay: SMTPRecorder,
        clock: ManualClock) -> None:
    seeded, original, envelope = first_issue
    full = {"status": "5.2.2", "diagnostic": "552 5.2.2 mailbox full"}
    first = process_message(mail_app, dsn(to=envelope, recipient=BOUNCER, original=original,
                                          **full), source="process")
    assert (first.kind, first.action) == ("soft_bounce", "count")
    # The same message bouncing again is not a second soft bounce in a row.
    repeat = process_message(mail_app, dsn(to=envelope, recipient=BOUNCER, original=original,
                                           **full), source="process")
    assert repeat.action == "count"
    assert statuses(mail_app, BOUNCER) == ["active"]
    for position in (2, 3):
        clock.advance(timedelta(days=7))
        message = next(m for m in send(mail_app, seeded, position, relay)
                       if m.rcpt_tos == [BOUNCER])
        last = process_message(mail_app, dsn(to=message.mail_from, recipient=BOUNCER,
                                             original=message.data, **full), source="process")
    assert last.action == "suppress"
    assert "3 soft bounces" in last.reason
    assert statuses(mail_app, BOUNCER) == ["bounced"]


def test_a_bounce_naming_no_delivery_we_sent_is_kept_and_changes_nothing(
        mail_app: App, first_issue: tuple[Seeded, bytes, str]) -> None:
    _seeded, _original, _envelope = first_issue
    stranger = dsn(to="bounces@clinic.example.com", recipient=BOUNCER,
                   original=b"Message-ID: <not-ours@elsewhere.example>\r\n\r\n")
    recorded = process_message(mail_app, stranger, source="process")
    assert recorded.action == "hold"
    assert statuses(mail_app, BOUNCER) == ["active"]
    assert [e.kind for e in feedback_status(mail_app).held] == ["hard_bounce"]


@pytest.mark.parametrize(("kind", "noun"), [("bounce", "hard-bounce"),
                                            ("complaint", "complaint")])
def test_a_bounce_or_complaint_rate_over_the_limit_pauses_the_send_and_alerts(
        kind: str, noun: str, project: Path, database_url: str, clock: ManualClock,
        relay: SMTPRecorder) -> None:
    settings = load_settings(project, environ={}, overrides=relay_settings(
        project, database_url, relay, feedback_rate_min_sent=3, bounce_rate_limit=0.3,
        complaint_rate_limit=0.3))
    app = create_app(settings, clock=clock)
    try:
        seeded = seed(app, project, AUDIENCE)
        with write_transaction(app.sessions) as session:
            fan_out(session, seeded.issue_id, seeded.list_id, clock.now())
        drain(app, limit=4)  # one reader still queued: the send is under way
        arrived = relay.messages
        alerts: list[str] = []
        build = dsn if kind == "bounce" else arf
        for message in arrived[:2]:
            recorded = process_message(app, build(to=message.mail_from,
                                                  recipient=message.rcpt_tos[0],
                                                  original=message.data), source="process")
            alerts += recorded.alerts
        assert len(alerts) == 1  # 1 in 4 is under 30%; 2 in 4 is over
        assert f"pain-care/1 paused: {noun} rate 50.00% of 4 sent" in alerts[0]
        with app.sessions() as session:
            pause = session.scalar(select(SendPause).where(SendPause.resumed_at.is_(None)))
            assert pause is not None
            assert pause.issue_id == seeded.issue_id
        assert drain(app).attempted == 0
        assert counts(app, seeded.issue_id)["queued"] == 1
    finally:
        app.close()


def test_status_shows_bounces_per_issue_and_the_suppression_list_with_reasons(
        mail_app: App, first_issue: tuple[Seeded, bytes, str]) -> None:
    _seeded, original, envelope = first_issue
    process_message(mail_app, dsn(to=envelope, recipient=BOUNCER, original=original),
                    source="process")
    result = Cli(mail_app.settings, mail_app.clock, columns=200).run("status")
    assert "Bounces and complaints" in result.output
    assert "pain-care/1" in result.output
    assert "Suppressed addresses (1, newest first)" in result.output
    assert BOUNCER in result.output
    assert "hard_bounce 5.1.1" in result.output
    found = feedback_status(mail_app)
    assert [(i.label, i.counts) for i in found.issues] == [("pain-care/1", {"hard_bounce": 1})]


def test_with_verp_off_the_fixed_envelope_sender_is_used_and_bounces_match_by_message_id(
        project: Path, database_url: str, clock: ManualClock, relay: SMTPRecorder) -> None:
    settings = load_settings(project, environ={}, overrides=relay_settings(
        project, database_url, relay, verp_enabled=False,
        envelope_sender="bounces@clinic.example.com"))
    app = create_app(settings, clock=clock)
    try:
        seeded = seed(app, project, AUDIENCE)
        arrived = send(app, seeded, 1, relay)
        assert {m.mail_from for m in arrived} == {"bounces@clinic.example.com"}
        message = next(m for m in arrived if m.rcpt_tos == [BOUNCER])
        recorded = process_message(app, dsn(to="bounces@clinic.example.com", recipient=BOUNCER,
                                            original=message.data), source="process")
        assert (recorded.action, recorded.address) == ("suppress", BOUNCER)
        assert_next_issue_skips_the_bouncer(app, seeded, relay)
    finally:
        app.close()
