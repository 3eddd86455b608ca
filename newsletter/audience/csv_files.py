"""Subscriber CSV files: import (validated row by row) and export (safe against formula injection).

Import rules (documented in docs/subscribers.md):

* A header row names the columns; ``email`` is required, ``name`` and
  ``time_zone`` are optional, other columns are ignored.
* Columns may be separated by commas, semicolons (what spreadsheets write in
  many European locales) or tabs: the separator that gives an ``email`` column
  in the header row wins. UTF-8 with or without a BOM, and UTF-16 with a BOM
  (a spreadsheet's "Unicode text"), are read.
* Every row is checked; bad rows are reported with their line number and
  skipped, the good ones are imported.
* Addresses are normalised, so duplicates within the file are found after
  case and width folding; the first occurrence wins.
* Imported people become active at once, with an ``import`` consent record
  naming the file and line: staff vouch for the consent they collected
  elsewhere. No welcome email is sent.
* Nobody who unsubscribed, bounced, complained or was erased is resubscribed.
* A dry run (``dry_run=True``) reads the same rows and tells what the import
  would do, writing nothing: the console shows it before the import.
* Staff may state the basis of the consent (where and how these people agreed);
  it is kept in each imported person's consent record. Neither the command nor
  the console requires it: the record always names the file and line.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from sqlalchemy.orm import Session

from newsletter.audience import people
from newsletter.audience.addresses import (
    AddressError,
    clean_name,
    clean_time_zone,
    normalise_address,
    require_mailable,
    strip_invisible,
)
from newsletter.audience.staff import StaffOutcome
from newsletter.audience.staff_batch import NewPerson, activate_many, would_do
from newsletter.db.models import (
    MailingList,
    Subscriber,
)
from newsletter.errors import ContentError

if TYPE_CHECKING:
    from newsletter.app import App

BATCH = 500
KEPT = 1000  # refused and kept-out rows remembered by line (the counts stay exact)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
SEPARATORS = (",", ";", "\t")
EMAIL_HEADERS = ("email", "e-mail", "email address", "e-mail address")
EXPORT_COLUMNS = ["email", "name", "time_zone", "list", "status", "subscribed_at",
                  "confirmed_at", "unsubscribed_at"]


@dataclass
class ImportReport:
    """Counts of one import, and the rows refused with their line numbers."""

    added: int = 0
    existing: int = 0
    unsubscribed: int = 0
    suppressed: int = 0
    blocked: int = 0
    duplicates: int = 0
    bad: list[tuple[int, str]] = field(default_factory=list)
    bad_count: int | None = None  # set when ``bad`` was cut to its first KEPT lines
    # The people left out (unsubscribed, bounced/complained, erased), by line: the first KEPT.
    kept_out: list[tuple[int, str, str]] = field(default_factory=list)

    @property
    def rows(self) -> int:
        """Data rows read."""
        return (self.added + self.existing + self.unsubscribed + self.suppressed + self.blocked
                + self.duplicates + self.refused)

    @property
    def refused(self) -> int:
        """Rows refused as bad (a wrong address, an unknown time zone)."""
        return self.bad_count if self.bad_count is not None else len(self.bad)

    @property
    def left_out(self) -> int:
        """People not (re)subscribed because they left, bounced, complained or were erased."""
        return self.unsubscribed + self.suppressed + self.blocked

    def count(self, outcome: StaffOutcome, line: int, address: str) -> None:
        """Count one row's outcome (and remember who was left out, by line)."""
        setattr(self, outcome.value, getattr(self, outcome.value) + 1)
        if outcome in LEFT_OUT and len(self.kept_out) < KEPT:
            self.kept_out.append((line, address, LEFT_OUT[outcome]))


LEFT_OUT = {
    StaffOutcome.UNSUBSCRIBED: "unsubscribed from this list",
    StaffOutcome.BLOCKED: "bounced or complained",
    StaffOutcome.SUPPRESSED: "erased or suppressed",
}


@dataclass(frozen=True)
class _Row:
    line: int
    address: str
    name: str | None
    time_zone: str | None


def _formula_like(value: str) -> bool:
    # Look past invisible and blank characters: "\u200b=1+1" is still "=1+1" to a reader.
    return value.startswith(FORMULA_START) or strip_invisible(value).lstrip().startswith(
        FORMULA_START
    )


def unguard(value: str) -> str:
    """Undo the export's formula guard (a leading ``'`` before = + - @)."""
    if len(value) > 1 and value[0] == "'" and _formula_like(value[1:]):
        return value[1:]
    return value


def _encoding(path: Path) -> str:
    with path.open("rb") as raw:
        start = raw.read(2)
    return "utf-16" if start in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) else "utf-8-sig"


def _header_columns(label: str, header: str) -> tuple[str, dict[str, str]]:
    """The separator and the header's columns (lower-cased name → as written)."""
    found: list[str] = []
    for separator in SEPARATORS:
        names = next(csv.reader([header], delimiter=separator), [])
        columns = {name.strip().lower(): name for name in names}
        email = next((columns[key] for key in EMAIL_HEADERS if key in columns), None)
        if email is not None:
            return separator, {**columns, "email": email}
        if len(names) > len(found):
            found = [name.strip() for name in names]
    shown = ", ".join(repr(name) for name in found[:6]) or "nothing"
    raise ContentError(
        f"{label}:1: the header row has no 'email' column (it has {shown}; columns may be "
        "separated by commas, semicolons or tabs)"
    )


def _read_rows(path: Path, report: ImportReport, *, smtp_utf8: bool = False,
               label: str | None = None) -> list[_Row]:
    label = label or str(path)
    try:
        handle = path.open(encoding=_encoding(path), newline="")
    except OSError as err:
        raise ContentError(f"{label}: cannot open: {err.strerror}") from err
    rows: list[_Row] = []
    seen: set[str] = set()
    with handle:
        try:
            separator, columns = _header_columns(label, handle.readline())
            handle.seek(0)
            reader = csv.DictReader(handle, delimiter=separator)
            zone_key = columns.get("time_zone") or columns.get("timezone")
            for record in reader:
                line = reader.line_num
                raw_email = unguard((record.get(columns["email"]) or "").strip())
                raw_name = record.get(columns["name"]) if "name" in columns else None
                raw_zone = (record.get(zone_key) or "").strip() if zone_key else ""
                try:
                    address = require_mailable(normalise_address(raw_email), smtp_utf8=smtp_utf8)
                    name = clean_name(unguard(raw_name)) if raw_name else None
                except AddressError as err:
                    report.bad.append((line, f"{raw_email or '(empty)'}: {err}"))
                    continue
                zone = clean_time_zone(raw_zone) if raw_zone else None
                if raw_zone and zone is None:
                    report.bad.append((line, f"{address}: unknown time zone {raw_zone!r}"))
                    continue
                if address in seen:
                    report.duplicates += 1
                    continue
                seen.add(address)
                rows.append(_Row(line, address, name, zone))
        except UnicodeDecodeError as err:
            raise ContentError(
                f"{label}: not UTF-8 text ({err.reason} at byte {err.start}); save it as "
                "CSV UTF-8 and try again") from err
        except csv.Error as err:
            raise ContentError(f"{label}:{reader.line_num}: not a readable CSV file ({err})"
                               ) from err
    if len(report.bad) > KEPT:
        report.bad_count = len(report.bad)
        del report.bad[KEPT:]
    return rows


def import_csv(
    app: App,
    path: Path,
    list_slug: str,
    *,
    progress: Callable[[int, int], None] | None = None,
    dry_run: bool = False,
    basis: str | None = None,
    name: str | None = None,
) -> ImportReport:
    """Import people from ``path`` into ``list_slug``; returns the counts and the bad rows.

    ``progress(done, total)`` is called after each batch of valid rows. With
    ``dry_run`` nothing is written: the report tells what the import would do.
    ``basis`` (staff's statement of where the consent was given) goes into each
    consent record; ``name`` is the file's name in messages and consent records
    (the console stores uploads under a random name).
    """
    known = app.catalog.find_list(list_slug)
    report = ImportReport()
    shown = name or path.name
    rows = _read_rows(path, report, smtp_utf8=app.settings.smtp_utf8,
                      label=shown if name else None)
    statement = (basis or "").strip() or None
    for start in range(0, len(rows), BATCH):
        batch = rows[start:start + BATCH]

        def work(session: Session, batch: list[_Row] = batch) -> list[StaffOutcome]:
            return activate_many(session, [
                NewPerson(row.address, row.name, row.time_zone, f"{shown}:{row.line}")
                for row in batch
            ], known=known, now=app.clock.now(), consent_text=statement)

        if dry_run:
            with app.db.read("checking the import") as session:
                outcomes = would_do(session, [row.address for row in batch], known)
        else:
            outcomes = app.db.run(work, doing="importing subscribers")
        for row, outcome in zip(batch, outcomes, strict=True):
            report.count(outcome, row.line, row.address)
        if progress is not None:
            progress(start + len(batch), len(rows))
    return report


def guard(value: str | None) -> str:
    """A cell spreadsheet programs will not run as a formula (OWASP CSV injection)."""
    text = value or ""
    return "'" + text if _formula_like(text) else text


def export_rows(
    session: Session, *, list_slug: str | None = None, status: str | None = None
) -> Iterable[list[str]]:
    """Rows for the export, every cell guarded."""
    for person, sub, slug in people.subscriptions_of(
            session, MailingList.slug, Subscriber.email, list_slug=list_slug, status=status):
        yield [guard(cell) for cell in (
            person.email, person.name, person.time_zone, slug, sub.status,
            sub.created_at.isoformat(),
            sub.confirmed_at.isoformat() if sub.confirmed_at else "",
            sub.unsubscribed_at.isoformat() if sub.unsubscribed_at else "",
        )]


def export_csv(
    app: App, out: TextIO, *, list_slug: str | None = None, status: str | None = None
) -> int:
    """Write the subscriptions as CSV to ``out``; returns the number of data rows."""
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    with app.db.read("exporting subscribers") as session:
        for row in export_rows(session, list_slug=list_slug, status=status):
            writer.writerow(row)
            count += 1
    return count
