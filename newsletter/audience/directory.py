"""Finding people for the console: search, filters, keyset pages, and the CSV of a filter.

* One row per person, newest first: ``(subscribers.created_at desc, id desc)``,
  a total order even when many people joined in the same microsecond (an
  import). Pages are cut by keyset, never OFFSET: "next" carries the key of the
  last row shown and asks for rows strictly after it, "previous" the key of
  the first row and asks backwards, so page 2,000 costs what page 1 costs
  (index ``ix_subscribers_created_at_id``, migration 0008_people_search).
* Search is a case-insensitive substring of the address or the name.
  Filters: a list, a status (a person matches when one of their subscriptions
  has it, on the chosen list when one is chosen), and the date joined (from/to
  inclusive, days in the newsletter's time zone).
* "erased" is not a subscription status: an erased person is only the sha256
  of their address in ``suppressions``. That filter lists erase dates instead,
  never an address (:class:`ErasedRow`); with a search text it must be a whole
  address, looked up by its hash ("was this address erased, and when?").
* :func:`export_rows` walks the same filter in keyset batches, each its own
  short read, so a big export holds no transaction open while it streams.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import ColumnElement, Select, func, or_, select, tuple_
from sqlalchemy.orm import Session

from newsletter.audience.addresses import AddressError, address_hash, normalise_address
from newsletter.audience.csv_files import EXPORT_COLUMNS, guard
from newsletter.clock import find_zone
from newsletter.db.models import (
    MailingList,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    Suppression,
)
from newsletter.errors import SubscriptionError

if TYPE_CHECKING:
    from newsletter.app import App

ERASED = "erased"
_Query = TypeVar("_Query", bound="Select[*tuple[Any, ...]]")
STATUSES = (*(status.value for status in SubscriptionStatus), ERASED)
PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_QUERY = 200
COUNT_CAP = 1000  # a search or filter counts its matches up to this many
EXPORT_BATCH = 1000
ERASED_EXPORT_COLUMNS = ["erased_at"]


class FilterError(SubscriptionError):
    """A search or filter value that cannot be used; the message names it."""


@dataclass(frozen=True)
class Filters:
    """What staff asked for; empty strings and None mean "any"."""

    query: str = ""
    list_slug: str = ""
    status: str = ""
    joined_from: date | None = None
    joined_to: date | None = None

    @property
    def erased(self) -> bool:
        """True when the filter asks for erased people (erase dates only)."""
        return self.status == ERASED

    def describe(self) -> str:
        """The filter in a few words, for the audit log (no address unless staff typed one)."""
        parts = [f"{name}={value}" for name, value in (
            ("search", self.query), ("list", self.list_slug), ("status", self.status),
            ("from", self.joined_from), ("to", self.joined_to)) if value]
        return ", ".join(parts) or "everyone"


@dataclass(frozen=True)
class PageKey:
    """Where a page starts or ends: a row's ``created_at`` and ``id``."""

    at: datetime
    id: int

    def encode(self) -> str:
        """The key as it travels in a link: ``<iso time>_<id>``."""
        return f"{self.at.isoformat()}_{self.id}"


def decode_key(raw: str) -> PageKey:
    """The key of a "next"/"previous" link; FilterError when it was not made by us."""
    stamp, _, number = raw.rpartition("_")
    try:
        at = datetime.fromisoformat(stamp)
        row_id = int(number)
    except ValueError:
        raise FilterError("the page link is damaged: go back to the first page") from None
    if at.tzinfo is None:
        raise FilterError("the page link is damaged: go back to the first page")
    return PageKey(at, row_id)


@dataclass(frozen=True)
class PersonRow:
    """One person in the list, with each list they are on and its status."""

    public_id: str
    email: str
    name: str | None
    created_at: datetime
    subscriptions: list[tuple[str, str]]  # (list slug, status)


@dataclass(frozen=True)
class ErasedRow:
    """One erased person: only when it happened is known."""

    erased_at: datetime


@dataclass(frozen=True)
class PeoplePage:
    """One page of people (or erase dates), the keys of its neighbours, and the total."""

    people: list[PersonRow] = field(default_factory=list)
    erased: list[ErasedRow] = field(default_factory=list)
    next_key: str | None = None
    previous_key: str | None = None
    total: int = 0
    total_capped: bool = False  # "more than ``total``"
    erased_total: int = 0


def clean_filters(
    *, query: str = "", list_slug: str = "", status: str = "", joined_from: str = "",
    joined_to: str = "", known_lists: Sequence[str] = (),
) -> Filters:
    """The :class:`Filters` of a search form's raw fields; FilterError names a bad one."""
    text = unicodedata.normalize("NFKC", query).strip()
    if len(text) > MAX_QUERY:
        raise FilterError(f"the search text is too long (at most {MAX_QUERY} characters)")
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in text):
        raise FilterError("the search text contains control or invisible characters")
    slug = list_slug.strip()
    if slug and slug not in known_lists:
        raise FilterError(f"there is no list {slug!r}")
    state = status.strip().lower()
    if state and state not in STATUSES:
        raise FilterError(f"unknown status {status!r} (one of {', '.join(STATUSES)})")
    start, end = _day(joined_from, "joined from"), _day(joined_to, "joined to")
    if start and end and end < start:
        raise FilterError("'joined to' is before 'joined from'")
    return Filters(text, slug, state, start, end)


def _day(raw: str, label: str) -> date | None:
    if not raw.strip():
        return None
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise FilterError(f"{label}: {raw.strip()!r} is not a date (YYYY-MM-DD)") from None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _bounds(app: App, filters: Filters) -> tuple[datetime | None, datetime | None]:
    """The joined-from/to days as UTC instants: [start of from, start of the day after to)."""
    zone = find_zone(app.settings.time_zone)

    def start_of(day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=zone)

    low = start_of(filters.joined_from) if filters.joined_from else None
    high = start_of(filters.joined_to + timedelta(days=1)) if filters.joined_to else None
    return low, high


def _people_conditions(app: App, filters: Filters, *, sqlite: bool
                       ) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.query:
        pattern = "%" + _escape_like(filters.query.lower()) + "%"
        conditions.append(or_(
            Subscriber.email.like(pattern, escape="\\"),  # stored lower-cased
            # SQLite's LIKE ignores ASCII case already (and its lower() knows only ASCII):
            # lower() there would only slow the scan down.
            Subscriber.name.like(pattern, escape="\\") if sqlite
            else Subscriber.name.ilike(pattern, escape="\\"),
        ))
    if filters.list_slug or filters.status:
        member = select(Subscription.id).where(Subscription.subscriber_id == Subscriber.id)
        if filters.list_slug:
            member = member.where(Subscription.list_id == select(MailingList.id).where(
                MailingList.slug == filters.list_slug).scalar_subquery())
        if filters.status:
            member = member.where(Subscription.status == filters.status)
        conditions.append(member.exists())
    low, high = _bounds(app, filters)
    if low is not None:
        conditions.append(Subscriber.created_at >= low)
    if high is not None:
        conditions.append(Subscriber.created_at < high)
    return conditions


def _is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _erased_conditions(app: App, filters: Filters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Suppression.reason == ERASED]
    if filters.query:  # only a whole address can be looked up: by its hash
        try:
            digest = address_hash(normalise_address(filters.query))
        except AddressError:
            raise FilterError("erased people can only be looked up by their whole address "
                              "(only its one-way hash is kept)") from None
        conditions.append(Suppression.email_hash == digest)
    low, high = _bounds(app, filters)
    if low is not None:
        conditions.append(Suppression.created_at >= low)
    if high is not None:
        conditions.append(Suppression.created_at < high)
    return conditions


def _keyset(query: _Query, at: Any, row_id: Any, *, after: PageKey | None,
            before: PageKey | None) -> _Query:
    """``query`` cut after/before a key, in the page order (newest first, or reversed)."""
    if before is not None:
        return query.where(tuple_(at, row_id) > tuple_(before.at, before.id)).order_by(
            at.asc(), row_id.asc())
    if after is not None:
        query = query.where(tuple_(at, row_id) < tuple_(after.at, after.id))
    return query.order_by(at.desc(), row_id.desc())


def _cut(rows: list[Any], size: int, *, after: PageKey | None, before: PageKey | None
         ) -> tuple[list[Any], bool, bool]:
    """The page's rows newest first, and whether there are rows after and before it."""
    more = len(rows) > size
    rows = rows[:size]
    if before is not None:
        return rows[::-1], True, more
    return rows, more, after is not None


def find_people(app: App, filters: Filters, *, after: PageKey | None = None,
                before: PageKey | None = None, size: int = PAGE_SIZE) -> PeoplePage:
    """One page of people matching ``filters`` (erase dates for the "erased" filter)."""
    size = max(1, min(size, MAX_PAGE_SIZE))
    with app.db.read("finding subscribers") as session:
        erased_total = session.scalar(
            select(func.count()).select_from(Suppression).where(Suppression.reason == ERASED)
        ) or 0
        if filters.erased:
            return _erased_page(app, session, filters, after, before, size, erased_total)
        conditions = _people_conditions(app, filters, sqlite=_is_sqlite(session))
        query = _keyset(
            select(Subscriber.id, Subscriber.public_id, Subscriber.email, Subscriber.name,
                   Subscriber.created_at).where(*conditions),
            Subscriber.created_at, Subscriber.id, after=after, before=before).limit(size + 1)
        rows, has_next, has_previous = _cut(list(session.execute(query)), size, after=after,
                                            before=before)
        total, capped = _total(session, conditions, rows, has_next or has_previous)
        lists = _subscriptions(session, [row.id for row in rows])
        people = [PersonRow(row.public_id, row.email, row.name, row.created_at,
                            lists.get(row.id, [])) for row in rows]
        return PeoplePage(
            people=people,
            next_key=PageKey(rows[-1].created_at, rows[-1].id).encode() if has_next else None,
            previous_key=(PageKey(rows[0].created_at, rows[0].id).encode()
                          if has_previous and rows else None),
            total=total, total_capped=capped, erased_total=erased_total)


def _total(session: Session, conditions: list[ColumnElement[bool]], rows: list[Any],
           more: bool) -> tuple[int, bool]:
    """How many people match, and whether that is only "at least" (capped at COUNT_CAP).

    Everyone: an exact count along the index. A result that fits on one page:
    its rows. Otherwise counting stops at COUNT_CAP + 1 matches, so a search or
    filter never scans the whole table twice (once for the page, once to count).
    """
    if not conditions:
        return session.scalar(select(func.count()).select_from(Subscriber)) or 0, False
    if not more:
        return len(rows), False
    matches = select(Subscriber.id).where(*conditions).limit(COUNT_CAP + 1).subquery()
    found = session.scalar(select(func.count()).select_from(matches)) or 0
    return min(found, COUNT_CAP), found > COUNT_CAP


def _erased_page(app: App, session: Session, filters: Filters, after: PageKey | None,
                 before: PageKey | None, size: int, erased_total: int) -> PeoplePage:
    conditions = _erased_conditions(app, filters)
    query = _keyset(select(Suppression.id, Suppression.created_at).where(*conditions),
                    Suppression.created_at, Suppression.id, after=after,
                    before=before).limit(size + 1)
    rows, has_next, has_previous = _cut(list(session.execute(query)), size, after=after,
                                        before=before)
    total = session.scalar(select(func.count()).select_from(Suppression).where(*conditions))
    return PeoplePage(
        erased=[ErasedRow(row.created_at) for row in rows],
        next_key=PageKey(rows[-1].created_at, rows[-1].id).encode() if has_next else None,
        previous_key=(PageKey(rows[0].created_at, rows[0].id).encode()
                      if has_previous and rows else None),
        total=total or 0, erased_total=erased_total)


def _subscriptions(session: Session, ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    found: dict[int, list[tuple[str, str]]] = {}
    if not ids:
        return found
    rows = session.execute(
        select(Subscription.subscriber_id, MailingList.slug, Subscription.status)
        .join(MailingList, MailingList.id == Subscription.list_id)
        .where(Subscription.subscriber_id.in_(ids))
        .order_by(MailingList.slug))
    for subscriber_id, slug, status in rows:
        found.setdefault(subscriber_id, []).append((slug, status))
    return found


def export_header(filters: Filters) -> list[str]:
    """The CSV header of :func:`export_rows` for ``filters``."""
    return ERASED_EXPORT_COLUMNS if filters.erased else EXPORT_COLUMNS


def export_rows(app: App, filters: Filters, *, batch: int = EXPORT_BATCH) -> Iterator[list[str]]:
    """Every row of ``filters`` as guarded CSV cells, newest person first, read in batches.

    One row per subscription of each matching person (only the chosen list's
    and status's when the filter names them), the columns of ``EXPORT_COLUMNS``;
    the "erased" filter gives erase dates only.
    """
    after: PageKey | None = None
    while True:
        with app.db.read("exporting subscribers") as session:
            if filters.erased:
                conditions = _erased_conditions(app, filters)
                erased = list(session.execute(_keyset(
                    select(Suppression.id, Suppression.created_at).where(*conditions),
                    Suppression.created_at, Suppression.id, after=after, before=None,
                ).limit(batch)))
                if not erased:
                    return
                rows: list[list[str]] = [[row.created_at.isoformat()] for row in erased]
                after = PageKey(erased[-1].created_at, erased[-1].id)
            else:
                people = list(session.execute(_keyset(
                    select(Subscriber.id, Subscriber.created_at).where(
                        *_people_conditions(app, filters, sqlite=_is_sqlite(session))),
                    Subscriber.created_at, Subscriber.id, after=after, before=None,
                ).limit(batch)))
                if not people:
                    return
                rows = _export_batch(session, filters, [row.id for row in people])
                after = PageKey(people[-1].created_at, people[-1].id)
        yield from rows


def _export_batch(session: Session, filters: Filters, ids: list[int]) -> list[list[str]]:
    query = (
        select(Subscriber, Subscription, MailingList.slug)
        .join(Subscription, Subscription.subscriber_id == Subscriber.id)
        .join(MailingList, MailingList.id == Subscription.list_id)
        .where(Subscriber.id.in_(ids))
        .order_by(Subscriber.created_at.desc(), Subscriber.id.desc(), MailingList.slug)
    )
    if filters.list_slug:
        query = query.where(MailingList.slug == filters.list_slug)
    if filters.status:
        query = query.where(Subscription.status == filters.status)
    return [
        [guard(cell) for cell in (
            person.email, person.name, person.time_zone, slug, sub.status,
            sub.created_at.isoformat(),
            sub.confirmed_at.isoformat() if sub.confirmed_at else "",
            sub.unsubscribed_at.isoformat() if sub.unsubscribed_at else "",
        )]
        for person, sub, slug in session.execute(query)
    ]


__all__ = ["ERASED", "STATUSES", "ErasedRow", "FilterError", "Filters", "PageKey",
           "PeoplePage", "PersonRow", "clean_filters", "decode_key", "export_header",
           "export_rows", "find_people"]
