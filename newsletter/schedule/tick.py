"""One scheduler tick: fan out due broadcasts, advance drips, expire signups, drain the outbox.

``run_due(app, now)`` is everything the scheduler process does; the APScheduler
job only calls it. The schedule's truth lives in our tables (``broadcasts``,
``drip_progress``), so a tick after an outage computes what is due from them,
once, whatever APScheduler missed. Series folders are mirrored through the
catalog, which writes only those whose files changed. :func:`next_due` says
when a tick next has something to do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from newsletter.audience.signup import purge_expired_pending
from newsletter.content.issuefile import SeriesDoc
from newsletter.db.models import (
    DUE_STATES,
    Broadcast,
    BroadcastStatus,
    Delivery,
    DeliveryStatus,
    DripProgress,
    Issue,
    MailingList,
    Series,
    Subscription,
    SubscriptionStatus,
)
from newsletter.db.transactions import rowcount
from newsletter.delivery.editions import Frozen, edition_for_fan_out, freeze, store_edition
from newsletter.delivery.outbox import fan_out
from newsletter.delivery.sender import SendSummary
from newsletter.delivery.sender import drain as drain_outbox
from newsletter.errors import NewsletterError
from newsletter.schedule.broadcasts import Action, decide, hold_note
from newsletter.schedule.drip_progress import DripCounts, advance_series
from newsletter.schedule.journal import Journal, JournalView
from newsletter.schedule.overlap import drip_warnings
from newsletter.schedule.rules import SeriesRules, broadcast_rules, series_rules

if TYPE_CHECKING:
    from newsletter.app import App

TICKING = "running the scheduler"  # what the database was doing, for its error message


@dataclass
class TickSummary:
    """What one tick did."""

    now: datetime
    fanned_out: list[tuple[str, int, int]] = field(default_factory=list)
    held: list[tuple[str, int]] = field(default_factory=list)
    drip: DripCounts = field(default_factory=DripCounts)
    expired: int = 0
    sent: SendSummary | None = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. a series that became a drip

    @property
    def did_something(self) -> bool:
        """True when the tick changed anything or met a problem (worth a log line)."""
        d = self.drip
        sent = self.sent.attempted if self.sent is not None else 0
        return bool(
            self.fanned_out or self.held or d.started or d.resumed or d.queued or d.moved
            or d.waiting
            or self.expired or sent or self.problems or self.notes
        )

    def describe(self) -> str:
        """One line for the scheduler's log."""
        parts = [f"tick {self.now:%Y-%m-%d %H:%M:%S}Z"]
        parts += [f"fanned out {s} #{p} to {n}" for s, p, n in self.fanned_out]
        parts += [f"held {s} #{p} (too late)" for s, p in self.held]
        if (self.drip.queued or self.drip.moved or self.drip.started or self.drip.resumed
                or self.drip.waiting):
            parts.append(
                f"drip: {self.drip.started} started, {self.drip.resumed} resumed, "
                f"{self.drip.queued} queued, {self.drip.moved} moved to their next slot, "
                f"{self.drip.waiting} waiting for a broadcast"
            )
        if self.expired:
            parts.append(f"{self.expired} pending signups expired")
        if self.sent is not None and self.sent.attempted:
            parts.append(f"sent: {self.sent.describe()}")
        parts += [f"problem: {p}" for p in self.problems]
        parts += [f"note: {n}" for n in self.notes]
        return "; ".join(parts)


class _Due(NamedTuple):
    broadcast_id: int
    due_at: datetime
    issue_id: int
    position: int
    slug: str
    list_id: int | None


def _settle(
    session: Session,
    row: _Due,
    now: datetime,
    max_late: timedelta,
    gone: JournalView,
    summary: TickSummary,
    frozen: Frozen | None,
) -> bool:
    """Fan out, hold, or mark as already sent one due broadcast; True when it fanned out.

    ``frozen`` is the issue as its files are now (None when they cannot be read:
    the newest stored edition is sent).
    """
    broadcast_id, due_at, issue_id, position, slug, list_id = row
    scheduled = (Broadcast.id == broadcast_id) & (
        Broadcast.status == BroadcastStatus.SCHEDULED.value
    )

    def mark(status: BroadcastStatus, note: str) -> None:
        session.execute(
            update(Broadcast)
            .where(scheduled)
            .values(status=status.value, note=note, updated_at=now)
            .execution_options(synchronize_session=False)
        )

    if issue_id in gone.broadcasts:
        note = (
            f"not sent again: the fan-out journal says it went out at "
            f"{gone.broadcasts[issue_id]} (database restored from an older backup?)"
        )
        mark(BroadcastStatus.FANNED_OUT, note)
        summary.problems.append(f"{slug} #{position}: {note}")
        return False
    if list_id is None:
        mark(BroadcastStatus.HELD, "held: the series has no list")
        summary.held.append((slug, position))
        return False
    if decide(due_at, now, max_late) is Action.HOLD:
        mark(BroadcastStatus.HELD, hold_note(due_at, now))
        summary.held.append((slug, position))
        return False
    # The status flip and the fan-out commit together: a crash leaves neither,
    # and a second scheduler's UPDATE matches no row.
    claimed = session.execute(
        update(Broadcast)
        .where(scheduled)
        .values(status=BroadcastStatus.FANNED_OUT.value, fanned_out_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if not rowcount(claimed):
        return False
    edition_id = edition_for_fan_out(session, issue_id, frozen, now) if frozen else None
    added = fan_out(session, issue_id, list_id, now, edition_id=edition_id)
    session.execute(
        update(Broadcast)
        .where(Broadcast.id == broadcast_id)
        .values(recipients=added)
        .execution_options(synchronize_session=False)
    )
    summary.fanned_out.append((slug, position, added))
    return True


def fan_out_due(
    app: App,
    now: datetime,
    summary: TickSummary,
    max_late: dict[str, timedelta],
    journal: Journal,
    gone: JournalView,
    docs: dict[str, SeriesDoc] | None = None,
) -> None:
    """Fan out (or hold) every scheduled broadcast that is due at ``now``, each exactly once.

    A broadcast the journal says already went out (the database was restored
    from an older backup) is marked fanned out and not sent again. The issue is
    frozen from ``docs`` (the series folders as read this tick) as it goes out.
    """
    with app.db.read(TICKING) as session:
        due = session.execute(
            select(Broadcast.id, Broadcast.due_at, Issue.id, Issue.position, Series.slug,
                   Series.list_id)
            .join(Issue, Issue.id == Broadcast.issue_id)
            .join(Series, Series.id == Issue.series_id)
            .where(Broadcast.status == BroadcastStatus.SCHEDULED.value, Broadcast.due_at <= now)
            .order_by(Broadcast.due_at, Broadcast.id)
        ).all()
    for found in due:
        row = _Due(*found)
        doc = (docs or {}).get(row.slug)
        frozen = None
        if doc is not None:
            try:
                frozen = freeze(app, doc, row.position)
            except NewsletterError as err:  # stays scheduled; staff see why
                summary.problems.append(f"{row.slug} #{row.position}: not fanned out: {err}")
                continue
        with app.db.write(TICKING) as session:
            fanned = _settle(session, row, now, max_late[row.slug], gone, summary, frozen)
        if fanned:
            journal.broadcast(row.issue_id, now)  # after the commit: see journal.py


def advance_drips(
    app: App,
    now: datetime,
    summary: TickSummary,
    rules: dict[str, SeriesRules],
    journal: Journal,
    gone: JournalView,
    docs: dict[str, SeriesDoc] | None = None,
) -> None:
    """Advance every drip-mode series by one tick (one transaction per series).

    A drip queues one person at a time, each a fan-out of its own: they get
    the issue as its files are now (a new edition only when it compiles
    differently from the newest one).
    """
    for slug, rule in rules.items():
        if rule.mode != "drip":
            continue
        doc = (docs or {}).get(slug)
        frozen: list[Frozen] = []
        if doc is not None:
            try:
                frozen = [freeze(app, doc, issue.position) for issue in doc.issues]
            except NewsletterError as err:  # the newest stored editions go out meanwhile
                summary.problems.append(f"{slug}: {err}")
        with app.db.write(TICKING) as session:
            series = session.scalar(select(Series).where(Series.slug == slug))
            if series is None:
                continue
            _freeze_drip_issues(session, series.id, frozen, now)
            counts = advance_series(session, series, rule, now, gone.drips)
        journal.drips(counts.pairs, now)  # after the commit: see journal.py
        summary.drip.started += counts.started
        summary.drip.resumed += counts.resumed
        summary.drip.queued += counts.queued
        summary.drip.moved += counts.moved
        summary.drip.waiting += counts.waiting


def _freeze_drip_issues(session: Session, series_id: int, frozen: list[Frozen],
                        now: datetime) -> None:
    if not frozen:
        return
    ids = {row.position: row.id for row in session.execute(
        select(Issue.position, Issue.id).where(Issue.series_id == series_id))}
    for item in frozen:
        if item.position in ids:
            store_edition(session, ids[item.position], item, now)


def expire_pending(app: App, now: datetime) -> int:
    """Purge pending signups past their expiry (the subscriptions service does the work)."""
    with app.db.write(TICKING) as session:
        return purge_expired_pending(
            session, now, pending_ttl_hours=app.settings.pending_ttl_hours)


def _meetings(app: App, slugs: list[str], rules: dict[str, SeriesRules]) -> list[str]:
    """Same-day warnings for series that just became drips."""
    found: list[str] = []
    with app.db.read(TICKING) as session:
        for slug in slugs:
            series = session.scalar(select(Series).where(Series.slug == slug))
            doc_rules = rules.get(slug)
            if series is not None and doc_rules is not None:
                list_slug = session.scalar(select(MailingList.slug).where(
                    MailingList.id == series.list_id)) or ""
                found += drip_warnings(app, session, series, list_slug, doc_rules)
    return found


def run_due(
    app: App, now: datetime, *, drain: bool = True, progress: Callable[[int], None] | None = None
) -> TickSummary:
    """One scheduler tick at ``now``: broadcasts, drips, pending signups, then (optionally) drain.

    Safe to call any number of times and from two processes at once: every
    step is a conditional UPDATE or an insert guarded by the outbox's unique key.
    ``progress`` is handed to the drain (the scheduler renews its lock there).
    """
    summary = TickSummary(now=now)
    default_zone = app.settings.time_zone
    read: dict[str, SeriesRules] = {}

    def check(doc: SeriesDoc) -> None:  # a series with broken rules is not mirrored
        read[doc.config.slug] = series_rules(doc, default_zone)

    view = app.catalog.mirror_all(now, check=check)
    summary.problems.extend(str(problem) for problem in view.problems)
    summary.notes.extend(view.notes)
    if view.became_drip:
        summary.notes.extend(_meetings(app, view.became_drip, read))
    with app.db.read(TICKING) as session:
        slugs = list(session.scalars(select(Series.slug)))
    # A series whose folder is gone or broken keeps going as a plain broadcast series.
    rules = {slug: read[slug] if slug in view.docs else broadcast_rules(default_zone)
             for slug in slugs}
    journal = Journal.in_folder(app.settings.var_path)
    gone = journal.read()
    fan_out_due(app, now, summary, {slug: r.max_late for slug, r in rules.items()}, journal, gone,
                view.docs)
    advance_drips(app, now, summary, rules, journal, gone, view.docs)
    summary.expired = expire_pending(app, now)
    if drain:
        summary.sent = drain_outbox(app, progress=progress)
    return summary


def next_due(app: App, after: datetime, *, sending: bool = False) -> datetime | None:
    """The first moment after ``after`` at which a tick has something to do, if any is known.

    A scheduled broadcast's time, a drip issue's slot, or a pending signup's
    expiry; with ``sending`` (a tick that drains) also mail waiting in the
    outbox, which is due at once (``after``) or at its next attempt. Files
    staff edit and people who sign up are news only at the next tick, so a
    scheduler sleeping until then must still beat now and again.
    """
    with app.db.read(TICKING) as session:
        waiting = [
            session.scalar(select(func.min(Delivery.next_attempt_at)).where(
                Delivery.status.in_(DUE_STATES))),
            session.scalar(select(func.min(Delivery.lease_until)).where(
                Delivery.status == DeliveryStatus.SENDING)),
        ] if sending else []
        moments = [
            session.scalar(select(func.min(Broadcast.due_at)).where(
                Broadcast.status == BroadcastStatus.SCHEDULED.value, Broadcast.due_at > after)),
            session.scalar(select(func.min(DripProgress.next_due_at)).where(
                DripProgress.next_due_at > after)),
            session.scalar(select(func.min(Subscription.pending_expires_at)).where(
                Subscription.status == SubscriptionStatus.PENDING,
                Subscription.pending_expires_at > after)),
        ]
    found = [moment for moment in moments if moment is not None]
    found += [max(moment, after) for moment in waiting if moment is not None]
    return min(found) if found else None
