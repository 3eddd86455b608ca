"""CSV imports from the console: store the upload, dry-run it, then import it as a job.

The steps, each a function here (the console's pages call them in this order):

1. :func:`check_upload` keeps the uploaded file as ``var/imports/<token>.csv``
   (``token`` random, the file at most ``console_import_max_bytes``), runs
   :func:`~newsletter.audience.csv_files.import_csv` as a dry run (nothing
   written to subscribers) and stores its report in an ``import_jobs`` row,
   state ``checked``; the audit log gets ``subscribers.import_checked``.
2. :func:`claim` moves the job to ``running`` (only one caller wins) and
   :func:`run_import` imports the same stored file in batches, moving
   ``done`` and the heartbeat ``updated_at`` after each batch; at the end it
   stores the report, deletes the file and writes ``subscribers.import`` to
   the audit log in the same transaction as ``done``.

A crash (the server stopped mid-import) leaves ``running`` with a heartbeat
that stops moving: after :data:`STALE_AFTER` the job reads as interrupted and
may be claimed again. Importing is idempotent (people already active are
counted as such, never added twice), so running the file again from the start
is safe. A file not imported within :data:`KEEP_UPLOAD` is deleted by the next
upload's sweep (state ``expired``); a discarded one at once.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from newsletter import wording
from newsletter.accounts.audit import Actor, record
from newsletter.audience.csv_files import ImportReport, import_csv
from newsletter.db.models import ImportJob
from newsletter.errors import ContentError, NewsletterError, NotFoundError

if TYPE_CHECKING:
    from newsletter.app import App

log = logging.getLogger(__name__)

UPLOADS = "imports"
STALE_AFTER = timedelta(minutes=5)  # batches take seconds; reading a 20 MB file, a minute or two
KEEP_UPLOAD = timedelta(hours=24)
CLAIMABLE = ("checked", "failed")
TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@dataclass(frozen=True)
class JobView:
    """One import job as the console shows it."""

    token: str
    list_slug: str
    file_name: str
    basis: str
    staff_email: str
    state: str
    total: int
    done: int
    checked: ImportReport
    result: ImportReport | None
    error: str
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    interrupted: bool  # "running", but its heartbeat stopped: the server stopped mid-import

    @property
    def percent(self) -> int:
        """How far the import is, 0-100."""
        return 100 if self.total == 0 else min(100, self.done * 100 // self.total)


def _dump(report: ImportReport) -> str:
    return json.dumps(asdict(report), ensure_ascii=False)


def _load(text: str) -> ImportReport:
    data = json.loads(text)
    data["bad"] = [(int(line), str(message)) for line, message in data.get("bad", [])]
    data["kept_out"] = [(int(line), str(address), str(why))
                        for line, address, why in data.get("kept_out", [])]
    return ImportReport(**data)


def upload_dir(app: App) -> Path:
    """Where uploads wait for their import (``var/imports``)."""
    return app.settings.var_path / UPLOADS


def _file_of(app: App, token: str) -> Path:
    return upload_dir(app) / f"{token}.csv"


def _view(row: ImportJob, now: datetime) -> JobView:
    return JobView(
        token=row.token, list_slug=row.list_slug, file_name=row.file_name, basis=row.basis,
        staff_email=row.staff_email, state=row.state, total=row.total, done=row.done,
        checked=_load(row.checked), result=_load(row.result) if row.result else None,
        error=row.error, created_at=row.created_at, updated_at=row.updated_at,
        finished_at=row.finished_at,
        interrupted=row.state == "running" and row.updated_at < now - STALE_AFTER,
    )


def clean_file_name(name: str) -> str:
    """The uploaded file's own name, without any folder a browser sent, cut to 200 characters."""
    base = PurePath(name.replace("\\", "/")).name.strip()
    printable = "".join(char for char in base if char.isprintable())
    return printable[:200] or "upload.csv"


def summary(report: ImportReport, *, dry_run: bool) -> str:
    """One line of counts for the audit log."""
    verb = "would add" if dry_run else "added"
    return (f"{wording.count(report.rows, 'row')}: {verb} {report.added}, "
            f"{report.existing} already subscribed, {report.left_out} left out "
            f"(unsubscribed, bounced, complained or erased), "
            f"{wording.count(report.duplicates, 'duplicate')}, {report.refused} refused")


def check_upload(
    app: App, *, file_name: str, data: bytes, list_slug: str, basis: str, actor: Actor
) -> JobView:
    """Keep the upload, dry-run it, and record the job (state ``checked``); nothing else written.

    Raises ContentError (an empty, oversized or unreadable file, named) or
    NotFoundError (no such list); then nothing is kept.
    """
    name = clean_file_name(file_name)
    limit = app.settings.console_import_max_bytes
    if not data.strip():
        raise ContentError(f"{name}: the file is empty")
    if len(data) > limit:
        raise ContentError(f"{name}: the file is {wording.size(len(data))}; the console imports "
                           f"files up to {wording.size(limit)} (console_import_max_bytes)")
    known = app.catalog.find_list(list_slug)
    sweep(app)
    token = secrets.token_urlsafe(24)
    path = _file_of(app, token)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_bytes(data)
    try:
        report = import_csv(app, path, known.config.slug, dry_run=True, name=name)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    statement = basis.strip()[:2000]

    def store(session: Session) -> JobView:
        now = app.clock.now()
        row = ImportJob(
            token=token, list_slug=known.config.slug, file_name=name, basis=statement,
            staff_email=actor.name, staff_ip=actor.ip, state="checked",
            total=report.added + report.existing + report.left_out, done=0,
            checked=_dump(report), result="", error="", created_at=now, updated_at=now,
        )
        session.add(row)
        record(session, actor, "subscribers.import_checked", known.config.slug,
               f"{name}: {summary(report, dry_run=True)}", now)
        session.flush()
        return _view(row, now)

    try:
        return app.db.run(store, doing="recording the import")
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def get_job(app: App, token: str) -> JobView:
    """The job ``token``, or NotFoundError."""
    if not token or len(token) > 43 or not set(token) <= TOKEN_CHARS:
        raise NotFoundError("no import with this address")
    with app.db.read("reading the import") as session:
        row = session.scalar(select(ImportJob).where(ImportJob.token == token))
        if row is None:
            raise NotFoundError("no import with this address (it may have been discarded)")
        return _view(row, app.clock.now())


def recent_jobs(app: App, limit: int = 10) -> list[JobView]:
    """The newest imports first."""
    with app.db.read("reading the imports") as session:
        now = app.clock.now()
        rows = session.scalars(select(ImportJob).order_by(ImportJob.id.desc()).limit(limit))
        return [_view(row, now) for row in rows]


def claim(app: App, token: str) -> bool:
    """Move a checked, failed or interrupted job to ``running``; False if another has it.

    One conditional UPDATE: two presses of the button, or two server
    processes, never run the same file at once.
    """
    job = get_job(app, token)
    if not _file_of(app, token).exists():
        return False

    def work(session: Session) -> bool:
        now = app.clock.now()
        done = session.execute(
            update(ImportJob)
            .where(ImportJob.token == job.token, or_(
                ImportJob.state.in_(CLAIMABLE),
                (ImportJob.state == "running") & (ImportJob.updated_at < now - STALE_AFTER),
            ))
            .values(state="running", done=0, error="", updated_at=now)
        )
        return bool(getattr(done, "rowcount", 0))

    return app.db.run(work, doing="starting the import")


def run_import(
    app: App, token: str, *, after_batch: Callable[[JobView], None] | None = None
) -> JobView:
    """Import a claimed job's file; the job ends ``done`` (file deleted) or ``failed`` (kept).

    Never raises for a problem with the file or the database: the job says it.
    ``after_batch`` sees the job as recorded after each batch (for a caller that
    reports progress elsewhere).
    """
    job = get_job(app, token)
    path = _file_of(app, token)

    def progress(done: int, total: int) -> None:
        app.db.run(lambda session: session.execute(
            update(ImportJob).where(ImportJob.token == token, ImportJob.state == "running")
            .values(done=done, total=total, updated_at=app.clock.now())
        ), doing="recording the import's progress")
        if after_batch is not None:
            after_batch(get_job(app, token))

    try:
        report = import_csv(app, path, job.list_slug, progress=progress,
                            basis=job.basis or None, name=job.file_name)
    except Exception as err:  # the job records every failure; the thread must not die silently
        message = str(err) if isinstance(err, NewsletterError) else (
            f"unexpected error: {type(err).__name__}: {err}")
        if not isinstance(err, NewsletterError):
            log.error("import %s of %s failed", token, job.file_name, exc_info=err)
        _finish(app, token, state="failed", error=message)
        return get_job(app, token)
    actor = Actor(job.staff_email, None)
    _finish(app, token, state="done", result=report, actor=actor, job=job)
    path.unlink(missing_ok=True)
    return get_job(app, token)


def _finish(app: App, token: str, *, state: str, error: str = "",
            result: ImportReport | None = None, actor: Actor | None = None,
            job: JobView | None = None) -> None:
    def work(session: Session) -> None:
        now = app.clock.now()
        row = session.scalar(select(ImportJob).where(ImportJob.token == token))
        if row is None:
            return
        row.state = state
        row.error = error
        row.updated_at = now
        if result is not None:
            row.result = _dump(result)
            row.done = row.total = result.added + result.existing + result.left_out
            row.finished_at = now
        if actor is not None and job is not None and result is not None:
            record(session, Actor(actor.name, row.staff_ip), "subscribers.import",
                   job.list_slug, f"{job.file_name}: {summary(result, dry_run=False)}", now)

    app.db.run(work, doing="recording the end of the import")


def discard(app: App, token: str, actor: Actor) -> JobView:
    """Delete a checked (or failed) upload without importing it; audited."""
    job = get_job(app, token)
    if job.state not in CLAIMABLE:
        raise ContentError(f"{job.file_name}: this import is {job.state}; it cannot be discarded")

    def work(session: Session) -> None:
        now = app.clock.now()
        session.execute(update(ImportJob).where(ImportJob.token == token)
                        .values(state="discarded", updated_at=now))
        record(session, actor, "subscribers.import_discarded", job.list_slug, job.file_name, now)

    app.db.run(work, doing="discarding the import")
    _file_of(app, token).unlink(missing_ok=True)
    return get_job(app, token)


def sweep(app: App) -> int:
    """Delete uploads left unimported for :data:`KEEP_UPLOAD`; returns how many."""
    cutoff = app.clock.now() - KEEP_UPLOAD
    with app.db.read("reading old imports") as session:
        old = list(session.scalars(select(ImportJob.token).where(
            ImportJob.state.in_(CLAIMABLE), ImportJob.created_at < cutoff)))
    if old:
        app.db.run(lambda session: session.execute(
            update(ImportJob).where(ImportJob.token.in_(old), ImportJob.state.in_(CLAIMABLE))
            .values(state="expired", updated_at=app.clock.now())
        ), doing="expiring old imports")
    for token in old:
        _file_of(app, token).unlink(missing_ok=True)
    return len(old)
