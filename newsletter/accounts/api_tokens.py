"""Bearer tokens for the REST API: create, list, revoke (owners), and check one a request shows.

A token reads ``nlapi_<prefix>_<secret>``: the 8-character prefix is public
(lists show it; it finds the row), the secret is 32 random bytes (256 bits,
base64url). Only the SHA-256 of the secret is stored. A slow password hash
(argon2, as for staff passwords) guards *guessable* secrets against an
attacker with a copy of the database; a 256-bit random secret cannot be
guessed, so one fast hash is as safe and keeps every API request cheap.

Names are unique for good, revoked tokens included: the audit log names a
token by its name, so a name always means one token. A name of digits only is
refused (``revoke NAME|ID`` would be ambiguous). Creating and revoking are
written to the audit log in the same transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.accounts.audit import Actor, record
from newsletter.accounts.roles import Role
from newsletter.db.models import ApiToken
from newsletter.errors import AccountError, NotFoundError

if TYPE_CHECKING:
    from newsletter.app import App

SCHEME = "nlapi"
PREFIX_LENGTH = 8
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_TOKEN = re.compile(rf"{SCHEME}_([A-Za-z0-9]{{{PREFIX_LENGTH}}})_([A-Za-z0-9_-]{{43}})")
_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@dataclass(frozen=True)
class TokenInfo:
    """One token as pages, commands and the API see it (never the secret nor its hash)."""

    id: int
    name: str
    prefix: str
    role: Role
    created_at: datetime
    created_by: str
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        """Not revoked."""
        return self.revoked_at is None


@dataclass(frozen=True)
class NewToken:
    """A token just made: its record and the whole token, shown this once."""

    info: TokenInfo
    token: str


def secret_hash(secret: str) -> str:
    """The stored form of a token's secret: SHA-256, hex."""
    return hashlib.sha256(secret.encode()).hexdigest()


def token_name(raw: str) -> str:
    """A valid token name (trimmed), or AccountError saying what a name may hold."""
    name = raw.strip()
    if not _NAME.fullmatch(name) or name.isdigit():
        raise AccountError(
            f"{name!r} is not a token name: use 1 to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit, and not digits only")
    return name


def _info(row: ApiToken) -> TokenInfo:
    return TokenInfo(row.id, row.name, row.prefix, Role(row.role), row.created_at,
                     row.created_by, row.last_used_at, row.revoked_at)


def create_token(app: App, name: str, role: Role, *, actor: Actor) -> NewToken:
    """Make a token for ``role``; AccountError when the name is taken or not valid."""
    clean = token_name(name)
    prefix = "".join(secrets.choice(_ALPHABET) for _ in range(PREFIX_LENGTH))
    secret = secrets.token_urlsafe(32)
    now = app.clock.now()

    def work(session: Session) -> TokenInfo:
        if session.scalar(select(ApiToken.id).where(ApiToken.name == clean)) is not None:
            raise AccountError(f"there is already a token named {clean!r} (names are never "
                               "reused, even after a revoke): choose another name")
        row = ApiToken(name=clean, prefix=prefix, secret_hash=secret_hash(secret), role=role,
                       created_at=now, created_by=actor.name[:320], rate_tat_us=0)
        session.add(row)
        session.flush()
        record(session, actor, "token.create", f"API token {clean}",
               f"role {role}, prefix {prefix}", now)
        return _info(row)

    info = app.db.run(work, doing="creating the API token")
    return NewToken(info, f"{SCHEME}_{prefix}_{secret}")


def list_tokens(app: App) -> list[TokenInfo]:
    """Every token, active ones first, newest first."""
    with app.db.read("listing API tokens") as session:
        rows = session.scalars(select(ApiToken).order_by(ApiToken.id.desc())).all()
        infos = [_info(row) for row in rows]
    return sorted(infos, key=lambda info: not info.active)


def _find(session: Session, name_or_id: str) -> ApiToken:
    key = name_or_id.strip()
    query = select(ApiToken).where(
        ApiToken.id == int(key) if key.isdigit() else ApiToken.name == key)
    row = session.scalar(query)
    if row is None:
        raise NotFoundError(f"there is no API token with the name or id {key!r}")
    return row


def revoke_token(app: App, name_or_id: str, *, actor: Actor) -> TokenInfo:
    """Revoke a token at once (by name, or by id when all digits); AccountError if it was."""
    now = app.clock.now()

    def work(session: Session) -> TokenInfo:
        row = _find(session, name_or_id)
        if row.revoked_at is not None:
            raise AccountError(f"the API token {row.name!r} was already revoked")
        row.revoked_at = now
        row.revoked_by = actor.name[:320]
        record(session, actor, "token.revoke", f"API token {row.name}",
               f"role {row.role}, prefix {row.prefix}", now)
        return _info(row)

    return app.db.run(work, doing="revoking the API token")


def authenticate(app: App, presented: str) -> TokenInfo | None:
    """The active token ``presented`` is, or None (malformed, unknown, wrong secret, revoked)."""
    match = _TOKEN.fullmatch(presented.strip())
    if match is None:
        return None
    prefix, secret = match.groups()
    with app.db.read("checking the API token") as session:
        row = session.scalar(select(ApiToken).where(ApiToken.prefix == prefix))
        if row is None or not hmac.compare_digest(row.secret_hash, secret_hash(secret)):
            return None
        return _info(row) if row.revoked_at is None else None
