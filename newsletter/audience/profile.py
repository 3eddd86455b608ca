"""One person as the console shows them: lists, the consent trail, what they got, bounces.

Read-only. The consent trail is the ``consent_records`` of each subscription
(RELIABILITY #11), oldest first, each with where it came from; a
``confirmation_sent`` record names its outbox row, whose Message-ID and send
time are shown beside it. Feedback events are those matched to the person or
carrying their address.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from newsletter.audience import people
from newsletter.db.models import (
    ConsentRecord,
    Delivery,
    FeedbackEvent,
    Issue,
    MailingList,
    Series,
    Subscriber,
    Subscription,
)
from newsletter.errors import NotFoundError

if TYPE_CHECKING:
    from newsletter.app import App

MAX_ROWS = 500  # deliveries and events shown; the JSON export has them all


@dataclass(frozen=True)
class ListMembership:
    """One subscription: the list, its status and when it changed."""

    list_slug: str
    list_name: str
    status: str
    created_at: datetime
    confirmed_at: datetime | None
    unsubscribed_at: datetime | None
    unsubscribe_method: str | None


@dataclass(frozen=True)
class ConsentStep:
    """One consent event, with where it came from (and, for a confirmation mail, its id)."""

    event: str
    at: datetime
    list_slug: str
    method: str | None
    ip: str | None
    user_agent: str | None
    page_url: str | None
    origin: str | None
    form: str | None
    consent_text: str | None
    consent_text_hash: str | None
    message_id: str | None
    mail_sent_at: datetime | None


@dataclass(frozen=True)
class Received:
    """One outbox row of the person: an issue or a transactional mail."""

    what: str
    title: str
    status: str
    queued_at: datetime
    sent_at: datetime | None
    message_id: str | None
    last_error: str | None


@dataclass(frozen=True)
class Feedback:
    """One bounce, complaint or auto-reply about the person, and what it did."""

    received_at: datetime
    kind: str
    source: str
    status_code: str | None
    diagnostic: str | None
    action: str
    reason: str


@dataclass(frozen=True)
class Profile:
    """Everything the person page shows."""

    public_id: str
    email: str
    name: str | None
    time_zone: str | None
    created_at: datetime
    suppressed: str | None
    lists: list[ListMembership]
    consent: list[ConsentStep]
    received: list[Received]
    feedback: list[Feedback]


def address_of(app: App, public_id: str) -> str:
    """The address of the person with ``public_id``; NotFoundError when there is none."""
    with app.db.read("finding the subscriber") as session:
        found = session.scalar(select(Subscriber.email).where(Subscriber.public_id == public_id))
    if found is None:
        raise NotFoundError("no such subscriber (they may have been erased)")
    return found


def person_profile(app: App, public_id: str) -> Profile:
    """The person with ``public_id``; NotFoundError when there is none (or they were erased)."""
    with app.db.read("reading the subscriber") as session:
        person = session.scalar(select(Subscriber).where(Subscriber.public_id == public_id))
        if person is None:
            raise NotFoundError("no such subscriber (they may have been erased)")
        suppressed = people.suppression(session, person.email)
        return Profile(
            public_id=person.public_id, email=person.email, name=person.name,
            time_zone=person.time_zone, created_at=person.created_at,
            suppressed=suppressed.reason if suppressed else None,
            lists=_lists(session, person.id), consent=_consent(session, person.id),
            received=_received(session, person.id),
            feedback=_feedback(session, person.id, person.email),
        )


def _lists(session: Session, person_id: int) -> list[ListMembership]:
    rows = session.execute(
        select(Subscription, MailingList.slug, MailingList.name)
        .join(MailingList, MailingList.id == Subscription.list_id)
        .where(Subscription.subscriber_id == person_id)
        .order_by(MailingList.slug))
    return [ListMembership(slug, name, sub.status, sub.created_at, sub.confirmed_at,
                           sub.unsubscribed_at, sub.unsubscribe_method)
            for sub, slug, name in rows]


def _consent(session: Session, person_id: int) -> list[ConsentStep]:
    rows = session.execute(
        select(ConsentRecord, Delivery.message_id, Delivery.sent_at)
        .join(Subscription, Subscription.id == ConsentRecord.subscription_id)
        .outerjoin(Delivery, Delivery.id == ConsentRecord.delivery_id)
        .where(Subscription.subscriber_id == person_id)
        .order_by(ConsentRecord.occurred_at, ConsentRecord.id))
    return [ConsentStep(
        event=record.event, at=record.occurred_at, list_slug=record.list_slug,
        method=record.method, ip=record.ip, user_agent=record.user_agent,
        page_url=record.page_url, origin=record.origin, form=record.form,
        consent_text=record.consent_text, consent_text_hash=record.consent_text_hash,
        message_id=message_id or record.message_id, mail_sent_at=sent_at,
    ) for record, message_id, sent_at in rows]


def _received(session: Session, person_id: int) -> list[Received]:
    rows = session.execute(
        select(Delivery, Series.slug, Issue.position, Issue.title)
        .outerjoin(Issue, Issue.id == Delivery.issue_id)
        .outerjoin(Series, Series.id == Issue.series_id)
        .where(Delivery.subscriber_id == person_id)
        .order_by(Delivery.queued_at.desc(), Delivery.id.desc())
        .limit(MAX_ROWS))
    return [Received(
        what=f"{slug}/{position}" if slug is not None else f"{delivery.kind} email",
        title=title or "", status=delivery.status, queued_at=delivery.queued_at,
        sent_at=delivery.sent_at, message_id=delivery.message_id,
        last_error=delivery.last_error,
    ) for delivery, slug, position, title in rows]


def _feedback(session: Session, person_id: int, address: str) -> list[Feedback]:
    rows = session.scalars(
        select(FeedbackEvent)
        .where(or_(FeedbackEvent.subscriber_id == person_id, FeedbackEvent.address == address))
        .order_by(FeedbackEvent.received_at.desc(), FeedbackEvent.id.desc())
        .limit(MAX_ROWS))
    return [Feedback(event.received_at, event.kind, event.source, event.status_code,
                     event.diagnostic, event.action, event.reason) for event in rows]
