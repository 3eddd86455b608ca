"""The outbox on real databases: fan-out, claims, leases, suppression at claim time."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, select, update

from newsletter.app import App
from newsletter.audience.addresses import address_hash
from newsletter.clock import ManualClock
from newsletter.db.engine import write_transaction
from newsletter.db.models import (
    Delivery,
    DeliveryStatus,
    MailingList,
    SeriesOptOut,
    Subscription,
    Suppression,
)
from newsletter.delivery.claims import Result, claim, record
from newsletter.delivery.outbox import due_count, fan_out
from tests.support.audience import add_subscribers, address, counts, seed

LEASE = timedelta(minutes=15)


def test_a_second_fan_out_adds_nothing(app: App, project: Path) -> None:
    seeded = seed(app, project, 30)
    with write_transaction(app.sessions) as session:
        assert fan_out(session, seeded.issue_id, seeded.list_id, app.clock.now()) == 30
    with write_transaction(app.sessions) as session:
        assert fan_out(session, seeded.issue_id, seeded.list_id, app.clock.now()) == 0
    assert counts(app, seeded.issue_id) == {"queued": 30}


def test_fan_out_skips_inactive_subscriptions_and_series_opt_outs(app: App, project: Path) -> None:
    seeded = seed(app, project, 5)
    now = app.clock.now()
    with write_transaction(app.sessions) as session:
        add_subscribers(session, seeded.list_id, range(100, 103), now, status="pending")
        session.add(SeriesOptOut(subscriber_id=seeded.subscriber_ids[0],
                                 series_id=seeded.series_id, created_at=now))
    with write_transaction(app.sessions) as session:
        assert fan_out(session, seeded.issue_id, seeded.list_id, now) == 4


def test_a_person_on_two_lists_gets_one_copy(app: App, project: Path) -> None:
    seeded = seed(app, project, 10)
    now = app.clock.now()
    with write_transaction(app.sessions) as session:
        session.execute(insert(MailingList).values(slug="other", name="Other", created_at=now))
        other = session.scalar(select(MailingList.id).where(MailingList.slug == "other"))
        assert other is not None
        session.execute(insert(Subscription), [
            {"subscriber_id": sid, "list_id": other, "status": "active", "created_at": now,
             "updated_at": now} for sid in seeded.subscriber_ids])
        assert fan_out(session, seeded.issue_id, seeded.list_id, now) == 10
        assert fan_out(session, seeded.issue_id, other, now) == 0


def test_claims_lease_rows_and_recording_needs_the_same_attempt(app: App, project: Path) -> None:
    seeded = seed(app, project, 6)
    now = app.clock.now()
    with write_transaction(app.sessions) as session:
        fan_out(session, seeded.issue_id, seeded.list_id, now)
        rows = claim(session, now=now, lease=LEASE, limit=4)
    assert len(rows) == 4
    assert all(row.attempts == 1 for row in rows)
    assert counts(app, seeded.issue_id) == {"sending": 4, "queued": 2}
    stale = Result(rows[0].id, rows[0].attempts - 1, status=DeliveryStatus.SENT)
    with write_transaction(app.sessions) as session:
        record(session, [stale], now)
    assert counts(app, seeded.issue_id)["sending"] == 4  # a stale attempt changes nothing


def test_an_expired_lease_is_reclaimed_with_a_new_attempt_number(
        app: App, project: Path, clock: ManualClock) -> None:
    seeded = seed(app, project, 3)
    with write_transaction(app.sessions) as session:
        fan_out(session, seeded.issue_id, seeded.list_id, clock.now())
        first = claim(session, now=clock.now(), lease=LEASE, limit=10)
    with write_transaction(app.sessions) as session:
        assert claim(session, now=clock.now(), lease=LEASE, limit=10) == []
    clock.advance(LEASE + timedelta(seconds=1))
    with write_transaction(app.sessions) as session:
        again = claim(session, now=clock.now(), lease=LEASE, limit=10)
    assert sorted(r.id for r in again) == sorted(r.id for r in first)
    assert all(row.attempts == 2 and row.previous_status == "sending" for row in again)


def test_unsubscribed_bounced_and_suppressed_people_are_suppressed_at_claim_time(
        app: App, project: Path) -> None:
    seeded = seed(app, project, 6)
    now = app.clock.now()
    with write_transaction(app.sessions) as session:
        fan_out(session, seeded.issue_id, seeded.list_id, now)
        session.execute(update(Subscription).where(
            Subscription.subscriber_id == seeded.subscriber_ids[0]).values(status="unsubscribed"))
        session.execute(update(Subscription).where(
            Subscription.subscriber_id == seeded.subscriber_ids[1]).values(status="bounced"))
        session.add(Suppression(email_hash=address_hash(address(2)), reason="erased",
                                created_at=now))
        session.add(SeriesOptOut(subscriber_id=seeded.subscriber_ids[3],
                                 series_id=seeded.series_id, created_at=now))
    with write_transaction(app.sessions) as session:
        rows = claim(session, now=now, lease=LEASE, limit=10)
    assert sorted(row.subscriber_id for row in rows) == seeded.subscriber_ids[4:]
    assert counts(app, seeded.issue_id) == {"suppressed": 4, "sending": 2}


def test_concurrent_claims_are_disjoint(app: App, project: Path) -> None:
    seeded = seed(app, project, 200)
    with write_transaction(app.sessions) as session:
        fan_out(session, seeded.issue_id, seeded.list_id, app.clock.now())
    taken: list[list[int]] = []
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with write_transaction(app.sessions) as session:
                rows = claim(session, now=app.clock.now(), lease=LEASE, limit=7)
            if not rows:
                return
            with lock:
                taken.append([row.id for row in rows])

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [i for batch in taken for i in batch]
    assert len(ids) == len(set(ids)) == 200
    with app.sessions() as session:
        assert session.scalar(select(Delivery.id).where(Delivery.status != "sending")) is None


def test_the_count_of_what_is_due_adds_due_rows_and_sending_rows_whose_lease_ran_out(
        app: App, project: Path) -> None:
    seeded = seed(app, project, 9)
    now = app.clock.now()
    soon, past = now + timedelta(hours=1), now - timedelta(minutes=1)
    states = [  # (status, next_attempt_at, lease_until); True marks the ones due now
        (DeliveryStatus.QUEUED, now, None, True),
        (DeliveryStatus.QUEUED, soon, None, False),
        (DeliveryStatus.DEFERRED, past, None, True),
        (DeliveryStatus.DEFERRED, soon, None, False),
        (DeliveryStatus.UNKNOWN, past, None, True),
        (DeliveryStatus.SENDING, None, past, True),
        (DeliveryStatus.SENDING, None, soon, False),
        (DeliveryStatus.SENT, None, None, False),
        (DeliveryStatus.FAILED, None, None, False),
    ]
    with write_transaction(app.sessions) as session:
        fan_out(session, seeded.issue_id, seeded.list_id, now)
        ids = session.scalars(select(Delivery.id).order_by(Delivery.id)).all()
        for row_id, (status, next_at, lease, _) in zip(ids, states, strict=True):
            session.execute(update(Delivery).where(Delivery.id == row_id).values(
                status=status, next_attempt_at=next_at, lease_until=lease))
    assert due_count(app) == sum(1 for *_, due in states if due) == 4
