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

import contextlib
import enum
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, delete, exists, or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from newsletter.addresses import (
    address_hash,
    clean_name,
    clean_time_zone,
    normalise_address,
    require_mailable,
)
from newsletter.app import App
from newsletter.consent import RequestInfo, consent_text_hash, record_consent
from newsletter.db.engine import is_sqlite, write_transaction
from newsletter.db.models import (
    MailingList,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    Suppression,
)
from newsletter.delivery.outbox import TransactionalMail, enqueue_transactional
from newsletter.errors import DatabaseError, NotFoundError, SubscriptionError
from newsletter.lists import LISTS_FILE, ListConfig, read_lists, sync_lists
from newsletter.subscriber_mail import confirmation_mail, tokens_for, welcome_mail
from newsletter.tokens import TokenError

T = TypeVar("T")
_LISTS_KEY = "subscriptions.lists"
_LISTS_LOCK = threading.Lock()
_GATE_KEY = "subscriptions.sqlite_writer"
RETRIES = 3


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
class KnownList:
    """A declared list and its row id."""

    config: ListConfig
    id: int


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


# --- lists --------------------------------------------------------------------------------


def ensure_lists(app: App) -> dict[str, KnownList]:
    """Declared lists by slug, synced to the database when ``lists.toml`` changed."""
    path = app.settings.subscribers_path / LISTS_FILE
    stamp = (path.stat().st_mtime_ns, path.stat().st_size) if path.exists() else None
    cached = app.extras.get(_LISTS_KEY)
    if cached is not None and cached[0] == stamp:
        return cast(dict[str, KnownList], cached[1])
    with _LISTS_LOCK:
        configs = read_lists(app.settings.subscribers_path)

        def sync(session: Session) -> dict[str, KnownList]:
            sync_lists(session, configs, app.clock.now())
            rows = session.execute(select(MailingList.slug, MailingList.id))
            ids = {row.slug: row.id for row in rows}
            return {c.slug: KnownList(c, ids[c.slug]) for c in configs}

        known = in_transaction(app, sync)
        app.extras[_LISTS_KEY] = (stamp, known)
        return known


def find_list(app: App, slug: str) -> KnownList:
    """The declared list ``slug``, or NotFoundError naming it."""
    known = ensure_lists(app).get(slug)
    if known is None:
        raise NotFoundError(f"no list {slug!r} (declare it in subscribers/{LISTS_FILE})")
    return known


# --- transactions ----------------------------------------------------------------------------


def _writer_gate(app: App) -> contextlib.AbstractContextManager[Any]:
    """On SQLite, one writer per process at a time.

    SQLite has one write lock per file anyway; queueing our own threads on a
    mutex hands it over at once, where the busy handler would poll and sleep
    (that polling made the p99 of signups under load over a second). Other
    processes still meet the busy timeout.
    """
    if not is_sqlite(app.engine):
        return contextlib.nullcontext()
    gate = app.extras.get(_GATE_KEY)
    if gate is None:
        gate = app.extras.setdefault(_GATE_KEY, threading.Lock())
    return cast(contextlib.AbstractContextManager[Any], gate)


def in_transaction(app: App, work: Callable[[Session], T]) -> T:
    """Run ``work`` in one write transaction; retry a lost insert race, map lock errors."""
    for attempt in range(RETRIES):
        try:
            with _writer_gate(app), write_transaction(app.sessions) as session:
                return work(session)
        except IntegrityError as err:
            # Two requests created the same subscriber at once (PostgreSQL): the loser retries
            # and now finds the row.
            if attempt == RETRIES - 1:
                raise DatabaseError(f"could not store the change after {RETRIES} tries") from err
        except OperationalError as err:
            raise DatabaseError(
                "the database is busy or unreachable; try again in a few seconds"
            ) from err
    raise AssertionError("unreachable")


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
    return cast(CursorResult[Any], result).rowcount == 1


def _is_suppressed(session: Session, address: str) -> bool:
    return session.scalar(
        select(Suppression.id).where(Suppression.email_hash == address_hash(address))
    ) is not None


# --- signup -----------------------------------------------------------------------------------


def subscribe(app: App, request: SignupRequest) -> SignupOutcome:
    """Record a form submission; queue the confirmation (or welcome) email when one is due.

    Raises AddressError for an unacceptable address or name and NotFoundError for an
    unknown list; every other case returns an outcome the web layer does not reveal.
    """
    address = require_mailable(normalise_address(request.email), smtp_utf8=app.settings.smtp_utf8)
    name = clean_name(request.name)
    zone = clean_time_zone(request.time_zone)
    known = find_list(app, request.list_slug)
    config = known.config
    current_text_hash = consent_text_hash(config.consent_text)
    shown_hash = request.consent_hash if _is_hex64(request.consent_hash) else current_text_hash
    shown_text = config.consent_text if shown_hash == current_text_hash else None

    with app.sessions() as reader:
        existing = reader.execute(
            select(Subscriber.public_id).where(Subscriber.email == address)
        ).scalar_one_or_none()
    public_id = existing or secrets.token_urlsafe(16)
    # Rendered on every path (also when nothing will be sent) so every address costs the
    # same work and answers in similar time (RELIABILITY #25).
    prepared = {public_id: _signup_mail(app, known, address, public_id, request.by_staff)}
    settings = app.settings

    def work(session: Session) -> SignupOutcome:
        now = app.clock.now()
        if _is_suppressed(session, address):
            return SignupOutcome.SUPPRESSED
        person = session.scalar(select(Subscriber).where(Subscriber.email == address))
        if person is None:
            person = Subscriber(
                public_id=public_id, email=address, name=name, time_zone=zone, created_at=now
            )
            session.add(person)
            session.flush()
        elif person.time_zone is None and zone is not None:
            person.time_zone = zone
        subscription = session.scalar(
            select(Subscription).where(
                Subscription.subscriber_id == person.id, Subscription.list_id == known.id
            )
        )
        returning = subscription is not None
        if subscription is None:
            subscription = Subscription(
                subscriber_id=person.id, list_id=known.id, created_at=now, updated_at=now
            )
            session.add(subscription)
        elif subscription.status == SubscriptionStatus.ACTIVE:
            return SignupOutcome.ALREADY_ACTIVE
        elif subscription.status in (SubscriptionStatus.BOUNCED, SubscriptionStatus.COMPLAINED):
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

    return in_transaction(app, work)


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
    data = tokens_for(app).read_confirm(token, max_age=app.settings.pending_ttl_hours * 3600)
    if data.series is not None:
        raise TokenError("the confirmation link is damaged or not one of ours")
    known = ensure_lists(app).get(data.list_slug)
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
    with app.sessions() as session:
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
    with app.sessions() as reader:
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
        if cast(CursorResult[Any], result).rowcount != 1:
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

    return ConfirmResult(in_transaction(app, work), known.config.name)


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
