"""Staff accounts: add, list, change role, reset password, remove (the CLI and the console alike).

Addresses are compared lower-cased. There is always at least one owner once
there is any: removing or demoting the last one is refused. A new password or
a removal ends that person's sessions at once. Each change is written to the
audit log in its own transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from newsletter.accounts.audit import Actor, record
from newsletter.accounts.passwords import check_password_rules, hash_password, verify_password
from newsletter.accounts.roles import Role
from newsletter.db.models import StaffAccount, StaffSession
from newsletter.errors import AccountError, NotFoundError

if TYPE_CHECKING:
    from newsletter.app import App

MAX_EMAIL = 320


@dataclass(frozen=True)
class StaffInfo:
    """One account as pages and commands show it (never the hash)."""

    id: int
    email: str
    role: Role
    created_at: datetime
    last_login_at: datetime | None


def staff_address(raw: str) -> str:
    """The stored form of a staff address: trimmed, lower-case; AccountError when not an address."""
    email = raw.strip().lower()
    local, at, domain = email.rpartition("@")
    if (not at or not local or not domain or len(email) > MAX_EMAIL
            or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in email)):
        raise AccountError(f"{raw.strip()!r} is not an email address")
    return email


def _info(row: StaffAccount) -> StaffInfo:
    return StaffInfo(row.id, row.email, Role(row.role), row.created_at, row.last_login_at)


def _find(session: Session, email: str) -> StaffAccount:
    row = session.scalar(select(StaffAccount).where(StaffAccount.email == email))
    if row is None:
        raise NotFoundError(f"there is no staff account for {email}")
    return row


def _owners(session: Session) -> int:
    query = select(func.count(StaffAccount.id)).where(StaffAccount.role == Role.OWNER)
    return int(session.scalar(query) or 0)


def add_staff(app: App, email: str, role: Role, password: str, *, actor: Actor,
              only_if_none: bool = False) -> StaffInfo:
    """Create an account; AccountError when the address has one or the password is too weak.

    With ``only_if_none`` it is the first account or nothing: AccountError when
    any account exists (checked in the same transaction, so two first runs at
    once make one owner).
    """
    address = staff_address(email)
    check_password_rules(password, address)
    hashed = hash_password(password)  # slow on purpose: outside the transaction
    now = app.clock.now()

    def work(session: Session) -> StaffInfo:
        if only_if_none and session.scalar(select(StaffAccount.id).limit(1)) is not None:
            raise AccountError("there is a staff account already")
        if session.scalar(select(StaffAccount.id).where(StaffAccount.email == address)):
            raise AccountError(f"{address} already has a staff account")
        row = StaffAccount(email=address, password_hash=hashed, role=role, created_at=now,
                           updated_at=now, password_changed_at=now)
        session.add(row)
        session.flush()
        record(session, actor, "staff.add", address, f"role {role}", now)
        return _info(row)

    return app.db.run(work, doing="adding a staff account")


def list_staff(app: App) -> list[StaffInfo]:
    """Every account, by address."""
    with app.db.read("listing staff accounts") as session:
        rows = session.scalars(select(StaffAccount).order_by(StaffAccount.email))
        return [_info(row) for row in rows]


def get_staff(app: App, email: str) -> StaffInfo:
    """One account by address; NotFoundError when there is none."""
    address = staff_address(email)
    with app.db.read("reading a staff account") as session:
        return _info(_find(session, address))


def has_staff(app: App) -> bool:
    """True once any staff account exists."""
    with app.db.read("reading staff accounts") as session:
        return session.scalar(select(StaffAccount.id).limit(1)) is not None


def change_role(app: App, email: str, role: Role, *, actor: Actor) -> StaffInfo:
    """Give an account another role; refused when it would leave no owner."""
    address = staff_address(email)
    now = app.clock.now()

    def work(session: Session) -> StaffInfo:
        row = _find(session, address)
        if row.role == role:
            return _info(row)
        if row.role == Role.OWNER and _owners(session) <= 1:
            raise AccountError(f"{address} is the only owner; make someone else owner first")
        before = row.role
        row.role = role
        row.updated_at = now
        record(session, actor, "staff.role", address, f"{before} → {role}", now)
        return _info(row)

    return app.db.run(work, doing="changing a staff role")


def reset_password(app: App, email: str, password: str, *, actor: Actor) -> StaffInfo:
    """Set a new password and end every session of the account (they log in again)."""
    address = staff_address(email)
    check_password_rules(password, address)
    hashed = hash_password(password)
    now = app.clock.now()

    def work(session: Session) -> StaffInfo:
        row = _find(session, address)
        row.password_hash = hashed
        row.password_changed_at = row.updated_at = now
        session.execute(delete(StaffSession).where(StaffSession.staff_id == row.id))
        record(session, actor, "staff.password", address, "password reset; sessions ended", now)
        return _info(row)

    return app.db.run(work, doing="resetting a staff password")


def remove_staff(app: App, email: str, *, actor: Actor) -> None:
    """Delete an account and its sessions (refused for the last owner); the audit log stays."""
    address = staff_address(email)
    now = app.clock.now()

    def work(session: Session) -> None:
        row = _find(session, address)
        if row.role == Role.OWNER and _owners(session) <= 1:
            raise AccountError(f"{address} is the only owner and cannot be removed")
        session.execute(delete(StaffSession).where(StaffSession.staff_id == row.id))
        session.delete(row)
        record(session, actor, "staff.remove", address, f"was {row.role}", now)

    app.db.run(work, doing="removing a staff account")


def change_own_password(app: App, staff_id: int, current: str, new: str, *, actor: Actor,
                        keep_session: int | None = None) -> StaffInfo:
    """Someone changes their own password: the current one must be right.

    Every other session of the account ends (a copy of an old login stops
    working); the session ``keep_session`` they did this from stays.
    """
    with app.db.read("reading a staff account") as session:
        row = session.get(StaffAccount, staff_id)
        if row is None:
            raise NotFoundError("this staff account no longer exists")
        stored, address = row.password_hash, row.email
    if not verify_password(stored, current):
        raise AccountError("the current password is not right")
    if new == current:
        raise AccountError("the new password is the same as the current one")
    check_password_rules(new, address)
    hashed = hash_password(new)
    now = app.clock.now()

    def work(session: Session) -> StaffInfo:
        account = session.get(StaffAccount, staff_id)
        if account is None:
            raise NotFoundError("this staff account no longer exists")
        account.password_hash = hashed
        account.password_changed_at = account.updated_at = now
        others = delete(StaffSession).where(StaffSession.staff_id == staff_id)
        if keep_session is not None:
            others = others.where(StaffSession.id != keep_session)
        session.execute(others)
        record(session, actor, "staff.own-password", address, "other sessions ended", now)
        return _info(account)

    return app.db.run(work, doing="changing a password")
