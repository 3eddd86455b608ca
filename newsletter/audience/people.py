"""People, their subscriptions and suppressions: every lookup and insert of them happens here.

* One person per normalised address (:func:`find_or_create`), one
  subscription per person and list (:func:`find_or_create_subscription`).
* A suppressed address is never mailed again: erased people remain only as
  the sha256 of their address (:func:`~newsletter.audience.addresses.address_hash`),
  hard bounces and complaints are listed beside them. :func:`is_suppressed` is
  the one check, :func:`suppress` the one insert ("erased" always wins over
  an earlier reason, so an erasure is recorded as such; other reasons keep the
  first one seen).

All functions run in the caller's transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from newsletter.audience.addresses import address_hash
from newsletter.db.models import (
    SUBSCRIBED_STATES,
    MailingList,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    Suppression,
)
from newsletter.db.sets import one_of
from newsletter.hooks import outbox as hooks

ERASED = "erased"


def new_public_id() -> str:
    """An opaque id for tokens: never the address, never the row id (RELIABILITY #2)."""
    return secrets.token_urlsafe(16)


def suppression(session: Session, address: str) -> Suppression | None:
    """The suppression of a normalised address, if it has one."""
    digest = address_hash(address)
    return session.scalar(select(Suppression).where(Suppression.email_hash == digest))


def is_suppressed(session: Session, address: str) -> bool:
    """True when a normalised address must never be mailed again."""
    found = session.scalar(
        select(Suppression.id).where(Suppression.email_hash == address_hash(address)))
    return found is not None


def suppressed_addresses(session: Session, addresses: Iterable[str]) -> set[str]:
    """Which of ``addresses`` are suppressed (one query for a whole batch)."""
    hashes = {address_hash(address): address for address in addresses}
    if not hashes:
        return set()
    found = session.scalars(
        select(Suppression.email_hash).where(one_of(session, Suppression.email_hash, hashes)))
    return {hashes[digest] for digest in found}


def suppress(session: Session, address: str, reason: str, now: datetime) -> None:
    """List a normalised address as never to be mailed again, for ``reason``."""
    existing = suppression(session, address)
    if existing is None:
        session.add(Suppression(email_hash=address_hash(address), reason=reason, created_at=now))
        session.flush()
    elif reason == ERASED:
        existing.reason = ERASED


def block_person(session: Session, subscriber_id: int, address: str,
                 status: SubscriptionStatus, now: datetime) -> None:
    """End every live subscription of a person as ``status`` (e.g. a hard bounce) and suppress."""
    hooks.emit_leaving(session, status, subscriber_id, now)
    session.execute(
        update(Subscription)
        .where(Subscription.subscriber_id == subscriber_id,
               Subscription.status.in_(SUBSCRIBED_STATES))
        .values(status=status, updated_at=now)
    )
    suppress(session, address, str(status), now)


def find_or_create(
    session: Session,
    address: str,
    *,
    now: datetime,
    name: str | None = None,
    time_zone: str | None = None,
    public_id: str | None = None,
) -> Subscriber:
    """The person with the normalised ``address``; created (and flushed) when new.

    An existing person keeps their name and time zone: only the person decides those.
    """
    person = session.scalar(select(Subscriber).where(Subscriber.email == address))
    if person is None:
        person = Subscriber(public_id=public_id or new_public_id(), email=address, name=name,
                            time_zone=time_zone, created_at=now)
        session.add(person)
        session.flush()
    return person


def fill_details(person: Subscriber, name: str | None, time_zone: str | None) -> None:
    """Give ``person`` a name and time zone where they have none; never replace either."""
    if person.name is None and name:
        person.name = name
    if person.time_zone is None and time_zone:
        person.time_zone = time_zone


def find_or_create_subscription(
    session: Session, subscriber_id: int, list_id: int, now: datetime
) -> tuple[Subscription, bool]:
    """The person's subscription to the list, and whether it existed before."""
    subscription = session.scalar(
        select(Subscription).where(
            Subscription.subscriber_id == subscriber_id, Subscription.list_id == list_id
        )
    )
    if subscription is not None:
        return subscription, True
    subscription = Subscription(subscriber_id=subscriber_id, list_id=list_id, created_at=now,
                                updated_at=now)
    session.add(subscription)
    return subscription, False


def subscriptions_of(
    session: Session, *order_by: Any, list_slug: str | None = None, status: str | None = None
) -> Iterator[tuple[Subscriber, Subscription, str]]:
    """People × subscriptions × list slug in ``order_by`` order, optionally of one list/status."""
    query = (
        select(Subscriber, Subscription, MailingList.slug)
        .join(Subscription, Subscription.subscriber_id == Subscriber.id)
        .join(MailingList, MailingList.id == Subscription.list_id)
    )
    if list_slug:
        query = query.where(MailingList.slug == list_slug)
    if status:
        query = query.where(Subscription.status == status)
    for row in session.execute(query.order_by(*order_by)):
        yield row[0], row[1], row[2]
