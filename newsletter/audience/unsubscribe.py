"""Unsubscribing: from one series, one list, or everything; effective at once (RELIABILITY #10).

The token (from the List-Unsubscribe URL or the footer link) names the
subscriber's public id, the list and, for issue mail, the series. Nothing
else is needed: no login, no cookie. Changes take effect for queued mail as
well, because every delivery is checked again when it is claimed
(:mod:`newsletter.delivery.claims`). Repeating an unsubscribe changes nothing
and answers the same (RFC 8058 §3.2: idempotent).

An unsubscribe from the page can be undone for :data:`UNDO_WINDOW` with a
"Resubscribe" button: a POST carrying a signed undo token that names this
link, the scope and the moment, so it reverses exactly that unsubscribe.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from newsletter.audience.addresses import mask_address
from newsletter.audience.consent import RequestInfo, record_consent, record_withdrawal
from newsletter.audience.tokens import TokenData, TokenError, UndoData
from newsletter.db.models import (
    SUBSCRIBED_STATES,
    MailingList,
    Series,
    SeriesOptOut,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)
from newsletter.errors import NotFoundError
from newsletter.hooks import events as hook_events
from newsletter.hooks import outbox as hooks

if TYPE_CHECKING:
    from newsletter.app import App

UNDO_WINDOW = timedelta(minutes=10)  # how long the "Resubscribe" button works


class Scope(enum.StrEnum):
    """How much to leave."""

    SERIES = "series"
    LIST = "list"
    EVERYTHING = "everything"


@dataclass(frozen=True)
class UnsubscribeView:
    """What the unsubscribe page shows for a valid token."""

    list_name: str
    series_title: str | None
    subscribed: bool  # still on the list (False: already left it)
    masked_address: str = ""  # whose link it is, as the page may show it
    left_series: bool = False  # already out of the link's series




@dataclass(frozen=True)
class UnsubscribeResult:
    """What an unsubscribe did."""

    scope: Scope
    list_name: str
    series_title: str | None
    changed: bool
    at: datetime | None = None  # when it took effect (what an undo reverses)
    undo: str | None = None  # the "Resubscribe" button's token, when there is anything to undo


@dataclass(frozen=True)
class ResubscribeResult:
    """What an undo restored."""

    scope: Scope
    list_name: str
    series_title: str | None


def read_token(app: App, token: str) -> TokenData:
    """The data of an unsubscribe token, or TokenError (never a state change)."""
    return app.tokens.read_unsubscribe(token)


def _load(session: Session, data: TokenData) -> tuple[Subscriber, MailingList, Series | None]:
    person = session.scalar(select(Subscriber).where(Subscriber.public_id == data.subscriber))
    mailing_list = session.scalar(select(MailingList).where(MailingList.slug == data.list_slug))
    if person is None or mailing_list is None:
        # Erased people and deleted lists: nothing left to unsubscribe, and nothing to mail.
        raise NotFoundError("we have no subscription for this link any more; you get no mail")
    series = None
    if data.series:
        series = session.scalar(select(Series).where(Series.slug == data.series))
    return person, mailing_list, series


def unsubscribe_view(app: App, token: str) -> UnsubscribeView:
    """What the GET page shows; reads only."""
    data = read_token(app, token)
    with app.db.read("reading the subscription") as session:
        person, mailing_list, series = _load(session, data)
        status = session.scalar(select(Subscription.status).where(
            Subscription.subscriber_id == person.id, Subscription.list_id == mailing_list.id))
        left = series is not None and session.scalar(select(SeriesOptOut.id).where(
            SeriesOptOut.subscriber_id == person.id,
            SeriesOptOut.series_id == series.id)) is not None
        return UnsubscribeView(mailing_list.name, series.title if series else None,
                               status in SUBSCRIBED_STATES, mask_address(person.email), left)


def unsubscribe(app: App, token: str, scope: Scope, *, method: str,
                source: RequestInfo | None = None) -> UnsubscribeResult:
    """Apply an unsubscribe of ``scope`` for the token's subscriber, in one transaction."""
    data = read_token(app, token)
    now = app.clock.now()
    with app.db.write("unsubscribing") as session:
        result = apply_unsubscribe(session, data, scope, method=method, now=now, source=source)
    if not result.changed:
        return result
    return replace(result, undo=app.tokens.undo(UndoData(data, str(result.scope), now)))


def resubscribe(app: App, token: str, undo: str, *,
                source: RequestInfo | None = None) -> ResubscribeResult:
    """Reverse the unsubscribe that ``undo`` names, within :data:`UNDO_WINDOW`; TokenError else.

    The undo token must belong to this very link (``token``); it restores only
    what that unsubscribe changed (rows it stamped at its moment), so an older
    unsubscribe or a staff change stays as it was.
    """
    data = read_token(app, token)
    undo_data = app.tokens.read_undo(undo)
    if undo_data.link != data:
        raise TokenError("the resubscribe button does not belong to this link")
    try:
        scope = Scope(undo_data.scope)
    except ValueError:
        raise TokenError("the resubscribe button's data is damaged or not ours") from None
    now = app.clock.now()
    if not timedelta(0) <= now - undo_data.at <= UNDO_WINDOW:
        raise TokenError("the time to undo has passed", expired=True)
    with app.db.write("resubscribing") as session:
        person, mailing_list, series = _load(session, data)
        if scope == Scope.SERIES and series is not None:
            session.execute(delete(SeriesOptOut).where(
                SeriesOptOut.subscriber_id == person.id, SeriesOptOut.series_id == series.id,
                SeriesOptOut.created_at >= undo_data.at))
        else:
            query = select(Subscription, MailingList.slug).join(
                MailingList, MailingList.id == Subscription.list_id).where(
                Subscription.subscriber_id == person.id,
                Subscription.status == SubscriptionStatus.UNSUBSCRIBED,
                Subscription.unsubscribe_method == "page",  # not a complaint or staff's change
                Subscription.unsubscribed_at >= undo_data.at)
            if scope == Scope.LIST:
                query = query.where(Subscription.list_id == mailing_list.id)
            for subscription, slug in session.execute(query):
                subscription.status = SubscriptionStatus.ACTIVE
                subscription.unsubscribed_at = None
                subscription.unsubscribe_method = None
                subscription.updated_at = now
                record_consent(session, subscription_id=subscription.id, event="resubscribed",
                               email=person.email, list_slug=slug, now=now, source=source,
                               method="undo")
        session.flush()
        return ResubscribeResult(scope, mailing_list.name, series.title if series else None)


def apply_unsubscribe(session: Session, data: TokenData, scope: Scope, *, method: str,
                      now: datetime, source: RequestInfo | None = None) -> UnsubscribeResult:
    """The unsubscribe itself, in the caller's transaction."""
    person, mailing_list, series = _load(session, data)
    if scope == Scope.SERIES and series is None:
        scope = Scope.LIST  # a link without a series (or a series since removed)
    changed = False
    left: list[hooks.Happening] = []
    if scope == Scope.SERIES:
        assert series is not None
        exists = session.scalar(select(SeriesOptOut.id).where(
            SeriesOptOut.subscriber_id == person.id, SeriesOptOut.series_id == series.id))
        if exists is None:
            session.add(SeriesOptOut(subscriber_id=person.id, series_id=series.id,
                                     created_at=now))
            changed = True
            left.append(hooks.person(
                hook_events.UNSUBSCRIBED, email=person.email, public_id=person.public_id,
                list_slug=mailing_list.slug, scope="series", series=series.slug,
                method=method))
    else:
        query = select(Subscription, MailingList.slug).join(
            MailingList, MailingList.id == Subscription.list_id).where(
            Subscription.subscriber_id == person.id,
            Subscription.status.in_(SUBSCRIBED_STATES))
        if scope == Scope.LIST:
            query = query.where(Subscription.list_id == mailing_list.id)
        for subscription, slug in session.execute(query):
            subscription.status = SubscriptionStatus.UNSUBSCRIBED
            subscription.unsubscribed_at = now
            subscription.updated_at = now
            subscription.unsubscribe_method = method
            record_withdrawal(session, subscription_id=subscription.id, email=person.email,
                              list_slug=slug, method=method, now=now, source=source)
            changed = True
            left.append(hooks.person(
                hook_events.UNSUBSCRIBED, email=person.email, public_id=person.public_id,
                list_slug=slug, scope="list", method=method))
    hooks.emit(session, left, now)
    session.flush()
    return UnsubscribeResult(scope, mailing_list.name, series.title if series else None, changed,
                             now)


def withdraw_everything(session: Session, subscriber_id: int, *, method: str,
                        status: SubscriptionStatus, now: datetime) -> int:
    """End every live subscription of a person as ``status`` with ``method`` (e.g. a complaint).

    Each one gets its withdrawal record, as an unsubscribe does; returns how many ended.
    """
    hooks.emit_leaving(session, status, subscriber_id, now, method=method)
    rows = session.execute(
        select(Subscription, MailingList.slug, Subscriber.email)
        .join(MailingList, MailingList.id == Subscription.list_id)
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
        .where(Subscription.subscriber_id == subscriber_id,
               Subscription.status.in_(SUBSCRIBED_STATES))).all()
    for subscription, slug, address in rows:
        subscription.status = status
        subscription.unsubscribed_at = now
        subscription.updated_at = now
        subscription.unsubscribe_method = method
        record_withdrawal(session, subscription_id=subscription.id, email=address,
                          list_slug=slug, method=method, now=now)
    session.flush()
    return len(rows)
