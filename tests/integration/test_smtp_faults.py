"""Delivery against a real SMTP server (aiosmtpd on loopback) that injects faults.

Every case ends in the documented state (newsletter/delivery/sender.py) and
the accounting adds up: sent + failed + suppressed + unknown + deferred = audience.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from newsletter.app import App, create_app
from newsletter.clock import ManualClock
from newsletter.config import load_settings
from newsletter.db.engine import write_transaction
from newsletter.db.models import Delivery, SendPause, Subscription, Suppression
from newsletter.delivery.outbox import fan_out
from newsletter.delivery.outcome import Outcome, Verdict
from newsletter.delivery.outgoing import K, Outgoing
from newsletter.delivery.sender import drain
from newsletter.delivery.smtp import SMTPConfig
from newsletter.delivery.status import resume
from newsletter.delivery.transport import SMTPTransport
from tests.support.audience import Seeded, address, counts, seed
from tests.support.smtpd import SMTPRecorder

AUDIENCE = 12


@pytest.fixture(params=[False, True], ids=["one-command-at-a-time", "pipelining"])
def server(request: pytest.FixtureRequest) -> Iterator[SMTPRecorder]:
    """The fault-injecting relay, without and with PIPELINING (then a message's end and the
    next envelope go out together, and every rule below must hold just the same)."""
    with SMTPRecorder(pipelining=request.param) as recorder:
        yield recorder


@pytest.fixture
def mail_app(project: Path, database_url: str, clock: ManualClock,
             server: SMTPRecorder) -> Iterator[App]:
    settings = load_settings(project, environ={}, overrides={
        "database_url": database_url, "transport": "smtp", "smtp_port": server.port,
        "secret_keys": ["test-secret"], "base_url": "https://news.example.org",
        "smtp_timeout": 5, "smtp_data_timeout": 1.0, "smtp_pool_size": 2,
        "delivery_batch_size": 4,
    })
    application = create_app(settings, clock=clock)
    yield application
    application.close()


@pytest.fixture
def queued(mail_app: App, project: Path) -> Seeded:
    seeded = seed(mail_app, project, AUDIENCE)
    with write_transaction(mail_app.sessions) as session:
        assert fan_out(session, seeded.issue_id, seeded.list_id, mail_app.clock.now()) == AUDIENCE
    return seeded


def once_for(target: str, reply: str) -> Callable[[str], str | None]:
    """A fault hook that answers ``reply`` the first time it sees ``target``."""
    seen: set[str] = set()

    def hook(value: str) -> str | None:
        if target in value and target not in seen:
            seen.add(target)
            return reply
        return None

    return hook


def assert_accounted(app: App, seeded: Seeded) -> dict[str, int]:
    found = counts(app, seeded.issue_id)
    assert sum(found.values()) == AUDIENCE
    assert found.get("queued", 0) == 0
    assert found.get("sending", 0) == 0
    return found


def row_for(app: App, seeded: Seeded, n: int) -> Delivery:
    with app.sessions() as session:
        row = session.scalar(select(Delivery).where(
            Delivery.issue_id == seeded.issue_id,
            Delivery.subscriber_id == seeded.subscriber_ids[n]))
        assert row is not None
        return row


def test_every_subscriber_gets_one_message_with_its_own_stable_message_id(
        mail_app: App, queued: Seeded, server: SMTPRecorder) -> None:
    summary = drain(mail_app)
    assert summary.counts["sent"] == AUDIENCE
    ids = [m.message["Message-ID"] for m in server.messages]
    assert len(set(ids)) == AUDIENCE
    assert sorted(r for m in server.messages for r in m.rcpt_tos) == sorted(
        address(n) for n in range(AUDIENCE))
    assert row_for(mail_app, queued, 0).message_id in ids
    assert assert_accounted(mail_app, queued) == {"sent": AUDIENCE}


def test_421_on_rcpt_defers_with_backoff_then_sends(
        mail_app: App, queued: Seeded, server: SMTPRecorder, clock: ManualClock) -> None:
    server.faults.rcpt = once_for(address(3), "421 4.3.2 closing for maintenance")
    drain(mail_app)
    row = row_for(mail_app, queued, 3)
    assert row.status == "deferred"
    assert row.last_error
    assert row.last_error.startswith("421")
    assert row.next_attempt_at == clock.now() + timedelta(minutes=5)
    assert counts(mail_app, queued.issue_id) == {"sent": AUDIENCE - 1, "deferred": 1}
    clock.advance(timedelta(minutes=6))
    drain(mail_app)
    assert assert_accounted(mail_app, queued) == {"sent": AUDIENCE}
    assert len(server.messages) == AUDIENCE


def test_451_after_data_defers_and_backoff_doubles(
        mail_app: App, queued: Seeded, server: SMTPRecorder, clock: ManualClock) -> None:
    failures = Counter[str]()

    def twice(rcpts: str) -> str | None:
        if address(5) in rcpts and failures[rcpts] < 2:
            failures[rcpts] += 1
            return "451 4.3.0 temporary local problem"
        return None

    server.faults.data = twice
    drain(mail_app)
    assert row_for(mail_app, queued, 5).next_attempt_at == clock.now() + timedelta(minutes=5)
    clock.advance(timedelta(minutes=5))
    drain(mail_app)
    row = row_for(mail_app, queued, 5)
    assert row.status == "deferred"
    assert row.attempts == 2
    assert row.next_attempt_at == clock.now() + timedelta(minutes=10)
    clock.advance(timedelta(minutes=10))
    drain(mail_app)
    assert assert_accounted(mail_app, queued) == {"sent": AUDIENCE}


def test_550_5_1_1_fails_the_delivery_and_suppresses_the_address(
        mail_app: App, queued: Seeded, server: SMTPRecorder) -> None:
    server.faults.rcpt = once_for(address(2), "550 5.1.1 no such mailbox")
    drain(mail_app)
    row = row_for(mail_app, queued, 2)
    assert row.status == "failed"
    assert row.last_error
    assert "5.1.1" in row.last_error
    assert assert_accounted(mail_app, queued) == {"sent": AUDIENCE - 1, "failed": 1}
    with mail_app.sessions() as session:
        status = session.scalar(select(Subscription.status).where(
            Subscription.subscriber_id == queued.subscriber_ids[2]))
        assert status == "bounced"
        assert session.scalar(select(Suppression.reason)) == "bounced"
        assert session.scalar(select(SendPause.id)) is None


def test_554_5_7_1_fails_pauses_the_issue_and_alerts_without_suppressing(
        mail_app: App, queued: Seeded, server: SMTPRecorder, clock: ManualClock) -> None:
    server.faults.rcpt = once_for(address(0), "554 5.7.1 message refused by policy")
    summary = drain(mail_app)
    assert any("paused" in alert for alert in summary.alerts)
    found = counts(mail_app, queued.issue_id)
    assert found["failed"] == 1
    assert found.get("sent", 0) < AUDIENCE - 1
    assert sum(found.values()) == AUDIENCE
    assert found.get("sending", 0) == 0
    with mail_app.sessions() as session:
        assert session.scalar(select(Suppression.id)) is None
        assert session.scalar(select(SendPause.issue_id)) == queued.issue_id
    assert drain(mail_app).attempted == 0  # paused: nothing more goes out
    with write_transaction(mail_app.sessions) as session:
        assert resume(session, clock.now(), queued.issue_id) == 1
    drain(mail_app)
    assert assert_accounted(mail_app, queued) == {"sent": AUDIENCE - 1, "failed": 1}


def test_454_throttling_defers_briefly_and_does_not_count_as_failure(
        mail_app: App, queued: Seeded, server: SMTPRecorder, clock: ManualClock) -> None:
    throttled: set[str] = set()

    def throttle(rcpt: str) -> str | None:
        if len(throttled) < 4 and rcpt not in throttled:
            throttled.add(rcpt)
            return "454 4.7.0 too many messages, slow down"
        return None

    server.faults.rcpt = throttle
    summary = drain(mail_app)
    assert summary.counts["deferred"] == 4
    assert not summary.alerts
    with mail_app.sessions() as session:
        waits = {row.next_attempt_at for row in session.scalars(
            select(Delivery).where(Delivery.status == "deferred"))}
        assert waits == {clock.now() + timedelta(seconds=60)}
        assert session.scalar(select(SendPause.id)) is None
    clock.advance(timedelta(seconds=61))
    drain(mail_app)
    assert assert_accounted(mail_app, queued) == {"sent": AUDIENCE}


def test_disconnect_before_the_final_dot_defers_and_sends_once_later(
        mail_app: App, queued: Seeded, server: SMTPRecorder, clock: ManualClock) -> None:
    drops = iter([True])
    server.faults.drop_at_data = lambda: next(drops, False)
    drain(mail_app)
    assert counts(mail_app, queued.issue_id) == {"sent": AUDIENCE - 1, "deferred": 1}
    clock.advance(timedelta(minutes=6))
    drain(mail_app)
    assert assert_accounted(mail_app, queued) == {"sent": AUDIENCE}
    assert len(server.messages) == AUDIENCE  # nothing lost, nothing twice


def test_disconnect_after_the_final_dot_is_unknown_and_retried_once_with_the_same_message_id(
        mail_app: App, queued: Seeded, server: SMTPRecorder, clock: ManualClock) -> None:
    drops = iter([True])
    server.faults.drop_after_dot = lambda: next(drops, False)
    drain(mail_app)
    found = counts(mail_app, queued.issue_id)
    assert found == {"sent": AUDIENCE - 1, "unknown": 1}
    unknown = next(m for m in server.messages)  # the first message was the dropped one
    clock.advance(timedelta(hours=1))
    drain(mail_app)
    assert assert_accounted(mail_app, queued) == {"sent": AUDIENCE}
    copies = [m for m in server.messages if m.rcpt_tos == unknown.rcpt_tos]
    assert len(copies) == 2
    assert copies[0].message["Message-ID"] == copies[1].message["Message-ID"]


def test_a_reply_slower_than_the_data_timeout_is_unknown_and_stays_unknown_after_one_retry(
        mail_app: App, queued: Seeded, server: SMTPRecorder, clock: ManualClock) -> None:
    server.faults.delay_after_dot = 1.5  # the data timeout is 1 s in this test
    drain(mail_app, limit=1)
    assert counts(mail_app, queued.issue_id) == {"unknown": 1, "queued": AUDIENCE - 1}
    clock.advance(timedelta(hours=1))
    drain(mail_app, limit=1)
    found = counts(mail_app, queued.issue_id)
    assert found["unknown"] == 1
    with mail_app.sessions() as session:
        row = session.scalar(select(Delivery).where(Delivery.status == "unknown"))
        assert row is not None
        assert row.next_attempt_at is None
        assert row.attempts == 2
    server.faults.delay_after_dot = 0
    drain(mail_app)
    assert assert_accounted(mail_app, queued) == {"sent": AUDIENCE - 1, "unknown": 1}


def test_relay_down_defers_everything_and_recovery_sends_each_message_once(
        mail_app: App, queued: Seeded, server: SMTPRecorder, clock: ManualClock) -> None:
    drain(mail_app, limit=4)
    server.down()
    summary = drain(mail_app)
    assert summary.stopped
    assert "unreachable" in summary.stopped
    found = counts(mail_app, queued.issue_id)
    assert found["sent"] == 4
    assert found.get("sending", 0) == 0
    assert found.get("deferred", 0) + found.get("queued", 0) == AUDIENCE - 4
    server.up()
    clock.advance(timedelta(minutes=10))
    while drain(mail_app).attempted:
        pass
    assert assert_accounted(mail_app, queued) == {"sent": AUDIENCE}
    received = [r for m in server.messages for r in m.rcpt_tos]
    assert len(received) == len(set(received)) == AUDIENCE


def test_5xx_on_mail_from_pauses_everything_and_fails_nobody(
        mail_app: App, queued: Seeded, server: SMTPRecorder, clock: ManualClock) -> None:
    server.faults.mail = lambda _address: "553 5.7.1 sender address rejected"
    summary = drain(mail_app)
    assert summary.stopped
    assert "configuration" in summary.stopped
    found = counts(mail_app, queued.issue_id)
    assert found.get("failed", 0) == 0
    assert found.get("sent", 0) == 0
    with mail_app.sessions() as session:
        assert session.scalar(select(SendPause.reason))
    assert drain(mail_app).attempted == 0
    server.faults.mail = None
    with write_transaction(mail_app.sessions) as session:
        resume(session, clock.now())
    while drain(mail_app).attempted:
        pass
    assert assert_accounted(mail_app, queued) == {"sent": AUDIENCE}


def test_one_bad_address_fails_only_its_own_delivery(
        mail_app: App, queued: Seeded, server: SMTPRecorder) -> None:
    from sqlalchemy import update as sql_update

    from newsletter.db.models import Subscriber

    with write_transaction(mail_app.sessions) as session:
        session.execute(sql_update(Subscriber).where(
            Subscriber.id == queued.subscriber_ids[7]).values(email="zoë@example.org"))
    drain(mail_app)
    row = row_for(mail_app, queued, 7)
    assert row.status == "failed"
    assert row.last_error
    assert "SMTPUTF8" in row.last_error
    assert assert_accounted(mail_app, queued) == {"sent": AUDIENCE - 1, "failed": 1}


def test_a_burst_of_permanent_errors_pauses_the_issue(
        project: Path, database_url: str, clock: ManualClock, server: SMTPRecorder) -> None:
    settings = load_settings(project, environ={}, overrides={
        "database_url": database_url, "transport": "smtp", "smtp_port": server.port,
        "secret_keys": ["k"], "smtp_pool_size": 1, "delivery_batch_size": 2,
        "delivery_pause_after_failures": 3})
    app = create_app(settings, clock=clock)
    try:
        seeded = seed(app, project, AUDIENCE)
        with write_transaction(app.sessions) as session:
            fan_out(session, seeded.issue_id, seeded.list_id, clock.now())
        server.faults.data = lambda _rcpts: "552 5.3.4 message refused"
        summary = drain(app)
        assert any("3 permanent errors" in alert for alert in summary.alerts)
        found = counts(app, seeded.issue_id)
        assert found["failed"] == 3
        assert found["queued"] == AUDIENCE - 3
    finally:
        app.close()


def test_people_who_join_mid_send_are_not_in_that_send_but_a_second_fan_out_adds_them(
        mail_app: App, queued: Seeded, server: SMTPRecorder) -> None:
    from tests.support.audience import add_subscribers

    drain(mail_app, limit=5)
    with write_transaction(mail_app.sessions) as session:
        add_subscribers(session, queued.list_id, range(500, 503), mail_app.clock.now())
    drain(mail_app)
    assert assert_accounted(mail_app, queued) == {"sent": AUDIENCE}  # the snapshot at fan-out
    with write_transaction(mail_app.sessions) as session:
        assert fan_out(session, queued.issue_id, queued.list_id, mail_app.clock.now()) == 3
    drain(mail_app)
    assert counts(mail_app, queued.issue_id) == {"sent": AUDIENCE + 3}


def _send_a_confirmation(mail_app: App, queued: Seeded, server: SMTPRecorder) -> EmailMessage:
    """Queue one confirmation email for the first subscriber, drain, return what arrived."""
    from newsletter.delivery.outbox import TransactionalMail, enqueue_transactional

    with write_transaction(mail_app.sessions) as session:
        enqueue_transactional(session, subscriber_id=queued.subscriber_ids[0],
                              list_id=queued.list_id, kind="confirmation",
                              mail=TransactionalMail("Please confirm", "<p>Press</p>", "Press"),
                              now=mail_app.clock.now())
    drain(mail_app)
    return next(m.message for m in server.messages if m.message["Subject"] == "Please confirm")


def test_transactional_mail_is_sent_from_its_payload_without_list_headers(
        mail_app: App, queued: Seeded, server: SMTPRecorder) -> None:
    confirmation = _send_a_confirmation(mail_app, queued, server)
    assert confirmation["List-Unsubscribe"] is None
    assert confirmation["List-Id"] is None
    assert confirmation["Message-ID"]


def test_a_slow_batch_renews_its_leases_so_nobody_else_claims_its_rows(
        project: Path, database_url: str, clock: ManualClock, server: SMTPRecorder) -> None:
    from newsletter.delivery.claims import claim

    settings = load_settings(project, environ={}, overrides={
        "database_url": database_url, "transport": "smtp", "smtp_port": server.port,
        "secret_keys": ["k"], "smtp_pool_size": 1, "delivery_batch_size": 6,
        "delivery_lease_seconds": 100})
    app = create_app(settings, clock=clock)
    stolen: list[int] = []

    def slow_relay(_address: str) -> None:
        clock.advance(timedelta(seconds=40))  # each message takes 40 s of (manual) time
        # Another worker tries to claim while this batch is on the wire: no SMTP I/O holds
        # a transaction, and the leases of the rest of the batch are still valid.
        with write_transaction(app.sessions) as session:
            stolen.extend(row.id for row in claim(
                session, now=clock.now(), lease=timedelta(seconds=100), limit=100))

    try:
        seeded = seed(app, project, 6)
        with write_transaction(app.sessions) as session:
            fan_out(session, seeded.issue_id, seeded.list_id, clock.now())
        server.faults.rcpt = slow_relay  # type: ignore[assignment]
        drain(app, limit=6)
        assert stolen == []
        assert counts(app, seeded.issue_id) == {"sent": 6}
    finally:
        app.close()


def test_a_pooled_connection_is_reset_before_each_reuse(
        mail_app: App, queued: Seeded, server: SMTPRecorder) -> None:
    drain(mail_app)
    # One or two pooled connections carried 12 messages: every message after a connection's
    # first starts with RSET.
    assert AUDIENCE - 2 <= server.resets <= AUDIENCE - 1


@pytest.mark.parametrize("lookahead", [True, False], ids=["lookahead", "one-at-a-time"])
def test_the_next_message_is_taken_before_an_outcome_only_when_it_can_leave_with_it(
        server: SMTPRecorder, lookahead: bool) -> None:
    events: list[str] = []

    def items() -> Iterator[Outgoing[int]]:
        for n in range(3):
            events.append(f"take {n}")
            yield Outgoing("news@example.org", address(n), b"Subject: ahead\r\n\r\nbody\r\n", n)

    transport = SMTPTransport(SMTPConfig("127.0.0.1", server.port, timeout=5), 1)
    try:
        for item, outcome in transport.send_all(items(), lookahead=lookahead):
            assert outcome.verdict == Verdict.SENT, outcome
            events.append(f"outcome {item.key}")
    finally:
        transport.close()
    if lookahead and server.pipelining:
        assert events == ["take 0", "take 1", "outcome 0", "take 2", "outcome 1", "outcome 2"]
    else:
        assert events == ["take 0", "outcome 0", "take 1", "outcome 1", "take 2", "outcome 2"]
    assert len(server.wait_for(3)) == 3


class LookaheadSpy:
    """The real SMTP transport, noting how each batch asked for its stream to be sent."""

    def __init__(self, inner: SMTPTransport) -> None:
        self.inner = inner
        self.asked: list[bool] = []

    @property
    def size(self) -> int:
        return self.inner.size

    def send(self, mail_from: str, rcpt_to: str, data: bytes) -> Outcome:
        return self.inner.send(mail_from, rcpt_to, data)

    def send_all(self, items: Iterable[Outgoing[K]], *, lookahead: bool = True,
                 ) -> Generator[tuple[Outgoing[K], Outcome], None, None]:
        self.asked.append(lookahead)
        yield from self.inner.send_all(items, lookahead=lookahead)

    def close(self) -> None:
        self.inner.close()


@pytest.mark.parametrize("rate", [0, 1000], ids=["unpaced", "paced"])
def test_a_paced_send_finishes_each_message_before_taking_the_next(
        project: Path, database_url: str, clock: ManualClock, server: SMTPRecorder,
        rate: int) -> None:
    settings = load_settings(project, environ={}, overrides={
        "database_url": database_url, "transport": "smtp", "smtp_port": server.port,
        "secret_keys": ["k"], "smtp_pool_size": 1, "smtp_rate_per_second": rate})
    app = create_app(settings, clock=clock)
    spy = LookaheadSpy(SMTPTransport(SMTPConfig("127.0.0.1", server.port, timeout=5), 1))
    try:
        seeded = seed(app, project, 3)
        with write_transaction(app.sessions) as session:
            fan_out(session, seeded.issue_id, seeded.list_id, clock.now())
        drain(app, transport=spy)
        assert counts(app, seeded.issue_id) == {"sent": 3}
    finally:
        spy.close()
        app.close()
    # The pacer may wait between messages: a paced send must not keep the relay
    # waiting in the middle of one, so it never reads ahead.
    assert spy.asked == [rate == 0]


def test_a_pooled_connection_older_than_its_max_age_is_replaced_instead_of_reused(
        server: SMTPRecorder) -> None:
    seconds = [0.0]  # the pool's monotonic clock, moved by hand
    transport = SMTPTransport(SMTPConfig("127.0.0.1", server.port, timeout=5, max_age=300.0),
                              1, monotonic=lambda: seconds[0])
    resets_seen = []
    try:
        for at in (0.0, 299.0, 301.0, 350.0):
            seconds[0] = at
            outcome = transport.send("news@example.org", address(0),
                                     b"Subject: age\r\n\r\nbody\r\n")
            assert outcome.verdict == Verdict.SENT, outcome
            resets_seen.append(server.resets)
    finally:
        transport.close()
    # Reused at 299 s (RSET first); older than 300 s at 301 s, so a new session (no RSET),
    # which is reused again at 350 s.
    assert resets_seen == [0, 1, 1, 2]
    assert len(server.wait_for(4)) == 4


def test_transactional_mail_is_addressed_without_the_untrusted_name(
        mail_app: App, queued: Seeded, server: SMTPRecorder) -> None:
    confirmation = _send_a_confirmation(mail_app, queued, server)
    assert str(confirmation["To"]) == address(0)
