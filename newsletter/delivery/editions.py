"""Frozen editions: an issue stored as it is sent, so sending needs no files and no edit leaks in.

At fan-out the issue files are read and compiled once (:func:`freeze`) and
stored as an ``editions`` row: front matter, Markdown, the compiled email
(JSON) and its hash. Every delivery of the fan-out points at that row, and
workers build messages from it alone (:func:`load_compiled`).

* The first fan-out of an issue freezes edition 1 (:func:`edition_for_fan_out`);
  a later fan-out of the same issue (people who joined since) gets the newest
  edition, whatever the files say now: an edit after fan-out reaches nobody by
  itself.
* Staff choose to send the corrected version to those not yet sent
  (:func:`send_corrected`): a new edition is frozen from the files and only
  rows still ``queued`` or ``deferred`` switch to it. Rows ``sending`` (in
  flight) and ``unknown`` (the relay may already have the first version, and
  its retry must carry the same message) keep their edition, as do rows sent.
  Later fan-outs get the new edition.
* Drips queue one person at a time, each at their own moment: each gets the
  issue as its files are then (:func:`store_edition` freezes a new edition
  only when the compiled email differs from the newest one).
* Rows queued before editions existed have none; the worker builds those from
  the files, as before (an upgrade in the middle of a send loses nobody).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from newsletter.content.issuefile import SeriesDoc, find_series, sha256_hex
from newsletter.db.models import Delivery, DeliveryStatus, Edition, Issue, Series
from newsletter.db.transactions import rowcount
from newsletter.errors import NotFoundError
from newsletter.render.compiled import CompiledEmail

if TYPE_CHECKING:
    from newsletter.app import App

# Rows that have not gone out and are not in flight: a corrected version may replace theirs.
NOT_YET_SENT = (DeliveryStatus.QUEUED, DeliveryStatus.DEFERRED)
FAN_OUT = "fan-out"
CORRECTED = "corrected"


@dataclass(frozen=True)
class Frozen:
    """One issue read and compiled from its files, ready to be stored as an edition."""

    position: int
    source_hash: str
    front_matter: str
    markdown: str
    compiled: str
    compiled_hash: str


def freeze(app: App, doc: SeriesDoc, position: int) -> Frozen:
    """Read and compile issue ``position`` of ``doc`` (no database; rendering errors raise)."""
    issue = doc.issue(position)
    compiled = app.renderer.compile_issue(doc, position).to_json()
    front = {"title": issue.title, "subject": issue.subject, "preheader": issue.preheader,
             "position": issue.position, **issue.extra}
    return Frozen(
        position=position, source_hash=issue.content_hash,
        front_matter=json.dumps(front, ensure_ascii=False, sort_keys=True, default=str),
        markdown=issue.body, compiled=compiled, compiled_hash=sha256_hex(compiled))


def latest_edition(session: Session, issue_id: int) -> Edition | None:
    """The newest edition of an issue (what new recipients get), if any."""
    return session.scalar(select(Edition).where(Edition.issue_id == issue_id)
                          .order_by(Edition.number.desc()).limit(1))


def edition_for_fan_out(session: Session, issue_id: int, frozen: Frozen,
                        now: datetime) -> int:
    """The edition a fan-out sends: the newest one, or ``frozen`` stored as edition 1."""
    newest = latest_edition(session, issue_id)
    if newest is not None:
        return newest.id
    return store_edition(session, issue_id, frozen, now)[0]


def store_edition(session: Session, issue_id: int, frozen: Frozen, now: datetime, *,
                  reason: str = FAN_OUT) -> tuple[int, bool]:
    """The edition id for ``frozen`` (the newest one when its compiled email is the same).

    Returns (edition id, True when a new edition was stored). In the caller's
    transaction; two writers racing for the same number meet the unique key.
    """
    newest = latest_edition(session, issue_id)
    if newest is not None and newest.compiled_hash == frozen.compiled_hash:
        return newest.id, False
    row = Edition(issue_id=issue_id, number=(newest.number + 1) if newest else 1,
                  source_hash=frozen.source_hash, front_matter=frozen.front_matter,
                  markdown=frozen.markdown, compiled=frozen.compiled,
                  compiled_hash=frozen.compiled_hash, reason=reason, created_at=now)
    session.add(row)
    session.flush()
    return row.id, True


def load_compiled(session: Session, edition_id: int) -> CompiledEmail:
    """The compiled email of an edition (what workers build messages from)."""
    data = session.scalar(select(Edition.compiled).where(Edition.id == edition_id))
    if data is None:
        raise NotFoundError(f"edition {edition_id} does not exist")
    return CompiledEmail.from_json(data)


@dataclass(frozen=True)
class Correction:
    """What :func:`send_corrected` did."""

    label: str  # series/position
    number: int  # the edition now sent to those not yet sent
    new: bool  # False: the files compile to the newest edition already
    switched: int  # rows moved to it
    kept: int  # rows not moved: sent, in flight, unknown, failed, suppressed


def send_corrected(app: App, series_slug: str, position: int) -> Correction:
    """Freeze the issue as its files are now; send that to the recipients not yet sent.

    Only rows still ``queued`` or ``deferred`` switch; everyone else keeps
    the edition they got (or may have got). Nothing changes when the files
    compile to the newest edition already.
    """
    doc = find_series(app.settings.issues_path, series_slug)
    frozen = freeze(app, doc, position)
    label = f"{series_slug}/{position}"

    def work(session: Session) -> Correction:
        issue_id = session.scalar(select(Issue.id).join(Series).where(
            Series.slug == series_slug, Issue.position == position))
        if issue_id is None or latest_edition(session, issue_id) is None:
            raise NotFoundError(f"{label} has not been sent to anyone yet: nothing to correct "
                                "(send it as usual)")
        now = app.clock.now()
        edition_id, new = store_edition(session, issue_id, frozen, now, reason=CORRECTED)
        number = session.scalar(select(Edition.number).where(Edition.id == edition_id))
        assert number is not None
        switched = rowcount(session.execute(
            update(Delivery)
            .where(Delivery.issue_id == issue_id, Delivery.status.in_(NOT_YET_SENT),
                   Delivery.edition_id.is_distinct_from(edition_id))
            .values(edition_id=edition_id, updated_at=now)
            .execution_options(synchronize_session=False)))
        total = session.scalar(select(func.count()).select_from(Delivery)
                               .where(Delivery.issue_id == issue_id)) or 0
        return Correction(label, number, new, switched, int(total) - switched)

    return app.db.run(work, doing="sending the corrected version")


@dataclass
class EditionInfo:
    """One edition of an issue and its recipients by delivery state."""

    number: int
    reason: str
    created_at: datetime
    compiled_hash: str
    counts: Counter[str] = field(default_factory=Counter)


def editions_of(app: App, series_slug: str, position: int) -> list[EditionInfo]:
    """Every edition of an issue, oldest first, with how many recipients each has, by state."""
    with app.db.read("reading the editions") as session:
        issue_id = session.scalar(select(Issue.id).join(Series).where(
            Series.slug == series_slug, Issue.position == position))
        if issue_id is None:
            raise NotFoundError(f"no issue {series_slug}/{position} in the database")
        found = {row.id: EditionInfo(row.number, row.reason, row.created_at, row.compiled_hash)
                 for row in session.scalars(select(Edition).where(Edition.issue_id == issue_id)
                                            .order_by(Edition.number))}
        for edition_id, status, count in session.execute(
                select(Delivery.edition_id, Delivery.status, func.count())
                .where(Delivery.issue_id == issue_id, Delivery.edition_id.is_not(None))
                .group_by(Delivery.edition_id, Delivery.status)):
            if edition_id in found:
                found[edition_id].counts[str(status)] += int(count)
    return list(found.values())
