"""The webhook outbox: events written in the caller's transaction, one delivery per endpoint.

Every place where something staff may want to hear about happens calls
:func:`emit` (or :func:`emit_leaving`) once, inside the transaction that
makes the change, so the event commits with the change or not at all. An
event is stored only when an enabled endpoint asks for its type; each such
endpoint gets a ``pending`` delivery that the dispatcher sends.

The body (JSON: ``type``, ``timestamp``, ``data``) is made here, once, and
sent byte for byte on every attempt; its ``id`` is the ``webhook-id``.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from newsletter.db.models import (
    OPEN_STATES,
    SUBSCRIBED_STATES,
    Delivery,
    HookDelivery,
    HookEndpoint,
    HookEvent,
    Issue,
    MailingList,
    Series,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)
from newsletter.hooks import events

PENDING = "pending"
SENDING = "sending"
DELIVERED = "delivered"
FAILED = "failed"

_LEAVING = {SubscriptionStatus.UNSUBSCRIBED: events.UNSUBSCRIBED,
            SubscriptionStatus.BOUNCED: events.BOUNCED,
            SubscriptionStatus.COMPLAINED: events.COMPLAINED}


@dataclass(frozen=True)
class Happening:
    """One event to report: its type, its ``data`` object, and an optional once-only key."""

    type: str
    data: dict[str, Any] = field(default_factory=dict)
    dedupe_key: str | None = None


def person(type_: str, *, email: str, public_id: str, list_slug: str,
           **details: Any) -> Happening:
    """A subscriber event: who, on which list, and any details (status, method, series)."""
    return Happening(type_, {"email": email, "subscriber_id": public_id, "list": list_slug,
                             **{key: value for key, value in details.items()
                                if value is not None}})


def new_event_id() -> str:
    """A fresh ``webhook-id``: unique, unguessable, the same on every retry."""
    return "msg_" + secrets.token_hex(12)


def body_of(event_id: str, happening: Happening, now: datetime) -> str:
    """The exact JSON body sent for ``happening``."""
    return json.dumps({"id": event_id, "type": happening.type,
                       "timestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                       "data": happening.data}, ensure_ascii=False, separators=(",", ":"))


def _wanted(session: Session, types: set[str]) -> dict[str, list[int]]:
    rows = session.execute(select(HookEndpoint.id, HookEndpoint.events).where(
        HookEndpoint.enabled.is_(True)).order_by(HookEndpoint.id))
    wanted: dict[str, list[int]] = {name: [] for name in types}
    for endpoint_id, names in rows:
        for name in names.split(","):
            if name in wanted:
                wanted[name].append(endpoint_id)
    return wanted


def emit(session: Session, happenings: Iterable[Happening], now: datetime, *,
         endpoint_ids: Sequence[int] | None = None) -> list[str]:
    """Store each happening some endpoint wants, with its deliveries; returns the event ids.

    ``endpoint_ids`` sends to those endpoints whatever they asked for (the
    console's test event). Runs in the caller's transaction.
    """
    items = list(happenings)
    if not items:
        return []
    wanted = ({item.type: list(endpoint_ids) for item in items} if endpoint_ids is not None
              else _wanted(session, {item.type for item in items}))
    chosen = [item for item in items if wanted.get(item.type)]
    if not chosen:
        return []
    ids = [new_event_id() for _ in chosen]
    made = list(session.scalars(
        insert(HookEvent).returning(HookEvent.id, sort_by_parameter_order=True),
        [{"public_id": event_id, "type": item.type, "body": body_of(event_id, item, now),
          "dedupe_key": item.dedupe_key, "created_at": now}
         for event_id, item in zip(ids, chosen, strict=True)]))
    session.execute(insert(HookDelivery), [
        {"event_id": row_id, "endpoint_id": endpoint_id, "status": PENDING, "attempts": 0,
         "next_attempt_at": now, "created_at": now, "updated_at": now}
        for row_id, item in zip(made, chosen, strict=True) for endpoint_id in wanted[item.type]])
    return ids


def emit_leaving(session: Session, status: SubscriptionStatus, subscriber_id: int,
                 now: datetime, *, method: str | None = None) -> None:
    """Report that the person's live subscriptions end as ``status`` (call it before they do)."""
    type_ = _LEAVING.get(status)
    if type_ is None:
        return
    rows = session.execute(
        select(Subscriber.email, Subscriber.public_id, MailingList.slug)
        .join(Subscription, Subscription.subscriber_id == Subscriber.id)
        .join(MailingList, MailingList.id == Subscription.list_id)
        .where(Subscriber.id == subscriber_id, Subscription.status.in_(SUBSCRIBED_STATES))
        .order_by(MailingList.slug)).all()
    emit(session, [person(type_, email=email, public_id=public_id, list_slug=slug,
                          method=method) for email, public_id, slug in rows], now)


def emit_issues_finished(session: Session, delivery_ids: Sequence[int], now: datetime) -> None:
    """Report ``issue.sent`` for each issue of these deliveries whose queue is now empty.

    Called where the sender records results. Costs one small query unless an
    endpoint asks for ``issue.sent``. Each emptying of an issue's queue is
    reported once (its dedupe key is the issue and its newest delivery).
    """
    if not delivery_ids or not _wanted(session, {events.ISSUE_SENT})[events.ISSUE_SENT]:
        return
    issue_ids = set(session.scalars(select(Delivery.issue_id).where(
        Delivery.id.in_(delivery_ids), Delivery.issue_id.is_not(None)).distinct()))
    for issue_id in sorted(i for i in issue_ids if i is not None):
        still_open = session.scalar(select(exists().where(
            Delivery.issue_id == issue_id, Delivery.status.in_(OPEN_STATES))))
        if still_open:
            continue
        counts = {str(status): int(count) for status, count in session.execute(
            select(Delivery.status, func.count()).where(Delivery.issue_id == issue_id)
            .group_by(Delivery.status))}
        newest = session.scalar(select(func.max(Delivery.id)).where(
            Delivery.issue_id == issue_id))
        key = f"issue.sent:{issue_id}:{newest}"
        if session.scalar(select(HookEvent.id).where(HookEvent.dedupe_key == key)) is not None:
            continue
        row = session.execute(select(Series.slug, Issue.position, Issue.title).join(
            Series, Series.id == Issue.series_id).where(Issue.id == issue_id)).first()
        if row is None:
            continue
        happening = Happening(events.ISSUE_SENT, {
            "series": row.slug, "issue": row.position, "title": row.title,
            "recipients": sum(counts.values()), "counts": counts}, key)
        try:
            with session.begin_nested():  # another worker may report the same emptying
                emit(session, [happening], now)
        except IntegrityError:
            continue
