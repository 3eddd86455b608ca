"""Edit one issue file from a form: check a draft, save it atomically, never clobber a newer file.

The console's issue editor works on the fields staff see (title, subject,
preheader, Markdown body) plus the file's other front matter keys as a small
YAML text (``extra``: ``author: Dr Lee`` for a template that shows it). The
rules:

* **Checked before saving.** :func:`check_draft` builds the file text exactly
  as it would be written and parses it with the same reader the scheduler and
  renderer use (:func:`~newsletter.content.issuefile.parse_issue`); a problem
  is a :class:`DraftError` naming the field and, for the YAML, the line in
  that field.
* **Conflicts are refused, not merged.** The editor carries the SHA-256 of
  the file as it loaded it. :func:`save_draft` re-reads the file and, when its
  hash differs (someone saved from another tab, a re-import, an edit on the
  server), raises :class:`EditConflictError` with the file as it is now: staff
  see both versions and nothing is written. A file removed meanwhile is a
  conflict too.
* **Atomic.** The new text replaces the file in one rename
  (:func:`~newsletter.content.importer.write_atomic`): a reader sees the old
  file or the new one, never half of each.
* **The import's edit-hash rules hold.** ``series.toml``'s ``[import.files]``
  keeps the hash of the file as the import generated it; a save does not
  touch it, so the saved file counts as *edited by staff* and a later
  ``import-article`` refuses to overwrite it without ``--force`` (which keeps
  a copy). A save that changes nothing (the same fields) writes nothing, so a
  file is not marked edited by merely opening and saving it.
* The ``position`` stays as it is: the order of issues changes only through
  :mod:`newsletter.content.series_edit`, which checks what has been sent.
* **A file that does not parse** (a hand edit on the server broke its YAML)
  is repaired as plain text (:func:`save_text`): the same hash check, the
  same reader, the error at its line, and the position kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from newsletter.content import frontmatter
from newsletter.content.importer import write_atomic
from newsletter.content.issuefile import (
    ISSUE_FILE_RE,
    IssueDoc,
    format_issue,
    parse_issue,
    read_issue,
    sha256_hex,
)
from newsletter.errors import ContentError

FIELDS = ("title", "subject", "preheader", "position")
ONE_LINE = ("title", "subject", "preheader")
LIMITS = {"title": 300, "subject": 300, "preheader": 300}


@dataclass(frozen=True)
class Draft:
    """What the editor form holds: the four fields and the other front matter as YAML."""

    title: str
    subject: str
    preheader: str
    body: str
    extra: str = ""


@dataclass(frozen=True)
class LoadedIssue:
    """An issue file as the editor loaded it: its text, that text's hash, and the draft."""

    doc: IssueDoc
    text: str
    hash: str
    draft: Draft


class DraftError(ContentError):
    """A draft cannot be saved as it is; ``field`` says which form field, ``line`` where in it."""

    def __init__(self, message: str, field: str, line: int | None = None) -> None:
        super().__init__(message, line=line)
        self.field = field


class EditConflictError(ContentError):
    """The file changed on disk since the editor loaded it; ``current`` is its text now."""

    def __init__(self, message: str, current: str | None) -> None:
        super().__init__(message)
        self.current = current


def extra_yaml(doc: IssueDoc) -> str:
    """The front matter keys other than the four fields, as YAML (empty when there are none)."""
    return frontmatter.dump(doc.extra) if doc.extra else ""


def draft_of(doc: IssueDoc) -> Draft:
    """The editor's fields for an issue as it is."""
    return Draft(doc.title, doc.subject, doc.preheader, doc.body, extra_yaml(doc))


def load_issue(path: Path) -> LoadedIssue:
    """Read an issue file for editing: its fields, its text and the hash the save will check."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ContentError(f"{path}: no such issue file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ContentError(f"{path}: cannot read: {err}") from err
    doc = parse_issue(text, path)
    return LoadedIssue(doc=doc, text=text, hash=sha256_hex(text), draft=draft_of(doc))


def _extra_keys(draft: Draft, path: Path) -> dict[str, Any]:
    if not draft.extra.strip():
        return {}
    # Lines counted within the box, so the form can point at the line staff typed.
    data = frontmatter.load(draft.extra, path, first_line=1)
    try:
        return _checked_extra(data, draft.extra)
    except ContentError as err:
        raise DraftError(str(err), "extra", err.line) from err


def _checked_extra(data: dict[str, Any], text: str) -> dict[str, Any]:
    for key in data:
        if key in FIELDS:
            line = next((n for n, row in enumerate(text.splitlines(), 1)
                         if row.split(":", 1)[0].strip() == str(key)), None)
            where = "its own field" if key != "position" else "the series page (move up/down)"
            raise ContentError(f"other front matter: {key!r} is set in {where}, not here",
                               line=line)
    return data


def draft_text(draft: Draft, position: int, path: Path) -> str:
    """The file text ``draft`` would be saved as; DraftError names the field at fault."""
    for name in ONE_LINE:
        value = getattr(draft, name)
        if "\n" in value.strip() or "\r" in value.strip():
            raise DraftError(f"the {name} must be one line", name)
        if len(value) > LIMITS[name]:
            raise DraftError(f"the {name} is {len(value)} characters; at most {LIMITS[name]}",
                             name)
    for name in ("title", "subject"):
        if not getattr(draft, name).strip():
            raise DraftError(f"the {name} is empty", name)
    try:
        extra = _extra_keys(draft, path)
    except DraftError:
        raise
    except ContentError as err:
        raise DraftError(f"other front matter, line {err.line}: {_reason(err, path)}"
                         if err.line else str(err), "extra", err.line) from err
    front = {
        "title": draft.title.strip(),
        "subject": draft.subject.strip(),
        "preheader": draft.preheader.strip(),
        "position": position,
        **extra,
    }
    return format_issue(front, draft.body.replace("\r\n", "\n").replace("\r", "\n"))


def _reason(err: ContentError, path: Path) -> str:
    """The message without its ``path:line:`` prefix (the form shows the line itself)."""
    message = str(err)
    prefix = f"{path}:{err.line}: "
    return message[len(prefix):] if message.startswith(prefix) else message


def check_draft(draft: Draft, position: int, path: Path) -> IssueDoc:
    """The issue ``draft`` would be, read back by the same parser as every other reader."""
    text = draft_text(draft, position, path)
    try:
        return parse_issue(text, path)
    except ContentError as err:
        raise DraftError(str(err), "extra", None) from err


def same_content(doc: IssueDoc, other: IssueDoc) -> bool:
    """Whether two readings of an issue say the same thing (fields, body, other keys)."""
    return (doc.title, doc.subject, doc.preheader, doc.position, doc.body.strip(), doc.extra) == (
        other.title, other.subject, other.preheader, other.position, other.body.strip(),
        other.extra)


@dataclass(frozen=True)
class Saved:
    """What a save did: ``written`` False when the draft said what the file already said."""

    doc: IssueDoc
    hash: str
    written: bool


def _unchanged_since(path: Path, loaded_hash: str) -> str:
    """The file's text, if it still has the hash the editor loaded; else EditConflictError."""
    try:
        current = path.read_bytes()
    except FileNotFoundError:
        raise EditConflictError(
            f"{path.name} was removed or renamed since you opened it; nothing was saved", None
        ) from None
    except OSError as err:
        raise ContentError(f"{path}: cannot read: {err.strerror}") from err
    text = current.decode("utf-8", errors="replace")
    if sha256_hex(current) != loaded_hash:
        raise EditConflictError(
            f"{path.name} changed on disk since you opened it (someone else saved it, or it "
            "was re-imported or edited on the server); nothing was saved. Compare the two "
            "versions, then reload the editor and make your change again.",
            text,
        )
    return text


def read_text(path: Path) -> tuple[str, str]:
    """An issue file's text as it is (even when it does not parse) and its hash."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ContentError(f"{path}: no such issue file") from None
    except OSError as err:
        raise ContentError(f"{path}: cannot read: {err.strerror}") from err
    return data.decode("utf-8", errors="replace"), sha256_hex(data)


def number_of(path: Path) -> int | None:
    """The issue number in the file name (``03-sleep.md`` → 3)."""
    match = ISSUE_FILE_RE.match(path.name)
    return int(match.group(1)) if match else None


def check_text(text: str, path: Path) -> IssueDoc:
    """A whole issue file's text as staff typed it, parsed; its position must stay its number.

    The number in the file name is what deliveries and schedules refer to, so
    the position changes only through :mod:`newsletter.content.series_edit`.
    """
    doc = parse_issue(text, path)
    number = number_of(path)
    if number is not None and doc.position != number:
        line = next((n for n, row in enumerate(text.splitlines(), 1)
                     if row.startswith("position")), None)
        raise ContentError(
            f"{path}:{line}: position must stay {number} (the number in the file name); "
            "move issues on the series page", line=line)
    return doc


def save_text(path: Path, text: str, loaded_hash: str) -> Saved:
    """Write a whole issue file as text (to repair one that does not parse), same rules."""
    _unchanged_since(path, loaded_hash)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    doc = check_text(text, path)
    if sha256_hex(text) == loaded_hash:
        return Saved(doc=doc, hash=loaded_hash, written=False)
    write_atomic(path, text.encode("utf-8"))
    return Saved(doc=read_issue(path), hash=sha256_hex(text), written=True)


def save_draft(path: Path, draft: Draft, loaded_hash: str) -> Saved:
    """Write ``draft`` to ``path`` if the file is still the one loaded (module rules)."""
    current = _unchanged_since(path, loaded_hash)
    before = parse_issue(current, path)
    doc = check_draft(draft, before.position, path)
    if same_content(before, doc):
        return Saved(doc=before, hash=loaded_hash, written=False)
    text = draft_text(draft, before.position, path)
    write_atomic(path, text.encode("utf-8"))
    saved = read_issue(path)
    return Saved(doc=saved, hash=saved.content_hash, written=True)
