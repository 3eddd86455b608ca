"""Polling a bounce mailbox on a real IMAP server (Dovecot on loopback, TLS with a test CA).

The messages are recorded, then moved to the processed folder; a second poll
finds nothing; a server whose certificate the configured CA did not sign is
refused before login, and the mailbox is left as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from newsletter.app import App, create_app
from newsletter.clock import ManualClock
from newsletter.config import load_settings
from newsletter.db.models import FeedbackEvent, Subscription
from newsletter.errors import FeedbackError
from newsletter.feedback.mailbox import poll_mailbox
from tests.support.audience import address, seed
from tests.support.bounces import auto_reply, dsn, send_issue
from tests.support.cli import Cli
from tests.support.imapd import DOVECOT, Dovecot, make_ca
from tests.support.smtpd import SMTPRecorder

pytestmark = pytest.mark.skipif(
    DOVECOT is None, reason="Debian's dovecot-imapd is not installed (make test installs it)")
BOUNCER = address(1)


@pytest.fixture
def imapd() -> Iterator[Dovecot]:
    with Dovecot() as server:
        yield server


@pytest.fixture
def relay() -> Iterator[SMTPRecorder]:
    with SMTPRecorder() as recorder:
        yield recorder


def imap_app(project: Path, database_url: str, clock: ManualClock, relay: SMTPRecorder,
             imapd: Dovecot, ca_file: Path) -> App:
    settings = load_settings(project, environ={}, overrides={
        "database_url": database_url, "transport": "smtp", "smtp_port": relay.port,
        "secret_keys": ["imap-secret"], "base_url": "https://news.example.org",
        "smtp_pool_size": 1, "imap_host": imapd.host, "imap_port": imapd.port,
        "imap_username": imapd.user, "imap_password": imapd.password,
        "imap_ca_file": str(ca_file), "imap_processed_folder": "Processed",
    })
    return create_app(settings, clock=clock)


@pytest.fixture
def app(project: Path, database_url: str, clock: ManualClock, relay: SMTPRecorder,
        imapd: Dovecot) -> Iterator[App]:
    application = imap_app(project, database_url, clock, relay, imapd, imapd.ca_file)
    yield application
    application.close()


def test_poll_records_each_message_and_moves_it_to_the_processed_folder(
        app: App, project: Path, relay: SMTPRecorder, imapd: Dovecot) -> None:
    seeded = seed(app, project, 3)
    message = next(m for m in send_issue(app, seeded, 1, relay) if m.rcpt_tos == [BOUNCER])
    bounce = dsn(to=message.mail_from, recipient=BOUNCER, original=message.data)
    reply = auto_reply(to=message.mail_from, sender=address(2))
    imapd.append(bounce)
    imapd.append(reply)
    cli = Cli(app.settings, app.clock)
    first = cli.run("bounces", "poll")
    assert "Mailbox INBOX: 2 recorded, 2 moved." in first.output
    assert imapd.messages("INBOX") == []
    assert sorted(imapd.messages("Processed")) == sorted([bounce, reply])
    with app.sessions() as session:
        assert sorted(session.scalars(select(FeedbackEvent.kind))) == ["auto_reply",
                                                                      "hard_bounce"]
        assert {e.source for e in session.scalars(select(FeedbackEvent))} == {"imap"}
        statuses = dict(session.execute(select(Subscription.subscriber_id, Subscription.status)
                                        .order_by(Subscription.subscriber_id)).all())
    assert list(statuses.values()) == ["active", "bounced", "active"]
    again = cli.run("bounces", "poll")
    assert "Mailbox INBOX: 0 recorded, 0 moved." in again.output


def test_a_server_certificate_from_another_ca_is_refused_and_the_mailbox_left_alone(
        project: Path, database_url: str, clock: ManualClock, relay: SMTPRecorder,
        imapd: Dovecot, tmp_path: Path) -> None:
    other = tmp_path / "other-ca"
    other.mkdir()
    stranger_ca, _cert, _key = make_ca(other)
    app = imap_app(project, database_url, clock, relay, imapd, stranger_ca)
    try:
        imapd.append(auto_reply(to="bounces@clinic.example.com", sender=address(2)))
        with pytest.raises(FeedbackError, match="TLS failed"):
            poll_mailbox(app)
        assert len(imapd.messages("INBOX")) == 1
        with app.sessions() as session:
            assert session.scalar(select(FeedbackEvent.id)) is None
    finally:
        app.close()
