"""The signup processor: stored signup rows become people, pending subscriptions and mail.

Issue 14 item 5: the form only appends a row; the processor works through the
rows in batches, oldest first, in one transaction each, with the rules of
RELIABILITY #11 and #25–28 (consent proof, cooldown, suppression, double
opt-in). Time is the manual clock; the processor is called, never waited for.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from newsletter.app import App
from newsletter.audience.consent import RequestInfo
from newsletter.audience.ingest import process_signups, waiting
from newsletter.audience.intake import SignupOutcome, SignupRequest, signup_row, store_signups
from newsletter.audience.signup import confirm, purge_expired_pending
from newsletter.clock import ManualClock
from newsletter.db.engine import write_transaction
from newsletter.db.models import ConsentRecord, Signup, Subscriber
from tests.support.signup import (
    LIST_SLUG,
    confirm_path,
    mail_of,
    outbox,
    state,
    table_counts,
    write_lists,
)

SOURCE = RequestInfo(ip="198.51.100.4", user_agent="Safari/19", page_url="https://clinic.example/",
                     origin="https://clinic.example", form="snippet-v2")


@pytest.fixture(autouse=True)
def lists(project: Path) -> None:
    write_lists(project)


def store(app: App, email: str, name: str | None = None, zone: str | None = None) -> str:
    """What the web request does: validate and append one row; returns its public id."""
    row = signup_row(app, SignupRequest(email=email, list_slug=LIST_SLUG, name=name,
                                        time_zone=zone, source=SOURCE), app.clock.now())
    store_signups(app, [row])
    return str(row["public_id"])


def signups(app: App) -> int:
    with app.sessions() as session:
        return session.scalar(select(func.count()).select_from(Signup)) or 0


def test_a_stored_signup_changes_nothing_else_until_the_processor_runs(app: App) -> None:
    before = table_counts(app)
    store(app, "ana@example.com", "Ana")
    assert table_counts(app) == before
    assert waiting(app)
    outcomes = process_signups(app)
    assert list(outcomes.values()) == [SignupOutcome.CONFIRMATION_SENT]
    assert not waiting(app)
    assert state(app, "ana@example.com")["statuses"] == ["pending"]
    assert state(app, "ana@example.com")["events"] == ["signup", "confirmation_sent"]
    assert [row.kind for row in outbox(app)] == ["confirmation"]


def test_one_batch_processes_many_signups_oldest_first_with_the_usual_rules(
    app: App, clock: ManualClock
) -> None:
    ids = [store(app, f"reader{n}@example.com") for n in range(30)]
    ids += [store(app, "twice@example.com"), store(app, "twice@example.com")]
    outcomes = process_signups(app, limit=100)
    assert list(outcomes) == ids  # oldest first
    assert list(outcomes.values()).count(SignupOutcome.CONFIRMATION_SENT) == 31
    assert outcomes[ids[-1]] is SignupOutcome.COOLDOWN  # the same address, same batch
    assert len(outbox(app, "confirmation")) == 31
    assert state(app, "twice@example.com")["events"] == [
        "signup", "confirmation_sent", "signup"]


def test_a_batch_stops_at_its_limit_and_the_next_call_takes_the_rest(app: App) -> None:
    for n in range(5):
        store(app, f"reader{n}@example.com")
    assert len(process_signups(app, limit=3)) == 3
    assert len(process_signups(app, limit=3)) == 2
    assert process_signups(app, limit=3) == {}
    assert len(outbox(app)) == 5


def test_the_consent_record_keeps_the_request_as_it_arrived(
    app: App, clock: ManualClock
) -> None:
    submitted = clock.now()
    store(app, "ana@example.com")
    clock.advance(timedelta(seconds=2))  # processed a little later
    process_signups(app)
    with app.sessions() as session:
        first, sent = session.scalars(select(ConsentRecord).order_by(ConsentRecord.id)).all()
    assert (first.event, first.occurred_at) == ("signup", submitted)
    assert (first.ip, first.user_agent, first.page_url, first.origin, first.form) == (
        "198.51.100.4", "Safari/19", "https://clinic.example/", "https://clinic.example",
        "snippet-v2")
    assert first.consent_text is not None
    assert (sent.event, sent.occurred_at) == ("confirmation_sent", clock.now())


def test_only_pending_records_stay_after_processing(app: App, clock: ManualClock) -> None:
    store(app, "ana@example.com")
    store(app, "ana@example.com")  # cooldown: proof recorded, row not needed
    process_signups(app)
    with app.sessions() as session:
        kept = session.scalars(select(Signup.outcome)).all()
    assert kept == [SignupOutcome.CONFIRMATION_SENT]


def test_different_names_in_one_batch_contest_the_pending_record(app: App) -> None:
    store(app, "vic@example.com", "call +1-555-0100 now", "Pacific/Kiritimati")
    store(app, "vic@example.com", "Victoria", "Europe/Berlin")
    process_signups(app)
    [row] = outbox(app, "confirmation")
    confirm(app, confirm_path(mail_of(row).text).rsplit("/", 1)[1])
    person = state(app, "vic@example.com")["subscriber"]
    assert (person.name, person.time_zone) == (None, None)
    assert state(app, "vic@example.com")["statuses"] == ["active"]


def test_a_repeated_signup_without_a_name_does_not_contest_the_first(app: App) -> None:
    store(app, "ana@example.com", "Ana")
    store(app, "ana@example.com")
    process_signups(app)
    confirm(app, confirm_path(mail_of(outbox(app)[0]).text).rsplit("/", 1)[1])
    assert state(app, "ana@example.com")["subscriber"].name == "Ana"


def test_a_signup_for_a_suppressed_address_leaves_no_trace_but_the_suppression(
    app: App,
) -> None:
    store(app, "gone@example.com")
    process_signups(app)
    from newsletter.audience.staff import erase_subscriber

    erase_subscriber(app, "gone@example.com")
    store(app, "gone@example.com", "Back")
    assert list(process_signups(app).values()) == [SignupOutcome.SUPPRESSED]
    assert signups(app) == 0
    with app.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Subscriber)) == 0


def test_erasing_a_person_removes_their_waiting_signups(app: App) -> None:
    from newsletter.audience.staff import erase_subscriber

    store(app, "ana@example.com", "Ana")
    erase_subscriber(app, "ana@example.com")
    assert signups(app) == 0
    assert process_signups(app) == {}


def test_pending_records_go_with_the_purge_once_their_links_expired(
    app: App, clock: ManualClock
) -> None:
    store(app, "ana@example.com")
    process_signups(app)
    clock.advance(timedelta(hours=app.settings.pending_ttl_hours, seconds=1))
    store(app, "new@example.com")  # not processed yet: the purge leaves it alone
    with write_transaction(app.sessions) as session:
        purge_expired_pending(session, clock.now(),
                              pending_ttl_hours=app.settings.pending_ttl_hours)
    with app.sessions() as session:
        left = session.scalars(select(Signup.email)).all()
    assert left == ["new@example.com"]
