"""The signup processor: appended ``signups`` rows become people, pending subscriptions and mail.

A web request only appends a row (:mod:`newsletter.audience.intake`); this
module does the rest, many rows per transaction, oldest first: find or create
the person, the subscription (pending, or active on a list without double
opt-in), the consent records, and the confirmation or welcome email through the
outbox's one insert path. Every row is stamped ``processed_at`` in the same
transaction, so a crash repeats a batch or nothing of it.

Where it runs (docs/deploy.md): ``newsletter worker`` and ``newsletter run``
always; ``newsletter serve`` too unless started with ``--no-ingest`` (then
some worker must run). Any number may run at once: on PostgreSQL each batch
takes its rows with ``FOR UPDATE SKIP LOCKED`` and locks the people it
touches; on SQLite a batch holds the one write lock.

Rules where the issue leaves the choice to us (also in docs/subscribers.md):

* Name and time zone come from the form only through a confirmed signup: they
  stay in the signup's pending record (the row the confirm link names) and are
  copied when that link is confirmed, and only where the person has none. A
  person's name is never replaced by the form, and a pending person has none,
  so no unconfirmed name reaches a ``To:`` line or a greeting.
* When different names or zones were sent for one pending subscription, the
  records are *contested*: nobody can tell which came from the mailbox's owner,
  so confirming uses neither (the person can still be named by staff).
* Signups made by staff (``subscribers add``) are trusted: their name and zone
  fill the person's empty fields at once. So does a list without double
  opt-in, where the signup is the only confirmation there is.
* Suppressed addresses (erased, bounced, complained) get nothing from the form.
* Unsubscribed people may come back through the form, always by double opt-in.
* One confirmation email per address per ``confirm_cooldown_seconds``; a later
  signup inside the cooldown is recorded (consent proof) and sends nothing.
* Rows that did not send a confirmation are deleted once processed (nothing
  points at them); pending records are deleted by the scheduler's purge after
  ``pending_ttl_hours``, when their links have expired anyway.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Row, Table, delete, insert, select, update
from sqlalchemy.orm import Session

from newsletter.audience import people
from newsletter.audience.consent import RequestInfo, VersionIndex, append_consents, consent_row
from newsletter.audience.form import consent_text_hash
from newsletter.audience.intake import SignupOutcome
from newsletter.audience.mail import SignupMails
from newsletter.catalog import KnownList
from newsletter.db.engine import is_sqlite
from newsletter.db.models import (
    BLOCKED_STATES,
    Signup,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)
from newsletter.delivery.outbox import (
    TransactionalItem,
    TransactionalMail,
    enqueue_transactional_many,
)
from newsletter.errors import DatabaseError
from newsletter.hooks import events as hook_events
from newsletter.hooks import outbox as hooks

if TYPE_CHECKING:
    from newsletter.app import App

log = logging.getLogger("newsletter.signups")
_SIGNUPS: Table = Signup.__table__  # type: ignore[assignment]
BATCH_SIZE = 200
POLL_SECONDS = 0.1
BUSY_POLL_SECONDS = 0.5
_PENDING = (SignupOutcome.CONFIRMATION_SENT, SignupOutcome.COOLDOWN)


@dataclass
class _Decision:
    """What one signup row does, decided before anything is written."""

    row: Row[Any]  # a ``signups`` row as read (columns, not a tracked object: cheaper)
    outcome: SignupOutcome
    person: Subscriber | None = None
    subscription: Subscription | None = None
    known: KnownList | None = None
    was_pending: bool = False
    contested: bool = False


def waiting(app: App) -> bool:
    """True when a signup row waits for processing (a cheap read, no write lock)."""
    with app.db.read("looking for signups") as session:
        return session.scalar(
            select(Signup.id).where(Signup.processed_at.is_(None)).limit(1)) is not None


def process_signups(
    app: App,
    *,
    limit: int = BATCH_SIZE,
    mails: SignupMails | None = None,
    public_ids: Sequence[str] | None = None,
) -> dict[str, SignupOutcome]:
    """Process up to ``limit`` waiting signups (or those of ``public_ids``) in one transaction.

    Returns each processed row's outcome by its ``public_id``; empty when
    nothing waited. Time comes from ``app.clock``.
    """
    if public_ids is None and not waiting(app):
        return {}
    mails = mails or SignupMails(app)
    lists = {known.id: known for known in app.catalog.lists().values()}
    # Personalising and signing the emails is most of a signup's CPU: do it before the
    # write lock is taken (a lock held longer makes every form post wait).
    ready = _Prepared() if public_ids is not None else _prepare(app, mails, lists, limit)

    def work(session: Session) -> dict[str, SignupOutcome]:
        query = select(*_SIGNUPS.columns).where(Signup.processed_at.is_(None))
        if public_ids is not None:
            query = query.where(Signup.public_id.in_(public_ids))
        query = query.order_by(Signup.id).limit(limit)
        locking = not is_sqlite(session.get_bind())  # type: ignore[arg-type]
        if locking:
            query = query.with_for_update(skip_locked=True)
        rows = list(session.execute(query))
        if not rows:
            return {}
        batch = _Batch(app, session, lists, mails, app.clock.now(), locking=locking,
                       ready=ready)
        return batch.run(rows)

    return app.db.run(work, doing="processing signups")


@dataclass
class _Prepared:
    """Work done before the write lock: public ids for new people, confirmation emails."""

    public_ids: dict[str, str] = field(default_factory=dict)  # address → id, if new
    mails: dict[int, tuple[str, TransactionalMail]] = field(default_factory=dict)  # row → mail


def _prepare(app: App, mails: SignupMails, lists: dict[int, KnownList], limit: int) -> _Prepared:
    """Render the confirmation emails the next batch will probably send, without any lock.

    Each mail is made for the person's public id as it stands now (or a new one);
    the batch uses it only when that is still the person's id, and renders
    again otherwise. Mails for signups that turn out to send nothing are wasted.
    """
    ready = _Prepared()
    with app.db.read("preparing signups") as session:
        rows = list(session.execute(
            select(Signup.id, Signup.public_id, Signup.email, Signup.list_id, Signup.by_staff)
            .where(Signup.processed_at.is_(None)).order_by(Signup.id).limit(limit)))
        emails = {row.email for row in rows}
        known_ids: dict[str, str] = {}
        if emails:
            found = session.execute(select(Subscriber.email, Subscriber.public_id).where(
                Subscriber.email.in_(emails)))
            known_ids = {row.email: row.public_id for row in found}
    for row in rows:
        known = lists.get(row.list_id)
        if known is None or not known.config.double_opt_in:
            continue
        person_id = known_ids.get(row.email) or ready.public_ids.setdefault(
            row.email, people.new_public_id())
        ready.mails[row.id] = (person_id, mails.confirmation(
            email=row.email, public_id=person_id, pending_id=row.public_id,
            mailing_list=known.config, by_staff=row.by_staff))
    return ready


class _Batch:
    """One transaction's worth of signup rows."""

    def __init__(self, app: App, session: Session, lists: dict[int, KnownList],
                 mails: SignupMails, now: datetime, *, locking: bool, ready: _Prepared) -> None:
        self.app = app
        self.ready = ready
        self.session = session
        self.lists = lists
        self.mails = mails
        self.now = now
        self.locking = locking
        self.cooldown = timedelta(seconds=app.settings.confirm_cooldown_seconds)
        self.ttl = timedelta(hours=app.settings.pending_ttl_hours)
        self.fresh: set[tuple[int, int]] = set()
        self.versions = VersionIndex(session, [])  # filled by _write for the batch's lists

    def run(self, rows: list[Row[Any]]) -> dict[str, SignupOutcome]:
        addresses = {row.email for row in rows if row.list_id in self.lists}
        suppressed = people.suppressed_addresses(self.session, addresses)
        persons = self._people(addresses - suppressed)
        new_people = {row.email: {"public_id": self.ready.public_ids.get(row.email)
                                  or people.new_public_id(), "email": row.email,
                                  "created_at": self.now}
                      for row in rows
                      if row.email in addresses and row.email not in suppressed
                      and row.email not in persons}
        if new_people:  # one INSERT for all (the unit of work would send one per person)
            made = self.session.scalars(
                insert(Subscriber).returning(Subscriber), list(new_people.values()))
            persons.update((person.email, person) for person in made)
        subscriptions = self._subscriptions([person.id for person in persons.values()])
        self.fresh = self._new_subscriptions(rows, persons, subscriptions)
        decisions = [self._decide(row, suppressed, persons, subscriptions) for row in rows]
        self.session.flush()
        self._contest(decisions)
        self._write(decisions)
        return {d.row.public_id: d.outcome for d in decisions}

    def _people(self, addresses: set[str]) -> dict[str, Subscriber]:
        if not addresses:
            return {}
        query = select(Subscriber).where(Subscriber.email.in_(addresses)).order_by(Subscriber.id)
        if self.locking:  # the cooldown and the fields are read, then written
            query = query.with_for_update()
        return {person.email: person for person in self.session.scalars(query)}

    def _subscriptions(self, person_ids: list[int]) -> dict[tuple[int, int], Subscription]:
        if not person_ids:
            return {}
        query = select(Subscription).where(
            Subscription.subscriber_id.in_(person_ids),
            Subscription.list_id.in_(self.lists)).order_by(Subscription.id)
        if self.locking:  # a confirm may be turning one active right now
            query = query.with_for_update()
        return {(s.subscriber_id, s.list_id): s for s in self.session.scalars(query)}

    def _new_subscriptions(self, rows: list[Row[Any]], persons: dict[str, Subscriber],
                           subscriptions: dict[tuple[int, int], Subscription],
                           ) -> set[tuple[int, int]]:
        """Insert the subscriptions the batch starts, as their first signup leaves them."""
        values: dict[tuple[int, int], dict[str, Any]] = {}
        for row in rows:
            known = self.lists.get(row.list_id)
            person = persons.get(row.email)
            if known is None or person is None or (person.id, known.id) in subscriptions:
                continue
            single = not known.config.double_opt_in
            values.setdefault((person.id, known.id), {
                "subscriber_id": person.id, "list_id": known.id, "created_at": self.now,
                "updated_at": self.now,
                "status": SubscriptionStatus.ACTIVE if single else SubscriptionStatus.PENDING,
                "confirmed_at": self.now if single else None,
                "pending_expires_at": None if single else self.now + self.ttl,
            })
        if values:
            made = self.session.scalars(
                insert(Subscription).returning(Subscription), list(values.values()))
            subscriptions.update(((s.subscriber_id, s.list_id), s) for s in made)
        return set(values)

    def _decide(self, row: Row[Any], suppressed: set[str], persons: dict[str, Subscriber],
                subscriptions: dict[tuple[int, int], Subscription]) -> _Decision:
        known = self.lists.get(row.list_id)
        if known is None:
            return _Decision(row, SignupOutcome.NO_LIST)
        if row.email in suppressed:
            return _Decision(row, SignupOutcome.SUPPRESSED)
        person = persons[row.email]
        if row.by_staff:
            people.fill_details(person, row.name, row.time_zone)
        now = self.now
        key = (person.id, known.id)
        subscription = subscriptions[key]
        returning = key not in self.fresh  # made by this batch for this very signup?
        self.fresh.discard(key)
        was_pending = returning and subscription.status == SubscriptionStatus.PENDING
        decided = _Decision(row, SignupOutcome.ALREADY_ACTIVE, person, subscription, known,
                            was_pending=was_pending)
        if returning and subscription.status == SubscriptionStatus.ACTIVE:
            return decided
        if returning and subscription.status in BLOCKED_STATES:
            decided.outcome = SignupOutcome.BLOCKED
            return decided
        single = not known.config.double_opt_in and not returning
        if returning:  # a new one was inserted in this state already
            subscription.status = SubscriptionStatus.PENDING
            subscription.updated_at = now
            subscription.pending_expires_at = now + self.ttl
        if single:
            people.fill_details(person, row.name, row.time_zone)
            decided.outcome = SignupOutcome.ACTIVATED
        elif person.last_confirmation_at is not None and (
                person.last_confirmation_at > now - self.cooldown):
            decided.outcome = SignupOutcome.COOLDOWN
        else:
            person.last_confirmation_at = now
            decided.outcome = SignupOutcome.CONFIRMATION_SENT
        return decided

    def _contest(self, decisions: list[_Decision]) -> None:
        """Mark pending records contested where one subscription got different names or zones."""
        groups: dict[int, list[_Decision]] = {}
        for d in decisions:
            if d.outcome in _PENDING and d.subscription is not None:
                groups.setdefault(d.subscription.id, []).append(d)
        for subscription_id, group in groups.items():
            claims = [(d.row.name, d.row.time_zone) for d in group]
            if any(d.was_pending for d in group):
                earlier = self.session.execute(select(Signup.name, Signup.time_zone).where(
                    Signup.subscription_id == subscription_id,
                    Signup.outcome == SignupOutcome.CONFIRMATION_SENT,
                    Signup.received_at > self.now - self.ttl))
                claims += [(name, zone) for name, zone in earlier]
            names = {name for name, _zone in claims if name}
            zones = {zone for _name, zone in claims if zone}
            if len(names) < 2 and len(zones) < 2:
                continue
            for d in group:
                d.contested = True
            self.session.execute(
                update(Signup).where(Signup.subscription_id == subscription_id)
                .values(contested=True).execution_options(synchronize_session=False))

    def _write(self, decisions: list[_Decision]) -> None:
        now = self.now
        items: list[TransactionalItem] = []
        for d in decisions:
            if d.person is None or d.known is None:
                continue
            if d.outcome is SignupOutcome.ACTIVATED:
                items.append(TransactionalItem(
                    d.person.id, d.known.id, "welcome", self.mails.welcome(
                        email=d.row.email, public_id=d.person.public_id,
                        mailing_list=d.known.config)))
            elif d.outcome is SignupOutcome.CONFIRMATION_SENT:
                early = self.ready.mails.get(d.row.id)
                mail = early[1] if early is not None and early[0] == d.person.public_id else (
                    self.mails.confirmation(
                        email=d.row.email, public_id=d.person.public_id,
                        pending_id=d.row.public_id, mailing_list=d.known.config,
                        by_staff=d.row.by_staff))
                items.append(TransactionalItem(d.person.id, d.known.id, "confirmation", mail))
        self.session.flush()  # people and subscriptions (their changes) first
        deliveries = iter(enqueue_transactional_many(self.session, items, now))
        consents: list[dict[str, Any]] = []
        self.versions = VersionIndex(self.session, list({d.known.id for d in decisions
                                                          if d.known is not None}))
        kept: list[dict[str, Any]] = []
        finished: list[int] = []
        for d in decisions:
            subscription_id = d.subscription.id if d.subscription is not None else None
            if d.outcome in (*_PENDING, SignupOutcome.ACTIVATED):
                made = None if d.outcome is SignupOutcome.COOLDOWN else next(deliveries)
                consents += self._consents(d, made)
            if d.outcome is SignupOutcome.CONFIRMATION_SENT:
                kept.append({"id": d.row.id, "processed_at": now, "outcome": d.outcome.value,
                             "subscription_id": subscription_id, "contested": d.contested})
            else:
                finished.append(d.row.id)
        append_consents(self.session, consents)
        hooks.emit(self.session, [hooks.person(
            hook_events.SUBSCRIBED, email=d.row.email, public_id=d.person.public_id,
            list_slug=d.known.config.slug, status=str(d.subscription.status),
            method="staff" if d.row.by_staff else "form")
            for d in decisions if d.outcome in (*_PENDING, SignupOutcome.ACTIVATED)
            and not d.was_pending and d.person and d.known and d.subscription], now)
        if kept:  # the pending records, which the confirm links name
            self.session.execute(update(Signup), kept)
        if finished:  # nothing points at the others: they go at once
            self.session.execute(delete(Signup).where(Signup.id.in_(finished))
                                 .execution_options(synchronize_session=False))

    def _consents(self, d: _Decision, delivery_id: int | None) -> list[dict[str, Any]]:
        row, known = d.row, d.known
        assert known is not None
        assert d.subscription is not None
        config = known.config
        current = consent_text_hash(config.consent_text)
        # The wording the visitor saw: the version with the form's hash (an older form's too).
        version = self.versions.find(known.id, row.consent_text_hash, row.received_at)
        text = version.text if version is not None else (
            config.consent_text if row.consent_text_hash == current else None)
        common: dict[str, Any] = {"subscription_id": d.subscription.id, "email": row.email,
                                  "list_slug": config.slug,
                                  "consent_version_id": version.id if version else None}
        source = RequestInfo(ip=row.ip, user_agent=row.user_agent, page_url=row.page_url,
                             origin=row.origin, form=row.form)
        # The submission is proven as of when it arrived, not when it was processed.
        made = [consent_row(
            event="signup", source=source, now=row.received_at, method="form",
            consent_text=text, consent_hash=row.consent_text_hash, **common)]
        if d.outcome is SignupOutcome.ACTIVATED:
            made.append(consent_row(event="activated", method="single_opt_in", now=self.now,
                                    **common))
        elif d.outcome is SignupOutcome.CONFIRMATION_SENT:
            made.append(consent_row(event="confirmation_sent", method="email",
                                    delivery_id=delivery_id, now=self.now, **common))
        return made


def _mark_failed(app: App, public_id: str) -> None:
    """Take one row the processor cannot handle out of the queue (it stays, for staff to see)."""
    with app.db.write("setting a signup aside") as session:
        session.execute(update(Signup).where(Signup.public_id == public_id).values(
            processed_at=app.clock.now(), outcome=SignupOutcome.FAILED))


def _one_by_one(app: App, limit: int, mails: SignupMails) -> int:
    """Process waiting rows singly after a batch failed: one bad row must not block the rest."""
    with app.db.read("looking for signups") as session:
        ids = list(session.scalars(select(Signup.public_id).where(
            Signup.processed_at.is_(None)).order_by(Signup.id).limit(limit)))
    for public_id in ids:
        try:
            process_signups(app, public_ids=[public_id], mails=mails)
        except DatabaseError:
            raise
        except Exception:
            log.exception("signup %s could not be processed; set aside as failed", public_id)
            _mark_failed(app, public_id)
    return len(ids)


class StopSignal(Protocol):
    """What tells the processor to stop: a ``threading.Event`` or a ``multiprocessing`` one."""

    def is_set(self) -> bool:
        """True once the processor should stop."""

    def wait(self, timeout: float | None = None) -> bool:
        """Sleep until set or ``timeout`` seconds passed."""


def run_signup_ingest(app: App, *, stop: StopSignal, interval: float = POLL_SECONDS,
                      busy_interval: float = BUSY_POLL_SECONDS, batch: int = BATCH_SIZE) -> None:
    """Process signups until ``stop`` is set.

    Idle, it looks for rows every ``interval`` seconds, so a lone signup is
    processed within about that. After a batch it waits ``busy_interval``
    instead (unless the batch was full): under a burst the rows then come in
    batches of a hundred or more, which cost about a third less per signup
    than batches of a few dozen.
    """
    mails = SignupMails(app)
    while not stop.is_set():
        try:
            try:
                done = len(process_signups(app, limit=batch, mails=mails))
            except DatabaseError:
                raise
            except Exception:
                log.exception("a batch of signups failed; trying its rows one by one")
                done = _one_by_one(app, batch, mails)
        except DatabaseError as err:
            log.warning("signups wait for the database: %s", err)
            stop.wait(max(interval, 1.0))
            continue
        if done == 0:
            stop.wait(interval)
        elif done < batch:
            stop.wait(busy_interval)
