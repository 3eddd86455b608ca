"""Staff operations on subscribers: add, list, the GDPR export of one person, erase.

Staff never resubscribe anyone who unsubscribed, bounced, complained, or was
erased (only the sha256 of the address remains, in ``suppressions``): those
people come back only by signing up themselves, with double opt-in.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from newsletter.audience import people
from newsletter.audience.addresses import (
    clean_name,
    known_time_zone,
    normalise_address,
    require_mailable,
)
from newsletter.audience.consent import RequestInfo, record_consent
from newsletter.audience.signup import SignupOutcome, SignupRequest, subscribe
from newsletter.catalog import KnownList
from newsletter.db.models import (
    BLOCKED_STATES,
    ConsentRecord,
    Delivery,
    Issue,
    MailingList,
    Series,
    Signup,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)
from newsletter.errors import NotFoundError, SubscriptionError

if TYPE_CHECKING:
    from newsletter.app import App


class StaffOutcome(enum.StrEnum):
    """What adding one person (by hand or by import) did."""

    ADDED = "added"
    EXISTING = "existing"
    UNSUBSCRIBED = "unsubscribed"
    SUPPRESSED = "suppressed"
    BLOCKED = "blocked"


def activate_by_staff(
    session: Session,
    *,
    address: str,
    name: str | None,
    time_zone: str | None,
    known: KnownList,
    now: datetime,
    method: str,
    form: str,
    consent_text: str | None = None,
) -> StaffOutcome:
    """Make ``address`` active on the list on staff's word, unless the person left or is blocked.

    Runs in the caller's transaction; ``address`` must be normalised already.
    ``consent_text`` is staff's statement of the consent, kept in the record.
    """
    if people.is_suppressed(session, address):
        return StaffOutcome.SUPPRESSED
    person = people.find_or_create(session, address, now=now, name=name, time_zone=time_zone)
    subscription, existed = people.find_or_create_subscription(session, person.id, known.id, now)
    if existed:
        status = subscription.status
        if status == SubscriptionStatus.UNSUBSCRIBED:
            return StaffOutcome.UNSUBSCRIBED
        if status in BLOCKED_STATES:
            return StaffOutcome.BLOCKED
        if status == SubscriptionStatus.ACTIVE:
            return StaffOutcome.EXISTING
    subscription.status = SubscriptionStatus.ACTIVE
    subscription.confirmed_at = now
    subscription.updated_at = now
    subscription.pending_expires_at = None
    session.flush()
    record_consent(
        session, subscription_id=subscription.id, event=method, email=address,
        list_slug=known.config.slug, now=now, source=RequestInfo(form=form), method=method,
        consent_text=consent_text,
    )
    return StaffOutcome.ADDED


def add_subscriber(
    app: App,
    email: str,
    list_slug: str,
    *,
    name: str | None = None,
    time_zone: str | None = None,
    confirmed: bool = False,
) -> str:
    """Add one person: by default a confirmation email (double opt-in); ``confirmed`` skips it.

    Returns what happened, as a word for the staff member.
    """
    if not confirmed:
        outcome = subscribe(app, SignupRequest(
            email=email, list_slug=list_slug, name=name, time_zone=time_zone,
            source=RequestInfo(form="cli"), by_staff=True,
        ))
        return {
            SignupOutcome.CONFIRMATION_SENT: "confirmation email queued",
            SignupOutcome.COOLDOWN: "a confirmation email was queued recently; none sent now",
            SignupOutcome.ALREADY_ACTIVE: "already subscribed",
            SignupOutcome.ACTIVATED: "subscribed (list without double opt-in); welcome queued",
            SignupOutcome.SUPPRESSED: "suppressed (erased, bounced or complained): not added",
            SignupOutcome.BLOCKED: "blocked (bounced or complained): not added",
        }.get(outcome, f"not added ({outcome})")
    address = require_mailable(normalise_address(email), smtp_utf8=app.settings.smtp_utf8)
    clean = clean_name(name)
    zone = known_time_zone(time_zone)
    known = app.catalog.find_list(list_slug)
    outcome_staff = app.db.run(lambda session: activate_by_staff(
        session, address=address, name=clean, time_zone=zone, known=known,
        now=app.clock.now(), method="staff", form="cli",
    ), doing="adding the subscriber")
    if outcome_staff in (StaffOutcome.UNSUBSCRIBED, StaffOutcome.SUPPRESSED,
                         StaffOutcome.BLOCKED):
        raise SubscriptionError(
            f"{address}: {outcome_staff} — staff cannot resubscribe this person; "
            "they can sign up again themselves"
        )
    return "subscribed" if outcome_staff is StaffOutcome.ADDED else "already subscribed"


@dataclass(frozen=True)
class SubscriberRow:
    """One subscription as the list command shows it."""

    email: str
    name: str | None
    list_slug: str
    status: str
    created_at: datetime
    confirmed_at: datetime | None


def list_subscribers(
    app: App, *, list_slug: str | None = None, status: str | None = None
) -> list[SubscriberRow]:
    """Subscriptions, newest first, optionally of one list and one status."""
    with app.db.read("listing subscribers") as session:
        return [SubscriberRow(person.email, person.name, slug, sub.status, sub.created_at,
                              sub.confirmed_at)
                for person, sub, slug in people.subscriptions_of(
                    session, Subscription.created_at.desc(), Subscriber.email,
                    list_slug=list_slug, status=status)]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def person_export(app: App, email: str) -> dict[str, Any]:
    """Everything held about one person (GDPR Art. 15): profile, lists, consent, messages."""
    address = normalise_address(email)
    with app.db.read("reading the subscriber") as session:
        return _export(session, address)


def _export(session: Session, address: str) -> dict[str, Any]:
    suppressed = people.suppression(session, address)
    person = session.scalar(select(Subscriber).where(Subscriber.email == address))
    if person is None:
        if suppressed is not None:
            return {"email": address, "held": "only a one-way hash of the address, so that "
                    "it is never mailed again", "suppression": {
                        "reason": suppressed.reason, "since": _iso(suppressed.created_at)}}
        raise NotFoundError(f"no subscriber with the address {address}")
    subscriptions = session.execute(
        select(Subscription, MailingList.slug)
        .join(MailingList, MailingList.id == Subscription.list_id)
        .where(Subscription.subscriber_id == person.id)
        .order_by(Subscription.id)
    ).all()
    consent = session.scalars(
        select(ConsentRecord)
        .where(ConsentRecord.subscription_id.in_([sub.id for sub, _slug in subscriptions]))
        .order_by(ConsentRecord.id)
    ).all()
    deliveries = session.execute(
        select(Delivery, Series.slug, Issue.position)
        .outerjoin(Issue, Issue.id == Delivery.issue_id)
        .outerjoin(Series, Series.id == Issue.series_id)
        .where(Delivery.subscriber_id == person.id)
        .order_by(Delivery.id)
    ).all()
    return {
        "email": person.email,
        "name": person.name,
        "time_zone": person.time_zone,
        "created_at": _iso(person.created_at),
        "subscriptions": [
            {"list": slug, "status": sub.status, "created_at": _iso(sub.created_at),
             "confirmed_at": _iso(sub.confirmed_at), "unsubscribed_at": _iso(sub.unsubscribed_at),
             "unsubscribe_method": sub.unsubscribe_method}
            for sub, slug in subscriptions
        ],
        "consent_records": [
            {"event": c.event, "at": _iso(c.occurred_at), "list": c.list_slug, "email": c.email,
             "ip": c.ip, "user_agent": c.user_agent, "page": c.page_url, "origin": c.origin,
             "form": c.form, "method": c.method, "consent_text": c.consent_text,
             "consent_text_sha256": c.consent_text_hash, "delivery_id": c.delivery_id}
            for c in consent
        ],
        "messages": [
            {"id": d.id, "kind": d.kind, "series": series, "part": position, "status": d.status,
             "queued_at": _iso(d.queued_at), "sent_at": _iso(d.sent_at),
             "message_id": d.message_id}
            for d, series, position in deliveries
        ],
        "suppressed": None if suppressed is None else suppressed.reason,
    }


def erase_subscriber(app: App, email: str) -> bool:
    """Delete everything about a person and keep only the hash of the address, suppressed.

    Returns False when nobody had that address (the suppression is recorded anyway,
    so the address is never mailed or imported later).
    """
    address = normalise_address(email)

    def work(session: Session) -> bool:
        found = session.scalar(select(Subscriber.id).where(Subscriber.email == address))
        if found is not None:
            # Foreign keys cascade: subscriptions, consent records, deliveries, opt-outs.
            session.execute(delete(Subscriber).where(Subscriber.id == found))
        # Signups (pending records, or not processed yet) hold the address, name and IP.
        session.execute(delete(Signup).where(Signup.email == address))
        people.suppress(session, address, people.ERASED, app.clock.now())
        return found is not None

    return app.db.run(work, doing="erasing the subscriber")
