"""Mirror series folders into ``series`` and ``issues`` rows so deliveries can refer to them."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.content.issuefile import SeriesDoc, list_series, read_series
from newsletter.db.models import Issue, MailingList, Series
from newsletter.errors import NotFoundError


def sync_series(session: Session, doc: SeriesDoc, now: datetime) -> Series:
    """Create or update the series row and one row per issue; returns the series row."""
    mailing_list = session.scalar(select(MailingList).where(MailingList.slug == doc.config.list))
    if mailing_list is None:
        raise NotFoundError(
            f"{doc.path / 'series.toml'}: list {doc.config.list!r} is not declared "
            "in subscribers/lists.toml"
        )
    series = session.scalar(select(Series).where(Series.slug == doc.config.slug))
    if series is None:
        series = Series(slug=doc.config.slug, created_at=now)
        session.add(series)
    series.title = doc.config.title
    series.mode = doc.config.mode
    series.list_id = mailing_list.id
    series.updated_at = now
    session.flush()
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
        row.subject = issue.subject
        row.preheader = issue.preheader
        row.source_path = str(issue.path)
        row.content_hash = issue.content_hash
        if row.updated_at is None:
            row.updated_at = now
    session.flush()
    return series


def sync_all_series(session: Session, issues_dir: Path, now: datetime) -> list[Series]:
    """Mirror every series folder under ``issues_dir``."""
    return [sync_series(session, read_series(issues_dir / slug), now)
            for slug in list_series(issues_dir)]
