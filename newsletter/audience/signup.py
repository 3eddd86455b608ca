"""The subscription lifecycle: signup → pending → confirm → active, and the purge of stale signups.

Every public entry point owns one write transaction: the subscriber row, its
consent record and its confirmation or welcome email (an outbox row) commit
together or not at all (RELIABILITY #23). Rendering happens before the write
lock is taken, so SQLite holds its lock for a few small statements only.

Rules where the issue leaves the choice to us (also in docs/subscribers.md):

* The public form never changes an existing subscriber's name or time zone
  (a stranger could otherwise rename someone); it only fills an empty time zone.
* Suppressed addresses (erased, bounced, complained) get nothing from the form.
* Unsubscribed people may come back through the form, always by double opt-in
  (even on a list without it): a new confirmation email, a new consent record.
  A confirm link only works while the subscription is pending, so an old link
  never resubscribes someone who unsubscribed.
* One confirmation email per address per ``confirm_cooldown_seconds``, claimed
  with a conditional UPDATE (atomic on every backend).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, exists, or_, select, update
from sqlalchemy.orm import Session

from newsletter.audience import people
from newsletter.audience.addresses import (
    clean_name,
    clean_time_zone,
    normalise_address,
    require_mailable,
)
from newsletter.audience.consent import RequestInfo, record_consent
from newsletter.audience.form import consent_text_hash
from newsletter.audience.mail import confirmation_mail, welcome_mail
from newsletter.audience.tokens import TokenError
from newsletter.catalog import KnownList
from newsletter.db.models import BLOCKED_STATES, Subscriber, Subscription, SubscriptionStatus
from newsletter.db.transactions import rowcount
from newsletter.delivery.outbox import TransactionalMail, enqueue_transactional
from newsletter.errors import NotFoundError, SubscriptionError

if TYPE_CHECKING:
    from newsletter.app import App


class SignupOutcome(enum.StrEnum):
    """What a signup did (never shown to the public: every outcome looks the same there)."""

    CONFIRMATION_SENT = "confirmation_sent"
    COOLDOWN = "cooldown"
    ALREADY_ACTIVE = "already_active"
    ACTIVATED = "activated"
    SUPPRESSED = "suppressed"
    BLOCKED = "blocked"


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
class SignupRequest:
    """One submission of the form, as received (the service validates it)."""

    email: str
    list_slug: str
    name: str | None = None
    time_zone: str | None = None
    consent_hash: str | None = None
    source: RequestInfo = field(default_factory=RequestInfo)
    by_staff: bool = False  # `subscribers add`: the confirmation mail must not say "our form"


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


def _claim_cooldown(session: Session, subscriber_id: int, now: datetime, seconds: int) -> bool:
    """Atomically take this address's confirmation slot; False while the cooldown runs."""
    horizon = now - timedelta(seconds=seconds)
    result = session.execute(
        update(Subscriber)
        .where(
            Subscriber.id == subscriber_id,
            or_(
                Subscriber.last_confirmation_at.is_(None),
                Subscriber.last_confirmation_at <= horizon,
            ),
        )
        .values(last_confirmation_at=now)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


def subscribe(app: App, request: SignupRequest) -> SignupOutcome:
    """Record a form submission; queue the confirmation (or welcome) email when one is due.

    Raises AddressError for an unacceptable address or name and NotFoundError for an
    unknown list; every other case returns an outcome the web layer does not reveal.
    """
    address = require_mailable(normalise_address(request.email), smtp_utf8=app.settings.smtp_utf8)
    name = clean_name(request.name)
    zone = clean_time_zone(request.time_zone)
    known = app.catalog.find_list(request.list_slug)
    config = known.config
    current_text_hash = consent_text_hash(config.consent_text)
    shown_hash = request.consent_hash if _is_hex64(request.consent_hash) else current_text_hash
    shown_text = config.consent_text if shown_hash == current_text_hash else None

    with app.db.read("signing up") as reader:
        existing = reader.execute(
            select(Subscriber.public_id).where(Subscriber.email == address)
        ).scalar_one_or_none()
    public_id = existing or people.new_public_id()
    # Rendered on every path (also when nothing will be sent) so every address costs the
    # same work and answers in similar time (RELIABILITY #25).
    prepared = {public_id: _signup_mail(app, known, address, public_id, request.by_staff)}
    settings = app.settings

    def work(session: Session) -> SignupOutcome:
        now = app.clock.now()
        if people.is_suppressed(session, address):
            return SignupOutcome.SUPPRESSED
        person = people.find_or_create(session, address, now=now, name=name, time_zone=zone,
                                       public_id=public_id)
        if person.time_zone is None and zone is not None:
            person.time_zone = zone  # the form may fill an empty zone, never change one
        subscription, returning = people.find_or_create_subscription(
            session, person.id, known.id, now)
        if returning and subscription.status == SubscriptionStatus.ACTIVE:
            return SignupOutcome.ALREADY_ACTIVE
        if returning and subscription.status in BLOCKED_STATES:
            return SignupOutcome.BLOCKED
        single = not config.double_opt_in and not returning
        subscription.status = SubscriptionStatus.ACTIVE if single else SubscriptionStatus.PENDING
        subscription.updated_at = now
        subscription.pending_expires_at = (
            None if single else now + timedelta(hours=settings.pending_ttl_hours)
        )
        if single:
            subscription.confirmed_at = now
        session.flush()
        common: dict[str, Any] = {
            "subscription_id": subscription.id, "email": address, "list_slug": config.slug,
            "now": now,
        }
        record_consent(
            session, event="signup", source=request.source, consent_text=shown_text,
            consent_hash=shown_hash, method="form", **common,
        )
        if single:
            record_consent(session, event="activated", method="single_opt_in", **common)
            mail = _mail_for(app, known, address, person.public_id, prepared, welcome=True)
            enqueue_transactional(
                session, subscriber_id=person.id, list_id=known.id, kind="welcome",
                mail=mail, now=now,
            )
            return SignupOutcome.ACTIVATED
        if not _claim_cooldown(session, person.id, now, settings.confirm_cooldown_seconds):
            return SignupOutcome.COOLDOWN
        mail = _mail_for(app, known, address, person.public_id, prepared, welcome=False,
                         by_staff=request.by_staff)
        row = enqueue_transactional(
            session, subscriber_id=person.id, list_id=known.id, kind="confirmation",
            mail=mail, now=now,
        )
        record_consent(
            session, event="confirmation_sent", method="email", delivery_id=row.id, **common
        )
        return SignupOutcome.CONFIRMATION_SENT

    return app.db.run(work, doing="signing up")


def _signup_mail(app: App, known: KnownList, address: str, public_id: str,
                 by_staff: bool) -> TransactionalMail:
    if not known.config.double_opt_in:
        return welcome_mail(app, email=address, public_id=public_id, mailing_list=known.config)
    return confirmation_mail(app, email=address, public_id=public_id,
                             mailing_list=known.config, by_staff=by_staff)


def _mail_for(
    app: App,
    known: KnownList,
    address: str,
    public_id: str,
    prepared: dict[str, TransactionalMail],
    *,
    welcome: bool,
    by_staff: bool = False,
) -> TransactionalMail:
    """The pre-rendered mail when it fits; render now in the rare case it does not."""
    fits = public_id in prepared and welcome == (not known.config.double_opt_in)
    if fits:
        return prepared[public_id]
    if welcome:
        return welcome_mail(app, email=address, public_id=public_id, mailing_list=known.config)
    return confirmation_mail(app, email=address, public_id=public_id,
                             mailing_list=known.config, by_staff=by_staff)


def _is_hex64(value: str | None) -> bool:
    return (
        value is not None and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
    )


# --- confirm ----------------------------------------------------------------------------------


def _token_target(app: App, token: str) -> tuple[KnownList, str]:
    data = app.tokens.read_confirm(token, max_age=app.settings.pending_ttl_hours * 3600)
    if data.series is not None:
        raise TokenError("the confirmation link is damaged or not one of ours")
    known = app.catalog.lists().get(data.list_slug)
    if known is None:
        raise NotFoundError("this confirmation link belongs to a list that no longer exists")
    return known, data.subscriber


def _load(session: Session, public_id: str, list_id: int) -> tuple[Subscriber, Subscription]:
    person = session.scalar(select(Subscriber).where(Subscriber.public_id == public_id))
    subscription = None
    if person is not None:
        subscription = session.scalar(
            select(Subscription).where(
                Subscription.subscriber_id == person.id, Subscription.list_id == list_id
            )
        )
    if person is None or subscription is None:
        raise NotFoundError("this confirmation link belongs to no current signup")
    return person, subscription


def _check_pending(subscription: Subscription, now: datetime) -> None:
    if subscription.status != SubscriptionStatus.PENDING:
        raise ConfirmRefused("this confirmation link is no longer valid")
    if subscription.pending_expires_at is not None and subscription.pending_expires_at <= now:
        raise ConfirmRefused("this confirmation link has expired", expired=True)


def inspect_confirm(app: App, token: str) -> ConfirmView:
    """What a confirm link would do, without changing anything (the GET of the link)."""
    known, public_id = _token_target(app, token)
    with app.db.read("reading the signup") as session:
        _person, subscription = _load(session, public_id, known.id)
        if subscription.status == SubscriptionStatus.ACTIVE:
            return ConfirmView(known.config.name, already_confirmed=True)
        _check_pending(subscription, app.clock.now())
        return ConfirmView(known.config.name, already_confirmed=False)


def confirm(app: App, token: str, source: RequestInfo | None = None) -> ConfirmResult:
    """Make a pending subscription active and queue the welcome email, exactly once.

    A replay, or a second request racing the first, finds the row already active
    and changes nothing. TokenError, NotFoundError or ConfirmRefused otherwise.
    """
    known, public_id = _token_target(app, token)
    with app.db.read("confirming") as reader:
        address = reader.scalar(select(Subscriber.email).where(Subscriber.public_id == public_id))
    if address is None:
        raise NotFoundError("this confirmation link belongs to no current signup")
    mail = welcome_mail(app, email=address, public_id=public_id, mailing_list=known.config)

    def work(session: Session) -> ConfirmOutcome:
        now = app.clock.now()
        person, subscription = _load(session, public_id, known.id)
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
        record_consent(
            session, subscription_id=subscription.id, event="confirmed", email=person.email,
            list_slug=known.config.slug, now=now, source=source, method="confirm_link",
        )
        enqueue_transactional(
            session, subscriber_id=person.id, list_id=known.id, kind="welcome", mail=mail,
            now=now,
        )
        return ConfirmOutcome.CONFIRMED

    return ConfirmResult(app.db.run(work, doing="confirming"), known.config.name)


# --- housekeeping -----------------------------------------------------------------------------


def purge_expired_pending(session: Session, now: datetime) -> int:
    """Delete pending signups past their expiry, and people left with no subscription.

    Runs in the caller's transaction (the scheduler's job); returns how many signups went.
    """
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
