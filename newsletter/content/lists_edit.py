"""Change ``subscribers/lists.toml`` from a form: check every field, keep the file's comments.

The console's list pages call this (through :mod:`newsletter.audience.list_admin`);
the file stays the source of truth, so the command line and the console always
agree. The new text is made with tomlkit, which keeps comments, key order and
the entries staff did not touch, then read back with the same rules as
:func:`~newsletter.content.lists.parse_lists` before it replaces the file
atomically: a save never leaves a file that the newsletter cannot read.
Pure except for :func:`save_lists_text` (the file write).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import AoT, Array, Table

from newsletter.content.importer import write_atomic
from newsletter.content.lists import SLUG_RE, ListConfig, parse_lists
from newsletter.errors import ContentError

MAX_NAME = 200
MAX_TEXT = 4000
MAX_URL = 500
HEADER = (
    "Mailing lists. Each [[list]] is mirrored into the database; subscribers live there.\n"
    "See newsletter/content/lists.py for every key. The staff console edits this file too."
)


@dataclass(frozen=True)
class ListDraft:
    """A list as typed into the console's form (not yet checked)."""

    slug: str
    name: str
    description: str
    consent_text: str
    double_opt_in: bool
    thank_you_url: str  # "" for none


class ListFormInvalid(ContentError):
    """Fields of the list form are wrong: ``errors`` maps each field to what is wrong with it."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))
        self.errors = errors


class ListChanged(ContentError):
    """The list changed in ``lists.toml`` since the form was opened: nothing was saved."""


def fingerprint(config: ListConfig) -> str:
    """A short hash of a list's editable fields (the form sends it back to detect changes)."""
    fields = (config.slug, config.name, config.description, config.consent_text,
              str(config.double_opt_in), config.thank_you_url or "")
    return hashlib.sha256("\x00".join(fields).encode("utf-8")).hexdigest()[:32]


def _control(text: str, *, newlines: bool) -> bool:
    allowed = "\n\t\r" if newlines else "\t"
    return any((ord(c) < 32 and c not in allowed) or ord(c) == 127 for c in text)


def check_draft(draft: ListDraft, existing: list[ListConfig], *, creating: bool) -> dict[str, str]:
    """What is wrong with ``draft``, by field name (empty when it may be saved)."""
    errors: dict[str, str] = {}
    if creating:
        if not SLUG_RE.match(draft.slug):
            errors["slug"] = ("use 1 to 64 lowercase letters, digits and dashes, starting with a "
                              f"letter or digit (not {draft.slug!r})")
        elif any(config.slug == draft.slug for config in existing):
            errors["slug"] = f"a list called {draft.slug!r} already exists"
    name = draft.name.strip()
    if not name:
        errors["name"] = "give the list a name (subscribers see it in emails and on pages)"
    elif len(name) > MAX_NAME or _control(name, newlines=False):
        errors["name"] = f"keep the name on one line and under {MAX_NAME} characters"
    if len(draft.description) > MAX_TEXT or _control(draft.description, newlines=True):
        errors["description"] = f"keep the description under {MAX_TEXT} characters of text"
    consent = draft.consent_text.strip()
    if not consent:
        errors["consent_text"] = ("the consent text must not be empty: it is what people agree "
                                  "to when they sign up")
    elif len(consent) > MAX_TEXT or _control(consent, newlines=True):
        errors["consent_text"] = f"keep the consent text under {MAX_TEXT} characters of text"
    url = draft.thank_you_url.strip()
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            errors["thank_you_url"] = (f"{url!r} is not a web address: it must start with "
                                       "https:// (or http://) and name a site")
        elif len(url) > MAX_URL or any(c.isspace() for c in url) or _control(url, newlines=False):
            errors["thank_you_url"] = f"keep the address under {MAX_URL} characters, no spaces"
    return errors


def _fill(table: Table, draft: ListDraft) -> None:
    table["name"] = draft.name.strip()
    table["description"] = draft.description.strip()
    table["double_opt_in"] = draft.double_opt_in
    url = draft.thank_you_url.strip()
    if url:
        table["thank_you_url"] = url
    elif "thank_you_url" in table:
        del table["thank_you_url"]
    table["consent_text"] = draft.consent_text.strip()


def changed_text(text: str, path: Path, draft: ListDraft, *, creating: bool,
                 loaded: str | None = None) -> str:
    """The new contents of ``lists.toml`` (now ``text``) with ``draft`` saved into it.

    ListFormInvalid names the wrong fields; ListChanged when the list being
    edited no longer matches ``loaded`` (its :func:`fingerprint` when the form
    was opened). Other lists, comments and keys the form does not show
    (``time_zone``) are kept as they are.
    """
    existing = parse_lists(text, path)
    errors = check_draft(draft, existing, creating=creating)
    if errors:
        raise ListFormInvalid(errors)
    try:
        doc = tomlkit.parse(text) if text.strip() else tomlkit.document()
    except TOMLKitError as err:  # tomllib read it; tomlkit should too
        raise ContentError(f"{path}: cannot be edited: {err}") from err
    if not text.strip():
        for line in HEADER.splitlines():
            doc.add(tomlkit.comment(line))
        doc.add(tomlkit.nl())
    entries = doc.get("list")
    if entries is None:
        entries = tomlkit.aot()
        doc.append("list", entries)
    if isinstance(entries, Array):  # list = [{...}, ...]: rewritten as [[list]] tables
        tables = tomlkit.aot()
        for item in entries:
            table = tomlkit.table()
            for key, value in item.items():
                table[key] = value
            tables.append(table)
        doc["list"] = tables
        entries = doc["list"]
    if not isinstance(entries, AoT):
        raise ContentError(f"{path}: 'list' must be written as [[list]] tables to be edited here")
    if creating:
        table = tomlkit.table()
        table["slug"] = draft.slug
        _fill(table, draft)
        if len(entries) and not tomlkit.dumps(doc).endswith("\n\n"):
            entries[-1].add(tomlkit.nl())  # a blank line between two lists, as people write
        entries.append(table)
    else:
        current = next((c for c in existing if c.slug == draft.slug), None)
        target = next((t for t in entries if t.get("slug") == draft.slug), None)
        if current is None or target is None:
            raise ListChanged(f"{path}: the list {draft.slug!r} is no longer declared")
        if loaded is not None and fingerprint(current) != loaded:
            raise ListChanged(
                f"{path}: the list {draft.slug!r} was changed since you opened it "
                "(by someone else, or in the file): nothing was saved; reload and try again")
        _fill(target, draft)
    new_text = tomlkit.dumps(doc)
    parse_lists(new_text, path)  # the file must still read by the newsletter's own rules
    return new_text


def save_lists_text(path: Path, text: str) -> None:
    """Replace ``lists.toml`` with ``text`` atomically (a reader sees the old or the new file)."""
    write_atomic(path, text.encode("utf-8"))
