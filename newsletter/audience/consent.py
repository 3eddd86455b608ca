"""Append-only consent proof per subscription (RELIABILITY #11).

Events written here:

``signup``             a form submission: address, time, IP, user agent, page, origin,
                       form id, list, the consent text shown (exact text and its sha256,
                       :func:`newsletter.audience.form.consent_text_hash`)
``confirmation_sent``  the confirmation email was queued; ``delivery_id`` names its outbox
                       row, whose ``message_id`` and ``sent_at`` tell when it left
``confirmed``          the confirm button was pressed: time, IP, user agent
``activated``          a list without double opt-in, or staff, made the subscription active
``import``             staff imported the person from a CSV file (``form`` = file name:line)
``withdrawn``          the person unsubscribed (``method`` says how) — written by the
                       unsubscribe service through :func:`record_withdrawal`

The signup, its activation or confirmation mail, and the confirmation name
the consent text version agreed to (``consent_version_id``, found by
:class:`VersionIndex` from the hash the form sent), so a record keeps its
wording after staff change the list's text.

Rows are only ever inserted. Erasing a person deletes them with the person;
only the suppression hash stays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from newsletter.db.models import ConsentRecord, ConsentVersion

_CONSENT: Table = ConsentRecord.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class RequestInfo:
    """Where a request came from; every field is optional and stored truncated."""

    ip: str | None = None
    user_agent: str | None = None
    page_url: str | None = None
    origin: str | None = None
    form: str | None = None


@dataclass(frozen=True)
class KnownVersion:
    """A consent text version a record can point at."""

    id: int
    text: str


class VersionIndex:
    """The consent text versions of some lists, found by the text's hash (one query)."""

    def __init__(self, session: Session, list_ids: list[int]) -> None:
        self._found: dict[tuple[int, str], list[tuple[datetime, KnownVersion]]] = {}
        if not list_ids:
            return
        rows = session.execute(
            select(ConsentVersion.id, ConsentVersion.list_id, ConsentVersion.text_hash,
                   ConsentVersion.text, ConsentVersion.created_at)
            .where(ConsentVersion.list_id.in_(list_ids)).order_by(ConsentVersion.version))
        for row in rows:
            self._found.setdefault((row.list_id, row.text_hash), []).append(
                (row.created_at, KnownVersion(row.id, row.text)))

    def find(self, list_id: int, text_hash: str | None, at: datetime) -> KnownVersion | None:
        """The version of ``list_id`` with ``text_hash`` that was current at ``at``, if any.

        A wording used twice (changed, then changed back) has two versions: the
        newest made at or before ``at`` is the one the visitor saw.
        """
        candidates = self._found.get((list_id, text_hash or ""))
        if not candidates:
            return None
        earlier = [version for made, version in candidates if made <= at]
        return earlier[-1] if earlier else candidates[-1][1]


def _cut(value: str | None, size: int) -> str | None:
    return value[:size] if value else None


def consent_row(
    *,
    subscription_id: int,
    event: str,
    email: str,
    list_slug: str,
    now: datetime,
    source: RequestInfo | None = None,
    consent_text: str | None = None,
    consent_hash: str | None = None,
    method: str | None = None,
    delivery_id: int | None = None,
    consent_version_id: int | None = None,
) -> dict[str, Any]:
    """The column values of one consent event (for :func:`append_consents`)."""
    source = source or RequestInfo()
    return {
        "subscription_id": subscription_id, "event": event, "occurred_at": now, "email": email,
        "list_slug": list_slug, "ip": _cut(source.ip, 64),
        "user_agent": _cut(source.user_agent, 512), "page_url": _cut(source.page_url, 1000),
        "origin": _cut(source.origin, 500), "form": _cut(source.form, 100),
        "consent_text": consent_text, "consent_text_hash": consent_hash,
        "method": _cut(method, 32), "delivery_id": delivery_id,
        "consent_version_id": consent_version_id,
    }


def append_consents(session: Session, rows: list[dict[str, Any]]) -> None:
    """Append many consent events (from :func:`consent_row`) in one statement."""
    if rows:  # the table, not the class: a plain executemany, no key fetched back
        session.execute(insert(_CONSENT), rows)


def record_consent(
    session: Session,
    *,
    subscription_id: int,
    event: str,
    email: str,
    list_slug: str,
    now: datetime,
    source: RequestInfo | None = None,
    consent_text: str | None = None,
    consent_hash: str | None = None,
    method: str | None = None,
    delivery_id: int | None = None,
    consent_version_id: int | None = None,
) -> ConsentRecord:
    """Append one consent event in the caller's transaction."""
    row = ConsentRecord(**consent_row(
        subscription_id=subscription_id, event=event, email=email, list_slug=list_slug, now=now,
        source=source, consent_text=consent_text, consent_hash=consent_hash, method=method,
        delivery_id=delivery_id, consent_version_id=consent_version_id))
    session.add(row)
    return row


def record_withdrawal(
    session: Session,
    *,
    subscription_id: int,
    email: str,
    list_slug: str,
    method: str,
    now: datetime,
    source: RequestInfo | None = None,
) -> ConsentRecord:
    """Append the withdrawal of consent (an unsubscribe) with its method, e.g. ``one-click``."""
    return record_consent(
        session,
        subscription_id=subscription_id,
        event="withdrawn",
        email=email,
        list_slug=list_slug,
        now=now,
        source=source,
        method=method,
    )
