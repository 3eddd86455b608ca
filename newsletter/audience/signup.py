"""The subscription lifecycle: signup → pending → confirm → active, and the purge of stale signups.

A signup is appended as one ``signups`` row (:mod:`newsletter.audience.intake`)
and processed by the signup processor (:mod:`newsletter.audience.ingest`),
which holds the rules of who gets which email. :func:`subscribe` does both at
once for staff and tests; the web form only appends and lets a worker process.

Confirming is one write transaction: the subscription turns active, the
confirmed signup's name and time zone fill the person's empty fields (unless
contested), the consent record and the welcome email (an outbox row) commit
together or not at all (RELIABILITY #23). A confirm link only works while the
subscription is pending, so an old link never resubscribes someone who left.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session

from newsletter.audience import people
from newsletter.audience.consent import RequestInfo, VersionIndex, record_consent
from newsletter.audience.ingest import process_signups
from newsletter.audience.intake import SignupOutcome, SignupRequest, append_signups, signup_row
from newsletter.audience.mail import welcome_mail
from newsletter.audience.tokens import TokenError
from newsletter.catalog import KnownList
from newsletter.db.models import Signup, Subscriber, Subscription, SubscriptionStatus
from newsletter.db.transactions import rowcount
from newsletter.delivery.outbox import enqueue_transactional
from newsletter.errors import NotFoundError, SubscriptionError
from newsletter.hooks import events as hook_events
from newsletter.hooks import outbox as hooks

if TYPE_CHECKING:
    from newsletter.app import App

__all__ = ["ConfirmOutcome", "ConfirmRefused", "ConfirmResult", "ConfirmView", "SignupOutcome",
           "SignupRequest", "confirm", "inspect_confirm", "purge_expired_pending", "subscribe"]


class ConfirmOutcome(enum.StrEnum):
    """What pressing the confirm button did."""

    CONFIRMED = "confirmed"
    ALREADY_CONFIRMED = "already_confirmed"


class ConfirmRefused(SubscriptionError):
    """A valid link that cannot confirm: the signup expired, or the person left the list."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


@dataclass(frozen=True)
class ConfirmResult:
    """What pressing the button did, and the list's name for the page."""

    outcome: ConfirmOutcome
    list_name: str


@dataclass(frozen=True)
class ConfirmView:
    """What the confirm page shows before the button is pressed (read-only)."""

    list_name: str
    already_confirmed: bool


# --- signup ---------------------------------------------------------------------------------


def subscribe(app: App, request: SignupRequest) -> SignupOutcome:
    """Append one signup and process it at once (staff, tests); returns what it did.

    Raises AddressError for an unacceptable address or name and NotFoundError for
    an unknown list. The web form appends only (:func:`append_signups`) and
    leaves the processing to a worker.
    """
    row = signup_row(app, request, app.clock.now())
    with app.db.write("signing up") as session:
        append_signups(session, [row])
    outcomes = process_signups(app, public_ids=[row["public_id"]])
    return outcomes[row["public_id"]]


# --- confirm ----------------------------------------------------------------------------------


def _token_target(app: App, token: str) -> tuple[KnownList, str]:
    data = app.tokens.read_confirm(token, max_age=app.settings.pending_ttl_hours * 3600)
    if data.series is not None:
        raise TokenError("the confirmation link is damaged or not one of ours")
    known = app.catalog.lists().get(data.list_slug)
    if known is None:
        raise NotFoundError("this confirmation link belongs to a list that no longer exists")
    return known, data.subscriber


@dataclass
class _Target:
    """What a confirm link points to: the person, the subscription, the pending record."""

    person: Subscriber
    subscription: Subscription
    record: Signup | None  # None for links made before pending records existed


def _load(session: Session, token_id: str, list_id: int) -> _Target:
    """The pending record ``token_id`` names; links made before them name the person."""
    record = session.scalar(
        select(Signup).where(Signup.public_id == token_id, Signup.list_id == list_id))
    person = subscription = None
    if record is not None and record.subscription_id is not None:
        subscription = session.get(Subscription, record.subscription_id)
        if subscription is not None:
            person = session.get(Subscriber, subscription.subscriber_id)
    elif record is None:
        person = session.scalar(select(Subscriber).where(Subscriber.public_id == token_id))
        if person is not None:
            subscription = session.scalar(
                select(Subscription).where(
                    Subscription.subscriber_id == person.id, Subscription.list_id == list_id
                )
            )
    if person is None or subscription is None:
        raise NotFoundError("this confirmation link belongs to no current signup")
    return _Target(person, subscription, record)


def _check_pending(subscription: Subscription, now: datetime) -> None:
    if subscription.status != SubscriptionStatus.PENDING:
        raise ConfirmRefused("this confirmation link is no longer valid")
    if subscription.pending_expires_at is not None and subscription.pending_expires_at <= now:
        raise ConfirmRefused("this confirmation link has expired", expired=True)


def inspect_confirm(app: App, token: str) -> ConfirmView:
    """What a confirm link would do, without changing anything (the GET of the link)."""
    known, token_id = _token_target(app, token)
    with app.db.read("reading the signup") as session:
        subscription = _load(session, token_id, known.id).subscription
        if subscription.status == SubscriptionStatus.ACTIVE:
            return ConfirmView(known.config.name, already_confirmed=True)
        _check_pending(subscription, app.clock.now())
        return ConfirmView(known.config.name, already_confirmed=False)


def confirm(app: App, token: str, source: RequestInfo | None = None) -> ConfirmResult:
    """Make a pending subscription active and queue the welcome email, exactly once.

    A replay, or a second request racing the first, finds the row already active
    and changes nothing. TokenError, NotFoundError or ConfirmRefused otherwise.
    """
    known, token_id = _token_target(app, token)
    with app.db.read("confirming") as reader:
        whom = _load(reader, token_id, known.id).person
    mail = welcome_mail(app, email=whom.email, public_id=whom.public_id,
                        mailing_list=known.config)

    def work(session: Session) -> ConfirmOutcome:
        now = app.clock.now()
        target = _load(session, token_id, known.id)
        person, subscription = target.person, target.subscription
        if subscription.status == SubscriptionStatus.ACTIVE:
            return ConfirmOutcome.ALREADY_CONFIRMED
        _check_pending(subscription, now)
        # The conditional UPDATE is the guard against parallel confirms on PostgreSQL.
        result = session.execute(
            update(Subscription)
            .where(
                Subscription.id == subscription.id,
                Subscription.status == SubscriptionStatus.PENDING,
            )
            .values(
                status=SubscriptionStatus.ACTIVE,
                confirmed_at=now,
                updated_at=now,
                pending_expires_at=None,
            )
            .execution_options(synchronize_session=False)
        )
        if rowcount(result) != 1:
            return ConfirmOutcome.ALREADY_CONFIRMED
        if target.record is not None and not target.record.contested:
            # Only the confirmed signup's own fields, only where the person has none.
            people.fill_details(person, target.record.name, target.record.time_zone)
        record = target.record  # the signup confirmed: its consent text version is agreed to
        version = VersionIndex(session, [known.id]).find(
            known.id, record.consent_text_hash, record.received_at) if record else None
        record_consent(
            session, subscription_id=subscription.id, event="confirmed", email=person.email,
            list_slug=known.config.slug, now=now, source=source, method="confirm_link",
            consent_version_id=version.id if version is not None else None,
        )
        enqueue_transactional(
            session, subscriber_id=person.id, list_id=known.id, kind="welcome", mail=mail,
            now=now,
        )
        hooks.emit(session, [hooks.person(
            hook_events.CONFIRMED, email=person.email, public_id=person.public_id,
            list_slug=known.config.slug, status="active", method="confirm_link")], now)
        return ConfirmOutcome.CONFIRMED

    return ConfirmResult(app.db.run(work, doing="confirming"), known.config.name)


# --- housekeeping -----------------------------------------------------------------------------


def purge_expired_pending(session: Session, now: datetime, *, pending_ttl_hours: int = 48) -> int:
    """Delete pending signups past their expiry, and people left with no subscription.

    Pending records (processed ``signups`` rows) older than ``pending_ttl_hours``
    go too: their links have expired. Rows not yet processed always stay.
    Runs in the caller's transaction (the scheduler's job); returns how many signups went.
    """
    session.execute(
        delete(Signup)
        .where(Signup.processed_at.is_not(None),
               Signup.received_at <= now - timedelta(hours=pending_ttl_hours))
        .execution_options(synchronize_session=False)
    )
    expired = select(Subscription.id, Subscription.subscriber_id).where(
        Subscription.status == SubscriptionStatus.PENDING,
        Subscription.pending_expires_at <= now,
    )
    rows = session.execute(expired).all()
    if not rows:
        return 0
    session.execute(
        delete(Subscription)
        .where(Subscription.id.in_([r.id for r in rows]))
        .execution_options(synchronize_session=False)
    )
    session.execute(
        delete(Subscriber)
        .where(
            Subscriber.id.in_({r.subscriber_id for r in rows}),
            ~exists().where(Subscription.subscriber_id == Subscriber.id),
        )
        .execution_options(synchronize_session=False)
    )
    return len(rows)
