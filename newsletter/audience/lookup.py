"""One person as a caller with a staff role sees them: find by address or public id, leave, erase.

Used by the REST API (newsletter/web/api/); each state change writes its
audit entry (``actor``) in the same transaction, except erasure, whose service
(:func:`newsletter.audience.staff.erase_subscriber`) runs its own and is logged right after.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.accounts.audit import Actor, record, record_action
from newsletter.audience import people
from newsletter.audience.addresses import normalise_address
from newsletter.audience.staff import erase_subscriber
from newsletter.audience.tokens import TokenData
from newsletter.audience.unsubscribe import Scope, apply_unsubscribe, withdraw_everything
from newsletter.db.models import (
    ConsentRecord,
    MailingList,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)
from newsletter.errors import NotFoundError

if TYPE_CHECKING:
    from newsletter.app import App


@dataclass(frozen=True)
class ListMembership:
    """One of a person's subscriptions."""

    list_slug: str
    status: str
    created_at: datetime
    confirmed_at: datetime | None
    unsubscribed_at: datetime | None
    unsubscribe_method: str | None


@dataclass(frozen=True)
class ConsentEvent:
    """One entry of a person's consent trail."""

    event: str
    at: datetime
    list_slug: str
    form: str | None
    method: str | None
    page_url: str | None
    consent_text: str | None
    consent_text_sha256: str | None


@dataclass(frozen=True)
class PersonView:
    """A person: who, their lists, their consent trail."""

    public_id: str
    email: str
    name: str | None
    time_zone: str | None
    created_at: datetime
    subscriptions: list[ListMembership]
    consent: list[ConsentEvent]


def _view(session: Session, person: Subscriber) -> PersonView:
    memberships = [
        ListMembership(slug, sub.status, sub.created_at, sub.confirmed_at, sub.unsubscribed_at,
                       sub.unsubscribe_method)
        for sub, slug in session.execute(
            select(Subscription, MailingList.slug)
            .join(MailingList, MailingList.id == Subscription.list_id)
            .where(Subscription.subscriber_id == person.id).order_by(Subscription.id))
    ]
    consent = [
        ConsentEvent(row.event, row.occurred_at, row.list_slug, row.form, row.method,
                     row.page_url, row.consent_text, row.consent_text_hash)
        for row in session.scalars(
            select(ConsentRecord).join(Subscription,
                                       Subscription.id == ConsentRecord.subscription_id)
            .where(Subscription.subscriber_id == person.id).order_by(ConsentRecord.id))
    ]
    return PersonView(person.public_id, person.email, person.name, person.time_zone,
                      person.created_at, memberships, consent)


def _person(session: Session, *, email: str | None = None,
            public_id: str | None = None) -> Subscriber:
    if email is not None:
        address = normalise_address(email)
        found = session.scalar(select(Subscriber).where(Subscriber.email == address))
        if found is None:
            held = " (erased or suppressed: only a hash is kept)" if people.is_suppressed(
                session, address) else ""
            raise NotFoundError(f"no subscriber with the address {address}{held}")
        return found
    found = session.scalar(select(Subscriber).where(Subscriber.public_id == public_id))
    if found is None:
        raise NotFoundError(f"no subscriber with the id {public_id}")
    return found


def find_person(app: App, *, email: str | None = None, public_id: str | None = None
                ) -> PersonView:
    """The person with ``email`` (any case and form) or ``public_id``; NotFoundError otherwise."""
    with app.db.read("reading the subscriber") as session:
        return _view(session, _person(session, email=email, public_id=public_id))


def unsubscribe_person(app: App, public_id: str, list_slug: str | None, *, actor: Actor,
                       method: str = "api") -> PersonView:
    """End the person's subscription to ``list_slug`` (None: every list), with a withdrawal record.

    Repeating it changes nothing. NotFoundError for an unknown person or list.
    """
    now = app.clock.now()
    if list_slug is not None:
        app.catalog.find_list(list_slug)  # NotFoundError naming the list

    def work(session: Session) -> PersonView:
        person = _person(session, public_id=public_id)
        if list_slug is None:
            ended = withdraw_everything(session, person.id, method=method,
                                        status=SubscriptionStatus.UNSUBSCRIBED, now=now)
            changed = ended > 0
        else:
            changed = apply_unsubscribe(session, TokenData(public_id, list_slug), Scope.LIST,
                                        method=method, now=now).changed
        if changed:
            record(session, actor, "subscriber.unsubscribe", public_id,
                   f"from {list_slug or 'every list'}", now)
        session.flush()
        return _view(session, person)

    return app.db.run(work, doing="unsubscribing")


def erase_person(app: App, public_id: str, *, actor: Actor) -> str:
    """Erase the person (everything but the suppression hash); returns the address erased."""
    with app.db.read("reading the subscriber") as session:
        address = _person(session, public_id=public_id).email
    erase_subscriber(app, address)
    # By public id: the audit log is append-only and must not keep the erased address.
    record_action(app, actor, "subscriber.erase", public_id)
    return address
