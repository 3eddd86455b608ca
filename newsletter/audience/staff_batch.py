"""Staff adding many people at once (a CSV import): the rules of ``activate_by_staff``, in bulk.

One batch runs in one write transaction: a read says what would happen to each
address (:func:`would_do`, two queries; the dry run uses it alone);
people nobody knows yet are inserted with their subscriptions and consent
records in three multi-row statements; the few others that change (a person
known from another list, a pending subscription) go through
:func:`~newsletter.audience.staff.activate_by_staff` one by one; everyone else
(already active, left, bounced, erased) is only counted, never written.

A signup of the same address committed between the read and the insert makes
the insert fail on the unique address; the caller's ``Transactions.run``
then runs the whole batch again, and the read sees that person.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from newsletter.audience import people
from newsletter.audience.consent import RequestInfo, append_consents, consent_row
from newsletter.audience.form import consent_text_hash
from newsletter.audience.people import new_public_id
from newsletter.audience.staff import StaffOutcome, activate_by_staff
from newsletter.catalog import KnownList
from newsletter.db.models import BLOCKED_STATES, Subscriber, Subscription, SubscriptionStatus
from newsletter.hooks import events as hook_events
from newsletter.hooks import outbox as hooks

_PEOPLE: Table = Subscriber.__table__  # type: ignore[assignment]
_SUBSCRIPTIONS: Table = Subscription.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class NewPerson:
    """One row to import: a normalised address, its optional details, and its file and line."""

    address: str
    name: str | None
    time_zone: str | None
    form: str


def activate_many(
    session: Session,
    rows: Sequence[NewPerson],
    *,
    known: KnownList,
    now: datetime,
    consent_text: str | None = None,
) -> list[StaffOutcome]:
    """Make every row active on ``known`` on staff's word, as ``activate_by_staff`` would.

    Returns one outcome per row, in order. Runs in the caller's transaction.
    """
    outcomes = would_do(session, [row.address for row in rows], known)
    candidates = [(index, row) for index, (row, outcome) in enumerate(
        zip(rows, outcomes, strict=True)) if outcome is StaffOutcome.ADDED]
    if not candidates:
        return outcomes
    known_people = set(session.scalars(select(Subscriber.email).where(
        Subscriber.email.in_([row.address for _index, row in candidates]))))
    strangers = [row for _index, row in candidates if row.address not in known_people]
    for index, row in candidates:
        if row.address in known_people:  # rare: a person of another list, or still pending
            outcomes[index] = activate_by_staff(
                session, address=row.address, name=row.name, time_zone=row.time_zone,
                known=known, now=now, method="import", form=row.form, consent_text=consent_text)
    if strangers:
        _insert_strangers(session, strangers, known, now, consent_text)
    return outcomes


def _insert_strangers(session: Session, rows: list[NewPerson], known: KnownList,
                      now: datetime, consent_text: str | None) -> None:
    public_ids = {row.address: new_public_id() for row in rows}
    session.execute(insert(_PEOPLE), [
        {"public_id": public_ids[row.address], "email": row.address, "name": row.name,
         "time_zone": row.time_zone, "created_at": now, "last_confirmation_at": None}
        for row in rows
    ])
    ids = dict(session.execute(select(Subscriber.email, Subscriber.id).where(
        Subscriber.email.in_([row.address for row in rows]))).all())
    session.execute(insert(_SUBSCRIPTIONS), [
        {"subscriber_id": ids[row.address], "list_id": known.id,
         "status": SubscriptionStatus.ACTIVE, "created_at": now, "updated_at": now,
         "confirmed_at": now, "unsubscribed_at": None, "unsubscribe_method": None,
         "pending_expires_at": None}
        for row in rows
    ])
    # By person id alone (see would_do): these people are new, so all theirs are on this list.
    subscription_ids = dict(session.execute(
        select(Subscription.subscriber_id, Subscription.id).where(
            Subscription.subscriber_id.in_(list(ids.values())))).all())
    text_hash = consent_text_hash(consent_text) if consent_text else None  # as one by one
    append_consents(session, [
        consent_row(subscription_id=subscription_ids[ids[row.address]], event="import",
                    email=row.address, list_slug=known.config.slug, now=now,
                    source=RequestInfo(form=row.form), method="import",
                    consent_text=consent_text, consent_hash=text_hash)
        for row in rows
    ])
    # The same "subscribed" webhook event as activate_by_staff sends, one per person.
    hooks.emit(session, [hooks.person(
        hook_events.SUBSCRIBED, email=row.address, public_id=public_ids[row.address],
        list_slug=known.config.slug, status="active", method="import") for row in rows], now)


def would_do(session: Session, addresses: list[str], known: KnownList) -> list[StaffOutcome]:
    """What :func:`activate_by_staff` would do to each address, read in three queries, no writes.

    People by address, then their subscriptions by person id (the unique index
    on subscriber and list): filtering on the list in SQL lets SQLite's planner
    walk every subscription of the list through its status index instead.
    """
    suppressed = people.suppressed_addresses(session, addresses)
    # Lists of rows: dict() of a Result itself would look its rows up as keys.
    ids = dict(session.execute(
        select(Subscriber.id, Subscriber.email).where(Subscriber.email.in_(addresses))).all())
    statuses: dict[str, str] = {}
    if ids:
        for subscriber_id, list_id, found in session.execute(
                select(Subscription.subscriber_id, Subscription.list_id, Subscription.status)
                .where(Subscription.subscriber_id.in_(list(ids)))).all():
            if list_id == known.id:
                statuses[ids[subscriber_id]] = found
    outcomes = []
    for address in addresses:
        status = statuses.get(address)
        if address in suppressed:
            outcomes.append(StaffOutcome.SUPPRESSED)
        elif status == SubscriptionStatus.UNSUBSCRIBED:
            outcomes.append(StaffOutcome.UNSUBSCRIBED)
        elif status in BLOCKED_STATES:
            outcomes.append(StaffOutcome.BLOCKED)
        elif status == SubscriptionStatus.ACTIVE:
            outcomes.append(StaffOutcome.EXISTING)
        else:
            outcomes.append(StaffOutcome.ADDED)
    return outcomes
