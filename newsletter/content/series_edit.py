"""Add, delete and reorder the issues of a series folder: renumbered safely, sent issues fixed.

An issue's number is its place in the series *and* its identity for
everything already done with it: deliveries, a scheduled broadcast, drip
progress and the archive address ``/archive/<series>/<N>`` all refer to the
issue at position N. So:

* **Pinned issues never move.** The caller passes ``pinned``: the positions
  that went out to anyone, are being sent, or have a scheduled or held
  broadcast, each with the reason (:func:`newsletter.schedule.series_admin.pinned_issues`).
  An operation that would give a pinned issue another number, or delete it,
  is refused with a :class:`ContentError` naming the issue and the reason;
  nothing is written. Issues after the last pinned one can be added,
  deleted and reordered freely (a drip subscriber waiting for number N then
  gets whatever is number N when it is due).
* **Stale views are refused.** Every operation carries the series'
  :func:`fingerprint` as the page showed it; when the folder changed since
  (another editor, a re-import), nothing is done and staff reload.
* **Renumbering is crash-safe.** Every new file text is first written to a
  hidden temporary file in the folder, then each is renamed into place, then
  the old names that are no longer used are removed. Whatever the moment of a
  crash, no issue text is lost (at worst two files share a number, which the
  reader reports by name).
* **Deleting keeps a copy** in ``.replaced/<UTC time>/`` like a forced
  re-import.
* **File names** keep their slug and get the new number (``03-pacing.md`` →
  ``02-pacing.md``); the ``position:`` line of the front matter is changed in
  place, nothing else in the file.
* **The import's record.** A renamed or deleted file's entry is removed from
  ``series.toml``'s ``[import.files]``: a re-import then treats the new
  arrangement as staff's (it refuses to overwrite it without ``--force``)
  instead of silently putting the article's order back.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import tomli_w
from slugify import slugify

from newsletter.content.importer import BACKUP_DIR, write_atomic
from newsletter.content.issuefile import (
    FRONT_MATTER_RE,
    SERIES_FILE,
    IssueDoc,
    SeriesDoc,
    format_issue,
    sha256_hex,
)
from newsletter.content.subjects import default_subject
from newsletter.errors import ContentError

NEW_BODY = "Write this issue here."
_POSITION_LINE = re.compile(r"^position[ \t]*:[ \t]*\d+[ \t]*$", re.MULTILINE)


@dataclass(frozen=True)
class NewIssue:
    """An issue to add: its title (the subject follows the import's rule)."""

    title: str


@dataclass(frozen=True)
class Rearranged:
    """What an operation did: files written (new names), removed, and copies kept."""

    written: list[str]
    removed: list[str]
    backups: list[Path]


def fingerprint(doc: SeriesDoc) -> str:
    """A hash of every issue file's name and content: changes whenever the folder does."""
    return sha256_hex("\n".join(f"{d.path.name}:{d.content_hash}" for d in doc.issues))


def _check_fresh(doc: SeriesDoc, seen: str) -> None:
    if fingerprint(doc) != seen:
        raise ContentError(
            f"series {doc.config.slug!r} changed since the page was loaded (another editor, "
            "or a re-import); nothing was changed. Reload the page and try again."
        )


def _refuse_pinned(doc: SeriesDoc, order: Sequence[IssueDoc | NewIssue],
                   pinned: Mapping[int, str], verb: str) -> None:
    placed = {id(item): index + 1 for index, item in enumerate(order)}
    for issue in doc.issues:
        reason = pinned.get(issue.position)
        if reason is None:
            continue
        if placed.get(id(issue)) != issue.position:
            raise ContentError(
                f"cannot {verb}: issue {issue.position} ({issue.title!r}) {reason}, so its "
                "number is fixed; only issues after the last one sent or scheduled can be "
                "added, removed or moved. Nothing was changed."
            )


def _width(total: int) -> int:
    return 3 if total >= 100 else 2


def _name(position: int, slug: str, total: int) -> str:
    return f"{position:0{_width(total)}d}-{slug}.md"


def _renumbered(doc: IssueDoc, position: int) -> str:
    text = doc.path.read_text(encoding="utf-8")
    match = FRONT_MATTER_RE.match(text)
    if match and len(_POSITION_LINE.findall(match.group(1))) == 1:
        front = _POSITION_LINE.sub(f"position: {position}", match.group(1))
        return text[: match.start(1)] + front + text[match.end(1):]
    fields = {"title": doc.title, "subject": doc.subject, "preheader": doc.preheader,
              "position": position, **doc.extra}
    return format_issue(fields, doc.body)


def _new_text(issue: NewIssue, position: int, series_title: str) -> str:
    title = " ".join(issue.title.split())
    fields = {"title": title, "subject": default_subject(title, series_title), "preheader": "",
              "position": position}
    return format_issue(fields, NEW_BODY)


def _slug(issue: IssueDoc | NewIssue, taken: set[str]) -> str:
    if isinstance(issue, IssueDoc):
        return issue.slug
    base = slugify(issue.title, max_length=60, word_boundary=True) or "issue"
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def _apply(doc: SeriesDoc, order: Sequence[IssueDoc | NewIssue], removed: Sequence[IssueDoc],
           now: datetime) -> Rearranged:
    folder = doc.path
    total = len(order)
    slugs = {d.slug for d in doc.issues}
    planned: list[tuple[str, str]] = []  # (new name, text)
    final: set[str] = set()
    for index, item in enumerate(order):
        position = index + 1
        slug = _slug(item, slugs)
        slugs.add(slug)
        name = _name(position, slug, total)
        final.add(name)
        if isinstance(item, NewIssue):
            planned.append((name, _new_text(item, position, doc.config.title)))
        elif item.position != position or item.path.name != name:
            planned.append((name, _renumbered(item, position)))
    backups = _back_up(folder, removed, now)
    temporaries: list[tuple[Path, Path]] = []
    try:
        for name, text in planned:
            handle, hidden = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
            with os.fdopen(handle, "wb") as stream:
                stream.write(text.encode("utf-8"))
                stream.flush()
                os.fsync(stream.fileno())
            os.chmod(hidden, 0o644)
            temporaries.append((Path(hidden), folder / name))
        for temporary, target in temporaries:
            os.replace(temporary, target)
    except OSError as err:
        for leftover, _ in temporaries:
            leftover.unlink(missing_ok=True)
        raise ContentError(f"{folder}: cannot write the renumbered issues: {err}") from err
    gone = [d.path.name for d in doc.issues if d.path.name not in final]
    for name in gone:
        (folder / name).unlink(missing_ok=True)
    _forget(folder, {name for name, _ in planned} | set(gone))
    return Rearranged(written=[name for name, _ in planned], removed=gone, backups=backups)


def _back_up(folder: Path, removed: Sequence[IssueDoc], now: datetime) -> list[Path]:
    if not removed:
        return []
    target = folder / BACKUP_DIR / now.strftime("%Y%m%dT%H%M%SZ")
    try:
        target.mkdir(parents=True, exist_ok=True)
        copies = []
        for doc in removed:
            shutil.copy2(doc.path, target / doc.path.name)
            copies.append(target / doc.path.name)
        return copies
    except OSError as err:
        raise ContentError(f"{target}: cannot keep a copy of the removed issue: {err}") from err


def _forget(folder: Path, names: set[str]) -> None:
    """Drop ``names`` from ``[import.files]``: the import no longer owns those files."""
    path = folder / SERIES_FILE
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return  # no record to keep right (a broken series.toml is reported by its reader)
    files = raw.get("import", {}).get("files") if isinstance(raw.get("import"), dict) else None
    if not isinstance(files, dict) or not names & set(files):
        return
    raw["import"]["files"] = {k: v for k, v in files.items() if k not in names}
    write_atomic(path, tomli_w.dumps(raw).encode("utf-8"))


def add_issue(doc: SeriesDoc, seen: str, title: str, *, at: int | None, pinned: Mapping[int, str],
              now: datetime) -> Rearranged:
    """Add a new issue called ``title`` at position ``at`` (default: the end)."""
    _check_fresh(doc, seen)
    if not title.strip():
        raise ContentError("the new issue needs a title")
    count = len(doc.issues)
    at = count + 1 if at is None else at
    if not 1 <= at <= count + 1:
        raise ContentError(f"a new issue goes at a position from 1 to {count + 1}, not {at}")
    order: list[IssueDoc | NewIssue] = list(doc.issues)
    order.insert(at - 1, NewIssue(title))
    _refuse_pinned(doc, order, pinned, f"add an issue at position {at}")
    return _apply(doc, order, [], now)


def delete_issue(doc: SeriesDoc, seen: str, position: int, *, pinned: Mapping[int, str],
                 now: datetime) -> Rearranged:
    """Delete issue ``position`` (a copy is kept); the issues after it move up one."""
    _check_fresh(doc, seen)
    issue = doc.issue(position)
    if position in pinned:
        raise ContentError(f"cannot delete issue {position} ({issue.title!r}): it "
                           f"{pinned[position]}. Nothing was changed.")
    order: list[IssueDoc | NewIssue] = [d for d in doc.issues if d is not issue]
    _refuse_pinned(doc, order, pinned, f"delete issue {position}")
    return _apply(doc, order, [issue], now)


def move_issue(doc: SeriesDoc, seen: str, position: int, to: int, *, pinned: Mapping[int, str],
               now: datetime) -> Rearranged:
    """Move issue ``position`` to position ``to``; the ones between shift by one."""
    _check_fresh(doc, seen)
    issue = doc.issue(position)
    count = len(doc.issues)
    if not 1 <= to <= count:
        raise ContentError(f"issue {position} can move to a position from 1 to {count}, not {to}")
    order: list[IssueDoc | NewIssue] = [d for d in doc.issues if d is not issue]
    order.insert(to - 1, issue)
    _refuse_pinned(doc, order, pinned, f"move issue {position} to {to}")
    return _apply(doc, order, [], now)
