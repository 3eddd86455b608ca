"""Staff add one person from the console: double opt-in by default, or on staff's word.

* By default the person gets the list's confirmation email, through the same
  path as the signup form (:func:`~newsletter.audience.signup.subscribe`, with
  ``by_staff`` so the mail does not claim they used our form). They are
  pending until they press its button.
* "Already consented" makes them active at once, and needs a reason: how and
  when the person agreed (on paper at the front desk, say). The reason, the
  staff member's address and their sha256 go into the consent record
  (event ``staff``, method ``staff``, form ``console``).
* Refused, with the reason in words: a bad address; an address that is
  suppressed (erased, bounced, complained); a person already on the list, or
  who left it (staff never re-add someone who unsubscribed: they sign up
  again themselves).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.audience import people
from newsletter.audience.addresses import clean_name, normalise_address, require_mailable
from newsletter.audience.consent import RequestInfo
from newsletter.audience.signup import SignupOutcome, SignupRequest, subscribe
from newsletter.audience.staff import StaffOutcome, activate_by_staff
from newsletter.catalog import KnownList
from newsletter.db.models import Subscriber, Subscription, SubscriptionStatus
from newsletter.errors import SubscriptionError

if TYPE_CHECKING:
    from newsletter.app import App

MAX_REASON = 1000


class AddRefused(SubscriptionError):
    """Staff may not add this person; the message says why. ``public_id`` when they exist."""

    def __init__(self, message: str, public_id: str | None = None) -> None:
        super().__init__(message)
        self.public_id = public_id


class ReasonMissing(AddRefused):
    """"Already consented" without a usable reason: the form is incomplete, nothing was tried."""


class AddOutcome(enum.StrEnum):
    """What adding did."""

    CONFIRMATION_SENT = "confirmation_sent"  # pending until they confirm
    COOLDOWN = "cooldown"  # pending; a confirmation mail left a short while ago
    ACTIVATED = "activated"  # a list without double opt-in
    ADDED = "added"  # active on staff's word


@dataclass(frozen=True)
class AddResult:
    """The outcome, the address as stored, and the person's public id (for their page)."""

    outcome: AddOutcome
    address: str
    public_id: str


def add_person(
    app: App, email: str, list_slug: str, *, name: str | None = None,
    consent_reason: str | None = None, staff_email: str = "",
) -> AddResult:
    """Add one person to ``list_slug``; ``consent_reason`` (not empty) skips the confirmation.

    Raises AddressError for an unusable address or name, NotFoundError for an
    unknown list, AddRefused when staff may not add this person.
    """
    address = require_mailable(normalise_address(email), smtp_utf8=app.settings.smtp_utf8)
    clean = clean_name(name)
    known = app.catalog.find_list(list_slug)
    reason = None if consent_reason is None else " ".join(consent_reason.split())
    if reason is not None and not reason:
        raise ReasonMissing("say how and when the person agreed to get the newsletter "
                         "(or send them a confirmation email instead)")
    if reason is not None and len(reason) > MAX_REASON:
        raise ReasonMissing(f"the reason is too long (at most {MAX_REASON} characters)")
    with app.db.read("checking the subscriber") as session:
        _check_allowed(session, address, known)
    if reason is None:
        outcome = _double_opt_in(app, address, known, clean)
    else:
        statement = f"Added by {staff_email or 'staff'}, who states: {reason}"
        done = app.db.run(lambda session: activate_by_staff(
            session, address=address, name=clean, time_zone=None, known=known,
            now=app.clock.now(), method="staff", form="console", consent_text=statement,
        ), doing="adding the subscriber")
        if done is not StaffOutcome.ADDED:  # changed since the check a moment ago
            raise AddRefused(f"{address} could not be added ({done}); reload and look again")
        outcome = AddOutcome.ADDED
    with app.db.read("finding the subscriber") as session:
        public_id = session.scalar(select(Subscriber.public_id).where(Subscriber.email == address))
    if public_id is None:  # erased between the two steps
        raise AddRefused(f"{address} was not added")
    return AddResult(outcome, address, public_id)


def _double_opt_in(app: App, address: str, known: KnownList, name: str | None) -> AddOutcome:
    outcome = subscribe(app, SignupRequest(
        email=address, list_slug=known.config.slug, name=name,
        source=RequestInfo(form="console"), by_staff=True))
    mapped = {
        SignupOutcome.CONFIRMATION_SENT: AddOutcome.CONFIRMATION_SENT,
        SignupOutcome.COOLDOWN: AddOutcome.COOLDOWN,
        SignupOutcome.ACTIVATED: AddOutcome.ACTIVATED,
    }.get(outcome)
    if mapped is None:
        raise AddRefused(f"{address} was not added ({outcome})")
    return mapped


def _since(moment: datetime | None) -> str:
    return f" on {moment:%Y-%m-%d}" if moment is not None else ""


def _check_allowed(session: Session, address: str, known: KnownList) -> None:
    """AddRefused, in words, when staff may not add ``address`` to ``known``."""
    suppressed = people.suppression(session, address)
    if suppressed is not None:
        if suppressed.reason == people.ERASED:
            raise AddRefused(
                f"{address} was erased{_since(suppressed.created_at)} at the person's request: "
                "it is kept only as a one-way hash so that it is never mailed or added again")
        raise AddRefused(
            f"{address} is suppressed ({suppressed.reason}{_since(suppressed.created_at)}): "
            "mail to it bounced or was reported as spam, so it is never mailed again")
    row = session.execute(
        select(Subscriber.public_id, Subscription)
        .join(Subscription, Subscription.subscriber_id == Subscriber.id)
        .where(Subscriber.email == address, Subscription.list_id == known.id)).first()
    if row is None:
        return
    public_id, subscription = row
    status = subscription.status
    name = known.config.name
    if status == SubscriptionStatus.ACTIVE:
        raise AddRefused(f"{address} is already subscribed to {name}", public_id)
    if status == SubscriptionStatus.PENDING:
        raise AddRefused(f"{address} is already on {name}, waiting to confirm", public_id)
    if status == SubscriptionStatus.UNSUBSCRIBED:
        raise AddRefused(
            f"{address} unsubscribed from {name}{_since(subscription.unsubscribed_at)}: staff do "
            "not re-add people who left; they can sign up again themselves", public_id)
    raise AddRefused(f"{address} is {status} on {name}: it is not mailed again", public_id)
