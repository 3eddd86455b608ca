"""Signup intake: validate one submission and append it as a ``signups`` row; nothing else.

This is all a web request does for ``POST /subscribe``: the same checks and one
INSERT whatever the address's state, so the answer's timing tells nothing
(RELIABILITY #25). The row carries everything the signup processor
(:mod:`newsletter.audience.ingest`) needs later: the normalised address,
name, time zone, list, page, origin, form, IP, user agent, the version (sha256)
of the consent text shown, and the time. Validation here is pure except for
the list lookup (the catalog's in-memory cache).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from newsletter.audience.addresses import (
    clean_name,
    clean_time_zone,
    normalise_address,
    require_mailable,
)
from newsletter.audience.consent import RequestInfo
from newsletter.audience.form import consent_text_hash
from newsletter.audience.people import new_public_id
from newsletter.db.models import Signup
from newsletter.errors import DatabaseError

if TYPE_CHECKING:
    from newsletter.app import App

_SIGNUPS: Table = Signup.__table__  # type: ignore[assignment]


class SignupOutcome(enum.StrEnum):
    """What a signup did (never shown to the public: every outcome looks the same there)."""

    CONFIRMATION_SENT = "confirmation_sent"
    COOLDOWN = "cooldown"
    ALREADY_ACTIVE = "already_active"
    ACTIVATED = "activated"
    SUPPRESSED = "suppressed"
    BLOCKED = "blocked"
    NO_LIST = "no_list"  # the list left lists.toml between the request and the processing
    FAILED = "failed"  # the processor could not handle the row (logged; never retried)


@dataclass(frozen=True)
class SignupRequest:
    """One submission of the form, as received (the service validates it)."""

    email: str
    list_slug: str
    name: str | None = None
    time_zone: str | None = None
    consent_hash: str | None = None
    source: RequestInfo = field(default_factory=RequestInfo)
    by_staff: bool = False  # `subscribers add`: the confirmation mail must not say "our form"


def _cut(value: str | None, size: int) -> str | None:
    return value[:size] if value else None


def _is_hex64(value: str | None) -> bool:
    return (
        value is not None and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
    )


def signup_row(app: App, request: SignupRequest, now: datetime) -> dict[str, Any]:
    """The ``signups`` row for ``request``, validated; AddressError or NotFoundError otherwise.

    The consent version is the hash the form sent (the text the visitor saw)
    or, without one, the hash of the list's current consent text.
    """
    address = require_mailable(normalise_address(request.email), smtp_utf8=app.settings.smtp_utf8)
    name = clean_name(request.name)
    zone = clean_time_zone(request.time_zone)
    known = app.catalog.find_list(request.list_slug)
    shown = (request.consent_hash if _is_hex64(request.consent_hash)
             else consent_text_hash(known.config.consent_text))
    source = request.source
    return {
        "public_id": new_public_id(), "email": address, "list_id": known.id, "name": name,
        "time_zone": zone, "consent_text_hash": shown, "ip": _cut(source.ip, 64),
        "user_agent": _cut(source.user_agent, 512), "page_url": _cut(source.page_url, 1000),
        "origin": _cut(source.origin, 500), "form": _cut(source.form, 100),
        "by_staff": request.by_staff, "received_at": now, "processed_at": None,
        "outcome": None, "subscription_id": None, "contested": False,
    }


def append_signups(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Append ``rows`` (from :func:`signup_row`) in the caller's transaction: one INSERT."""
    if rows:
        session.execute(insert(_SIGNUPS), list(rows))


def store_signups(app: App, rows: Sequence[dict[str, Any]]) -> None:
    """Append ``rows`` in one write transaction of their own (the web's group commit).

    Any database failure is a DatabaseError (the web answers 503): nothing of
    the batch is stored, and every request in it is told so.
    """
    try:
        with app.db.write("storing signups") as session:
            append_signups(session, rows)
    except SQLAlchemyError as err:
        raise DatabaseError(f"could not store {len(rows)} signup(s): {err}") from err


def store_signups_if_free(app: App, rows: Sequence[dict[str, Any]]) -> bool:
    """Append ``rows`` now if the write lock is free at once (SQLite); False: nothing stored."""
    return app.db.run_if_free(lambda session: append_signups(session, rows),
                              doing="storing signups")
