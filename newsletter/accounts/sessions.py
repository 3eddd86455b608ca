"""Console logins kept server-side: log in, look a session up (idle and absolute expiry), log out.

The browser holds a random token; the database holds its sha256, so a copy of
the database lets nobody in. Each session has its own CSRF token. Logging out
deletes the row: the old cookie then finds nothing. The role is read from the
account on every lookup, so a changed role counts at once. RELIABILITY #53, #54.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from newsletter.accounts import throttle
from newsletter.accounts.audit import Actor, record
from newsletter.accounts.passwords import hash_password, needs_rehash, verify_password
from newsletter.accounts.roles import Role
from newsletter.db.models import StaffAccount, StaffSession
from newsletter.errors import AccountError

if TYPE_CHECKING:
    from newsletter.app import App

WRONG = "that email address and password do not match a staff account"
TOUCH_EVERY = timedelta(seconds=60)  # write last_seen_at at most this often


class LoginRefused(AccountError):
    """A login that did not work: the same message for an unknown address and a wrong password."""

    def __init__(self, message: str, retry_after: int = 0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class SessionView:
    """The staff member behind a valid session, with the session's CSRF token."""

    session_id: int
    staff_id: int
    email: str
    role: Role
    csrf_token: str
    has_flashes: bool


@dataclass(frozen=True)
class NewSession:
    """A fresh login: ``token`` goes into the cookie, nowhere else."""

    token: str
    view: SessionView


def token_hash(token: str) -> str:
    """What the database keeps of a session token."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _limits(app: App) -> throttle.Limits:
    s = app.settings
    return throttle.Limits(s.console_login_failures_per_account, s.console_login_failures_per_ip,
                           timedelta(minutes=s.console_login_window_minutes))


def log_in(app: App, email: str, password: str, *, ip: str, user_agent: str = "") -> NewSession:
    """Check the password and open a session; LoginRefused when wrong or throttled."""
    typed = email.strip().lower()[:320]
    now = app.clock.now()
    limits = _limits(app)
    with app.db.read("checking a login") as session:
        wait = throttle.wait_seconds(session, typed, ip, now, limits)
        account = session.scalar(select(StaffAccount).where(StaffAccount.email == typed))
        stored = account.password_hash if account is not None else None
    if wait:
        minutes = max(1, round(wait / 60))
        raise LoginRefused(f"too many failed logins; try again in about {minutes} minute"
                           + ("s" if minutes != 1 else ""), retry_after=wait)
    ok = verify_password(stored, password)  # as slow for an unknown address as for a known one
    if not ok or account is None:
        app.db.run(lambda s: throttle.count_failure(s, typed, ip, now), doing="counting a login")
        raise LoginRefused(WRONG)
    rehashed = hash_password(password) if needs_rehash(stored or "") else None
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    lifetime = timedelta(hours=app.settings.console_session_max_hours)
    staff_id = account.id

    def work(session: Session) -> NewSession:
        row = session.get(StaffAccount, staff_id)
        if row is None:  # removed a moment ago
            raise LoginRefused(WRONG)
        row.last_login_at = now
        if rehashed:
            row.password_hash = rehashed
        throttle.forget_failures(session, typed)
        entry = StaffSession(token_hash=token_hash(token), staff_id=row.id, csrf_token=csrf,
                             created_at=now, last_seen_at=now, expires_at=now + lifetime,
                             ip=ip[:64], user_agent=user_agent[:512] or None)
        session.add(entry)
        session.flush()
        record(session, Actor(row.email, ip), "login", row.email, "", now)
        view = SessionView(entry.id, row.id, row.email, Role(row.role), csrf, False)
        return NewSession(token, view)

    return app.db.run(work, doing="opening a session")


def current_session(app: App, token: str | None) -> SessionView | None:
    """The session of ``token`` if it is valid now (and mark it used); None when not.

    A session ends when it has been idle longer than the idle limit or lived
    longer than its absolute lifetime; the row is then deleted.
    """
    if not token or len(token) > 200:
        return None
    now = app.clock.now()
    idle = timedelta(minutes=app.settings.console_session_idle_minutes)
    hashed = token_hash(token)
    with app.db.read("reading a session") as session:
        found = session.execute(
            select(StaffSession, StaffAccount)
            .join(StaffAccount, StaffAccount.id == StaffSession.staff_id)
            .where(StaffSession.token_hash == hashed)
        ).first()
        if found is None:
            return None
        entry, account = found
        view = SessionView(entry.id, account.id, account.email, Role(account.role),
                           entry.csrf_token, bool(entry.flashes))
        expired = now >= entry.expires_at or now - entry.last_seen_at >= idle
        stale = now - entry.last_seen_at >= TOUCH_EVERY
    if expired:
        gone = delete(StaffSession).where(StaffSession.id == view.session_id)
        app.db.run(lambda s: s.execute(gone), doing="ending an expired session")
        return None
    if stale:
        def touch(s: Session) -> None:
            row = s.get(StaffSession, view.session_id)
            if row is not None:
                row.last_seen_at = now
        app.db.run(touch, doing="marking a session used")
    return view


def log_out(app: App, token: str | None, *, ip: str | None = None) -> bool:
    """End the session of ``token`` (its cookie is useless afterwards); False when none."""
    if not token:
        return False
    now = app.clock.now()
    hashed = token_hash(token)

    def work(session: Session) -> bool:
        found = session.execute(
            select(StaffSession, StaffAccount)
            .join(StaffAccount, StaffAccount.id == StaffSession.staff_id)
            .where(StaffSession.token_hash == hashed)
        ).first()
        if found is None:
            return False
        entry, account = found
        session.delete(entry)
        record(session, Actor(account.email, ip), "logout", account.email, "", now)
        return True

    return app.db.run(work, doing="ending a session")


def add_flash(app: App, session_id: int, message: str, kind: str = "ok") -> None:
    """Keep a message for the next page this session sees."""
    def work(session: Session) -> None:
        row = session.get(StaffSession, session_id)
        if row is not None:
            kept = json.loads(row.flashes) if row.flashes else []
            kept.append([kind, message])
            row.flashes = json.dumps(kept[-5:])
    app.db.run(work, doing="keeping a message")


def take_flashes(app: App, session_id: int) -> list[tuple[str, str]]:
    """The kept messages as (kind, text), removed as they are read."""
    def work(session: Session) -> list[tuple[str, str]]:
        row = session.get(StaffSession, session_id)
        if row is None or not row.flashes:
            return []
        kept = json.loads(row.flashes)
        row.flashes = None
        return [(str(kind), str(text)) for kind, text in kept]
    return app.db.run(work, doing="reading messages")


def end_sessions(app: App, staff_id: int) -> int:
    """End every session of one account; how many there were."""
    def work(session: Session) -> int:
        query = select(StaffSession.id).where(StaffSession.staff_id == staff_id)
        rows = list(session.scalars(query))
        session.execute(delete(StaffSession).where(StaffSession.staff_id == staff_id))
        return len(rows)
    return app.db.run(work, doing="ending sessions")
