"""Record one piece of feedback and act on it: the one function every intake path calls.

``bounces process``, the inbound SMTP listener, the IMAP poller and the
provider webhooks all end in :func:`record_feedback` (raw messages go through
:func:`process_message` first). In one transaction it:

1. returns at once when the same message (its Message-ID, else the sha256 of
   its bytes) or provider event (its id) was recorded before (RELIABILITY #49);
2. finds the delivery: the signed VERP token, else the returned Message-ID;
   for a provider event, whose signature vouches for the address, else the
   person with that address (their newest sent delivery, if any). Nothing is
   guessed from a raw message's text (#46);
3. decides with :func:`~newsletter.feedback.policy.decide` (the address's
   earlier soft bounces count towards the soft limit) and acts: suppress and
   mark subscriptions "bounced"; for a complaint, end every subscription as
   "complained" with method "complaint" (each with its withdrawal record) and
   suppress; a policy block pauses the issue; nothing for the rest;
4. stores the event (kind, address, status, diagnostic, source, the stored
   raw copy under ``var/feedback/``) and, when a send's hard-bounce or
   complaint rate passes its limit, pauses that send and alerts.

Suppression then works as it always has: every delivery is checked when it
is claimed.
"""

from __future__ import annotations

import email.policy
import hashlib
import logging
import os
from dataclasses import dataclass, replace
from datetime import datetime
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from newsletter.audience import people
from newsletter.audience.unsubscribe import withdraw_everything
from newsletter.db.models import (
    OPEN_STATES,
    Delivery,
    DeliveryStatus,
    FeedbackEvent,
    Issue,
    Series,
    Subscriber,
    SubscriptionStatus,
)
from newsletter.delivery.status import open_pause
from newsletter.feedback.parse import parse_report
from newsletter.feedback.policy import Action, Decision, Policy, SoftBounce, decide
from newsletter.feedback.report import Kind, Report

if TYPE_CHECKING:
    from newsletter.app import App
    from newsletter.config import Settings

log = logging.getLogger("newsletter.feedback")
FEEDBACK_DIR = "feedback"
RECORDING = "recording a bounce or complaint"
MAX_KEY = 300


@dataclass(frozen=True)
class Incoming:
    """One report to record, with where it came from and how to recognise it again."""

    report: Report
    source: str  # "process", "smtp", "imap", "ses", "postmark", "mailgun", "sendgrid"
    key: str  # the idempotency key: "mid:<...>", "sha256:...", "<provider>:<event id>"
    raw_ref: str | None = None  # the stored copy, relative to var/
    address_vouched: bool = False  # a signed provider event: its address may be trusted


@dataclass(frozen=True)
class Recorded:
    """What :func:`record_feedback` did."""

    kind: str
    action: str
    reason: str
    address: str | None
    delivery_id: int | None
    duplicate: bool = False
    alerts: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line for people and logs."""
        if self.duplicate:
            return f"already recorded: {self.kind}, {self.action} ({self.reason})"
        who = self.address or "no known address"
        return f"{self.kind} for {who}: {self.action} ({self.reason})"


def message_key(raw: bytes) -> str:
    """The idempotency key of a raw message: its Message-ID, else the sha256 of its bytes."""
    head = BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw[:65536])
    value = str(head.get("Message-ID", "") or "").strip()
    if value.startswith("<") and value.endswith(">") and len(value) < MAX_KEY - 4:
        return f"mid:{value}"
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def store_raw(settings: Settings, data: bytes, suffix: str, now: datetime) -> str:
    """Keep a copy of what arrived under ``var/feedback/YYYY-MM/``; its path relative to var/."""
    digest = hashlib.sha256(data).hexdigest()
    relative = Path(FEEDBACK_DIR) / now.strftime("%Y-%m") / f"{digest}{suffix}"
    target = settings.var_path / relative
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(target.suffix + f".{os.getpid()}.tmp")
        temporary.write_bytes(data)
        temporary.replace(target)
    return relative.as_posix()


def process_message(app: App, raw: bytes, *, source: str,
                    envelope_to: str | None = None) -> Recorded:
    """Store, read and record one raw incoming message (a DSN, an ARF report, anything)."""
    now = app.clock.now()
    report = parse_report(raw, verp=app.verp, envelope_to=envelope_to)
    ref = store_raw(app.settings, raw, ".eml", now)
    return record_feedback(app, Incoming(report, source, message_key(raw), ref))


def record_feedback(app: App, incoming: Incoming) -> Recorded:
    """Record ``incoming`` once and act on it by the policy (see the module docstring)."""
    recorded = app.db.run(lambda session: _record(app, session, incoming), doing=RECORDING)
    for alert in recorded.alerts:
        log.warning(alert)
    return recorded


@dataclass(frozen=True)
class _Match:
    delivery: Delivery | None
    person: Subscriber | None


def _record(app: App, session: Session, incoming: Incoming) -> Recorded:
    key = incoming.key[:MAX_KEY]
    earlier = session.scalar(select(FeedbackEvent).where(FeedbackEvent.source_key == key))
    if earlier is not None:
        return Recorded(earlier.kind, earlier.action, earlier.reason, earlier.address,
                        earlier.delivery_id, duplicate=True)
    now = app.clock.now()
    report = incoming.report
    match = _match(session, report, incoming.address_vouched)
    person = match.person
    address = person.email if person else (report.recipients[0] if report.recipients else None)
    delivery_id = match.delivery.id if match.delivery else None
    earlier_soft = _soft_bounces(session, address) if address else []
    decision = decide(replace(report, delivery_id=delivery_id), matched=person is not None,
                      now=now, policy=Policy.from_settings(app.settings),
                      earlier_soft=earlier_soft)
    issue_id = match.delivery.issue_id if match.delivery else None
    alerts = _act(session, decision, person, issue_id, report, now)
    session.add(FeedbackEvent(
        received_at=now, source=incoming.source, source_key=key, kind=str(report.kind),
        delivery_id=delivery_id, issue_id=issue_id,
        subscriber_id=person.id if person else None, address=address,
        status_code=report.status, diagnostic=(report.diagnostic or None),
        action=str(decision.action), reason=decision.reason, raw_ref=incoming.raw_ref))
    session.flush()
    if issue_id is not None and report.kind in (Kind.HARD_BOUNCE, Kind.COMPLAINT):
        alerts += _rate_check(app, session, issue_id, now)
    return Recorded(str(report.kind), str(decision.action), decision.reason, address,
                    delivery_id, alerts=tuple(alerts))


def sent_as(message_id: str) -> Select[Delivery]:
    """The delivery that went out with ``message_id`` (through its partial index)."""
    return select(Delivery).where(Delivery.message_id == message_id).limit(1)


def _match(session: Session, report: Report, vouched: bool) -> _Match:
    delivery = None
    if report.delivery_id is not None:
        delivery = session.get(Delivery, report.delivery_id)
    if delivery is None and report.original_message_id:
        delivery = session.scalar(sent_as(report.original_message_id))
    if delivery is not None:
        return _Match(delivery, session.get(Subscriber, delivery.subscriber_id))
    if vouched and report.recipients:
        person = session.scalar(select(Subscriber).where(
            Subscriber.email == report.recipients[0].lower()))
        if person is not None:
            newest = session.scalar(
                select(Delivery).where(Delivery.subscriber_id == person.id,
                                       Delivery.sent_at.is_not(None))
                .order_by(Delivery.sent_at.desc(), Delivery.id.desc()).limit(1))
            return _Match(newest, person)
    return _Match(None, None)


def _soft_bounces(session: Session, address: str) -> list[SoftBounce]:
    # Only matched ones: an unmatched bounce naming the address proves nothing (#46).
    rows = session.execute(select(FeedbackEvent.received_at, FeedbackEvent.delivery_id).where(
        FeedbackEvent.address == address, FeedbackEvent.kind == Kind.SOFT_BOUNCE,
        FeedbackEvent.subscriber_id.is_not(None)))
    return [SoftBounce(at, delivery_id) for at, delivery_id in rows]


def _act(session: Session, decision: Decision, person: Subscriber | None,
         issue_id: int | None, report: Report, now: datetime) -> list[str]:
    if decision.action == Action.SUPPRESS and person is not None:
        people.block_person(session, person.id, person.email, SubscriptionStatus.BOUNCED, now)
    elif decision.action == Action.UNSUBSCRIBE_ALL and person is not None:
        withdraw_everything(session, person.id, method=decision.unsubscribe_method or "complaint",
                            status=SubscriptionStatus.COMPLAINED, now=now)
        people.suppress(session, person.email, decision.suppression_reason or "complained", now)
    elif decision.action == Action.ALERT:
        where = _issue_label(session, issue_id) if issue_id is not None else None
        text = f"{report.describe()}: {decision.reason}"
        if where is not None and _still_sending(session, issue_id) and open_pause(
                session, issue_id, f"policy block reported by a receiver: {text}", now):
            return [f"issue {where} paused: {text}"]
        return [f"receiver policy block: {text}"]
    return []


def _still_sending(session: Session, issue_id: int | None) -> bool:
    return session.scalar(select(Delivery.id).where(
        Delivery.issue_id == issue_id, Delivery.status.in_(OPEN_STATES)).limit(1)) is not None


def _issue_label(session: Session, issue_id: int) -> str | None:
    row = session.execute(select(Series.slug, Issue.position).join(Issue).where(
        Issue.id == issue_id)).first()
    return f"{row[0]}/{row[1]}" if row else None


def _rate_check(app: App, session: Session, issue_id: int, now: datetime) -> list[str]:
    """Pause a send whose hard-bounce or complaint rate passed its limit (Gmail: 0.3% spam)."""
    settings = app.settings
    sent = session.scalar(select(func.count()).select_from(Delivery).where(
        Delivery.issue_id == issue_id, Delivery.status == DeliveryStatus.SENT)) or 0
    if sent < settings.feedback_rate_min_sent or not _still_sending(session, issue_id):
        return []
    counts = {str(kind): int(count) for kind, count in session.execute(
        select(FeedbackEvent.kind, func.count(func.distinct(FeedbackEvent.delivery_id)))
        .where(FeedbackEvent.issue_id == issue_id,
               FeedbackEvent.kind.in_([Kind.HARD_BOUNCE, Kind.COMPLAINT]))
        .group_by(FeedbackEvent.kind))}
    label = _issue_label(session, issue_id) or f"issue {issue_id}"
    for kind, limit, noun in ((Kind.COMPLAINT, settings.complaint_rate_limit, "complaint"),
                              (Kind.HARD_BOUNCE, settings.bounce_rate_limit, "hard-bounce")):
        rate = counts.get(str(kind), 0) / sent
        if rate > limit:
            reason = (f"{noun} rate {rate:.2%} of {sent} sent is over the limit of "
                      f"{limit:.2%}: check the list's source before resuming")
            if open_pause(session, issue_id, reason, now):
                return [f"issue {label} paused: {reason}"]
            return []
    return []

