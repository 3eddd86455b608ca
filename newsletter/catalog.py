"""Files become rows: ``issues/`` and ``subscribers/lists.toml`` mirrored into the database.

The files stay the source of truth; deliveries, broadcasts and subscriptions
refer to their rows. Every caller mirrors through the App's :class:`Catalog`:

* :meth:`Catalog.lists` for the declared lists (web requests, signups, staff
  commands): read again only when ``lists.toml`` changed on disk;
* :meth:`Catalog.mirror_series` for one series, in the caller's transaction,
  when staff act on it (schedule, send now): lists first, so a list declared a
  moment ago is found;
* :meth:`Catalog.mirror_all` for every series folder (each scheduler tick,
  ``newsletter run``): rows are written only where the files differ from
  them, and a broken folder is reported without stopping the others.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter import wording
from newsletter.clock import Clock
from newsletter.config import Settings
from newsletter.content.issuefile import SeriesDoc, list_series, read_series
from newsletter.content.lists import LISTS_FILE, ListConfig, consent_text_hash, read_lists
from newsletter.db.models import (
    ConsentVersion,
    Issue,
    MailingList,
    Series,
    Subscription,
    SubscriptionStatus,
)
from newsletter.db.transactions import Transactions
from newsletter.errors import NewsletterError, NotFoundError


@dataclass(frozen=True)
class KnownList:
    """A declared list and its row id."""

    config: ListConfig
    id: int


@dataclass
class CatalogView:
    """The series folders as read now: the readable ones, and what was wrong with the others."""

    docs: dict[str, SeriesDoc] = field(default_factory=dict)
    problems: list[NewsletterError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what mirroring changed that staff must know
    became_drip: list[str] = field(default_factory=list)  # slugs of broadcast series now drips


@dataclass(frozen=True)
class Author:
    """Who changed a list's consent text in the console, and from when (credits the version)."""

    email: str
    since: datetime
    list_slug: str


def sync_lists(session: Session, configs: list[ListConfig], now: datetime,
               author: Author | None = None) -> None:
    """Create or update a row per declared list (lists are never deleted here).

    A consent text that differs from the list's newest version becomes a new
    version (see :func:`sync_consent_versions`).
    """
    existing = {row.slug: row for row in session.scalars(select(MailingList))}
    for config in configs:
        row = existing.get(config.slug)
        if row is None:
            row = MailingList(slug=config.slug, created_at=now)
            session.add(row)
            existing[config.slug] = row
        row.name = config.name
        row.description = config.description
        row.double_opt_in = config.double_opt_in
        row.thank_you_url = config.thank_you_url
    session.flush()
    by = {existing[author.list_slug].id: author} if author and author.list_slug in existing else {}
    sync_consent_versions(session, [(existing[c.slug].id, c.consent_text) for c in configs],
                          now, by)


def sync_consent_versions(session: Session, texts: list[tuple[int, str]], now: datetime,
                          authors: dict[int, Author] | None = None) -> None:
    """Add a version for each list whose consent text is not its newest version's.

    Versions are only ever added: a text changed back to an earlier wording is
    a new version too (the history shows what was on the form when).
    ``authors`` (by list id) credits a list's new version to the staff member
    who changed its text, even when another process mirrored the file first.
    """
    if not texts:
        return
    newest: dict[int, ConsentVersion] = {}
    for version in session.scalars(
            select(ConsentVersion).where(ConsentVersion.list_id.in_([i for i, _ in texts]))
            .order_by(ConsentVersion.list_id, ConsentVersion.version)):
        newest[version.list_id] = version
    for list_id, text in texts:
        digest = consent_text_hash(text)
        latest = newest.get(list_id)
        author = (authors or {}).get(list_id)
        if latest is not None and latest.text_hash == digest:
            if (author is not None and latest.created_by is None
                    and latest.created_at >= author.since):
                latest.created_by = author.email
            continue
        session.add(ConsentVersion(
            list_id=list_id, version=(latest.version + 1) if latest is not None else 1,
            text=text, text_hash=digest, created_at=now,
            created_by=author.email if author is not None else None))
    session.flush()


def _became_drip(session: Session, series: Series, list_slug: str, now: datetime) -> str:
    """Mark a broadcast series turning into a drip: only later confirmations are enrolled."""
    series.drip_since = now
    current = session.scalar(select(func.count()).select_from(Subscription).where(
        Subscription.list_id == series.list_id,
        Subscription.status == SubscriptionStatus.ACTIVE)) or 0
    return (
        f"{series.slug} is now a drip: people who confirm from now on start it at part 1; "
        f"the {wording.count(current, 'current subscriber')} of {list_slug} "
        f"{'was' if current == 1 else 'were'} not enrolled "
        f"(to enrol them too: newsletter schedule enrol {series.slug} --current-subscribers)"
    )


def sync_series(session: Session, doc: SeriesDoc, now: datetime,
                notes: list[str] | None = None) -> Series:
    """Create or update the series row and one row per issue; returns the series row.

    A series that was mirrored as a broadcast and is now a drip enrols only
    people who confirm from now on; what happened goes into ``notes``.
    """
    mailing_list = session.scalar(select(MailingList).where(MailingList.slug == doc.config.list))
    if mailing_list is None:
        raise NotFoundError(
            f"{doc.path / 'series.toml'}: list {doc.config.list!r} is not declared "
            "in subscribers/lists.toml"
        )
    series = session.scalar(select(Series).where(Series.slug == doc.config.slug))
    switched = series is not None and series.mode != "drip" and doc.config.mode == "drip"
    if series is None:
        series = Series(slug=doc.config.slug, created_at=now)
        session.add(series)
    series.title = doc.config.title
    series.mode = doc.config.mode
    series.list_id = mailing_list.id
    series.updated_at = now
    if doc.config.mode != "drip":
        series.drip_since = None
    session.flush()
    if switched:
        note = _became_drip(session, series, mailing_list.slug, now)
        if notes is not None:
            notes.append(note)
    rows = {row.position: row for row in session.scalars(
        select(Issue).where(Issue.series_id == series.id)
    )}
    for issue in doc.issues:
        row = rows.get(issue.position)
        if row is None:
            row = Issue(series_id=series.id, position=issue.position, created_at=now)
            session.add(row)
        if row.content_hash != issue.content_hash or row.slug != issue.slug:
            row.updated_at = now
        row.slug = issue.slug
        row.title = issue.title
        row.subject = doc.subject_line(issue)  # as sent: with the current part number
        row.preheader = issue.preheader
        row.source_path = str(issue.path)
        row.content_hash = issue.content_hash
        if row.updated_at is None:
            row.updated_at = now
    session.flush()
    return series


_IssueFields = tuple[str, str, str, str, str, str]  # slug, title, subject, preheader, path, hash


def _series_fields(doc: SeriesDoc) -> tuple[str, str, str]:
    return doc.config.title, doc.config.mode, doc.config.list


def _issue_fields(doc: SeriesDoc) -> dict[int, _IssueFields]:
    return {issue.position: (issue.slug, issue.title, doc.subject_line(issue), issue.preheader,
                             str(issue.path), issue.content_hash) for issue in doc.issues}


def _mirrored(session: Session) -> dict[str, tuple[tuple[str, str, str], dict[int, _IssueFields]]]:
    """What the rows say about every series: the fields :func:`sync_series` writes."""
    found: dict[str, tuple[tuple[str, str, str], dict[int, _IssueFields]]] = {}
    rows = session.execute(
        select(Series.slug, Series.title, Series.mode, MailingList.slug, Issue.position,
               Issue.slug, Issue.title, Issue.subject, Issue.preheader, Issue.source_path,
               Issue.content_hash)
        .outerjoin(MailingList, MailingList.id == Series.list_id)
        .outerjoin(Issue, Issue.series_id == Series.id)
    )
    for slug, title, mode, list_slug, position, *issue in rows:
        entry = found.setdefault(slug, ((title, mode, list_slug or ""), {}))
        if position is not None:
            entry[1][position] = tuple(issue)
    return found


def _unchanged(doc: SeriesDoc, mirrored: tuple[tuple[str, str, str],
                                              dict[int, _IssueFields]] | None) -> bool:
    if mirrored is None or mirrored[0] != _series_fields(doc):
        return False
    rows = mirrored[1]
    return all(rows.get(position) == fields for position, fields in _issue_fields(doc).items())


class Catalog:
    """The one entry point that mirrors files into rows, with the lists cache of one App."""

    def __init__(self, settings: Settings, db: Transactions, clock: Clock) -> None:
        self._settings = settings
        self._db = db
        self._clock = clock
        self._lock = threading.Lock()
        self._lists: tuple[tuple[int, int] | None, dict[str, KnownList]] | None = None
        self._lists_file = settings.subscribers_path / LISTS_FILE

    @property
    def lists_file(self) -> Path:
        """Where the lists are declared."""
        return self._lists_file

    def _stamp(self) -> tuple[int, int] | None:
        try:
            found = self.lists_file.stat()
        except FileNotFoundError:
            return None
        return (found.st_mtime_ns, found.st_size)

    def lists(self) -> dict[str, KnownList]:
        """Declared lists by slug, mirrored to the database when ``lists.toml`` changed."""
        stamp = self._stamp()  # one stat per call: the signup form asks on every request
        cached = self._lists
        if cached is not None and cached[0] == stamp:
            return cached[1]
        return self.reload_lists()

    def reload_lists(self, author: Author | None = None) -> dict[str, KnownList]:
        """Read ``lists.toml`` and mirror it now (the console calls this after saving it).

        ``author`` credits new consent text versions to the staff member who saved.
        """
        with self._lock:
            stamp = self._stamp()
            configs = read_lists(self._settings.subscribers_path)

            def sync(session: Session) -> dict[str, KnownList]:
                sync_lists(session, configs, self._clock.now(), author)
                rows = session.execute(select(MailingList.slug, MailingList.id))
                ids = {row.slug: row.id for row in rows}
                return {c.slug: KnownList(c, ids[c.slug]) for c in configs}

            known = self._db.run(sync, doing="reading the lists")
            self._lists = (stamp, known)
            return known

    def find_list(self, slug: str) -> KnownList:
        """The declared list ``slug``, or NotFoundError naming it."""
        known = self.lists().get(slug)
        if known is None:
            raise NotFoundError(f"no list {slug!r} (declare it in subscribers/{LISTS_FILE})")
        return known

    def mirror_series(self, session: Session, doc: SeriesDoc, now: datetime,
                      notes: list[str] | None = None) -> Series:
        """Mirror the lists, then ``doc``, in the caller's transaction; returns the series row."""
        sync_lists(session, read_lists(self._settings.subscribers_path), now)
        return sync_series(session, doc, now, notes)

    def mirror_all(
        self, now: datetime, check: Callable[[SeriesDoc], object] | None = None
    ) -> CatalogView:
        """Read every series folder and mirror those whose files differ from their rows.

        ``check`` may refuse a folder by raising a NewsletterError (the scheduler
        checks its rules); a refused or broken folder is not mirrored and is
        reported in ``problems``: one bad file must not stop every other series.
        """
        view = CatalogView()
        issues_path = self._settings.issues_path
        docs: list[SeriesDoc] = []
        for slug in list_series(issues_path):
            try:
                doc = read_series(issues_path / slug)
                if check is not None:
                    check(doc)
            except NewsletterError as err:
                view.problems.append(err)
                continue
            docs.append(doc)
        with self._db.read("reading the series") as session:
            mirrored = _mirrored(session)
        for doc in docs:
            if not _unchanged(doc, mirrored.get(doc.config.slug)):
                try:
                    noted = len(view.notes)
                    with self._db.write("mirroring a series") as session:
                        sync_series(session, doc, now, view.notes)
                    if len(view.notes) > noted:
                        view.became_drip.append(doc.config.slug)
                except NotFoundError as err:
                    view.problems.append(err)
                    continue
            view.docs[doc.config.slug] = doc
        return view
