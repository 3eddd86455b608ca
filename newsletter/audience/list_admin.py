"""The console's list pages: read the lists with their consent text history, create and edit them.

Saving writes ``subscribers/lists.toml`` (the source of truth, as for the
command line) through :mod:`newsletter.content.lists_edit`, under a lock file
(``var/lists.toml.lock``) so two saves never interleave, then mirrors it at
once with the staff member credited for a new consent text version
(:meth:`Catalog.reload_lists`).
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import distinct, func, select

from newsletter.catalog import Author
from newsletter.content.lists import ListConfig, read_lists
from newsletter.content.lists_edit import ListDraft, changed_text, fingerprint, save_lists_text
from newsletter.db.models import ConsentRecord, ConsentVersion, Subscription, SubscriptionStatus
from newsletter.errors import ContentError, NotFoundError

if TYPE_CHECKING:
    from newsletter.app import App

LOCK_FILE = "lists.toml.lock"  # under var/: never a stray file beside the lists


@dataclass(frozen=True)
class ListSummary:
    """One list as the lists page shows it."""

    config: ListConfig
    active: int  # people with an active subscription
    consent_version: int  # the current consent text's version number


@dataclass(frozen=True)
class VersionView:
    """One consent text version and how many subscriptions' records point at it."""

    version: int
    text: str
    text_hash: str
    created_at: datetime
    created_by: str | None
    agreements: int


@dataclass(frozen=True)
class ListDetail:
    """A list with its consent text history (newest version first)."""

    config: ListConfig
    loaded: str  # the fingerprint the edit form sends back
    versions: list[VersionView]
    unversioned: int  # signups recorded before versions were kept


@dataclass(frozen=True)
class Saved:
    """What a save did."""

    slug: str
    changed: list[str]  # field names that changed ([] when nothing did)
    new_version: int | None  # the consent text's new version, when the text changed


def list_summaries(app: App) -> list[ListSummary]:
    """Every declared list, in file order, with its active count and consent version."""
    known = app.catalog.lists()
    with app.db.read("reading the lists") as session:
        active: dict[int, int] = {row[0]: row[1] for row in session.execute(
            select(Subscription.list_id, func.count()).where(
                Subscription.status == SubscriptionStatus.ACTIVE)
            .group_by(Subscription.list_id))}
        versions: dict[int, int] = {row[0]: row[1] for row in session.execute(
            select(ConsentVersion.list_id, func.max(ConsentVersion.version))
            .group_by(ConsentVersion.list_id))}
    return [ListSummary(k.config, active.get(k.id, 0), versions.get(k.id, 0))
            for k in known.values()]


def list_detail(app: App, slug: str) -> ListDetail:
    """One list and its consent text versions; NotFoundError naming the slug."""
    known = app.catalog.find_list(slug)
    with app.db.read("reading a list") as session:
        rows = list(session.scalars(select(ConsentVersion).where(
            ConsentVersion.list_id == known.id).order_by(ConsentVersion.version.desc())))
        counts: dict[int | None, int] = {row[0]: row[1] for row in session.execute(
            select(ConsentRecord.consent_version_id,
                   func.count(distinct(ConsentRecord.subscription_id)))
            .where(ConsentRecord.consent_version_id.in_([row.id for row in rows]))
            .group_by(ConsentRecord.consent_version_id))} if rows else {}
        unversioned = session.scalar(
            select(func.count(distinct(ConsentRecord.subscription_id))).where(
                ConsentRecord.list_slug == slug, ConsentRecord.event == "signup",
                ConsentRecord.consent_version_id.is_(None))) or 0
    versions = [VersionView(row.version, row.text, row.text_hash, row.created_at,
                            row.created_by, counts.get(row.id, 0)) for row in rows]
    return ListDetail(known.config, fingerprint(known.config), versions, unversioned)


@contextmanager
def _file_lock(folder: Path) -> Iterator[None]:
    """One save of lists.toml at a time, across processes (an advisory lock on a file in folder)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = (folder / LOCK_FILE).open("a")
    except OSError as err:
        raise ContentError(f"{folder / LOCK_FILE}: cannot lock: {err.strerror}") from err
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def save_list(app: App, draft: ListDraft, *, creating: bool, by: str,
              loaded: str | None = None) -> Saved:
    """Create or change one list in ``lists.toml`` and mirror it; ``by`` is the staff address.

    ListFormInvalid names the wrong fields; ListChanged when the list changed
    since the form was opened (``loaded``); nothing is written then.
    """
    folder = app.settings.subscribers_path
    path = app.catalog.lists_file
    folder.mkdir(parents=True, exist_ok=True)
    with _file_lock(app.settings.var_path):
        before = {c.slug: c for c in read_lists(folder)}
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        new_text = changed_text(text, path, draft, creating=creating, loaded=loaded)
        if new_text == text:
            return Saved(draft.slug, [], None)
        since = app.clock.now()
        old = before.get(draft.slug)
        text_changed = old is None or old.consent_text != draft.consent_text.strip()
        save_lists_text(path, new_text)
        known = app.catalog.reload_lists(Author(by, since, draft.slug) if text_changed else None)
    after = known[draft.slug].config
    fields = ("name", "description", "consent_text", "double_opt_in", "thank_you_url")
    changed = [f for f in fields if old is None or getattr(old, f) != getattr(after, f)]
    new_version = None
    if "consent_text" in changed:
        with app.db.read("reading a list") as session:
            new_version = session.scalar(select(func.max(ConsentVersion.version)).where(
                ConsentVersion.list_id == known[draft.slug].id))
    return Saved(draft.slug, changed, new_version)


def require_list(app: App, slug: str) -> ListConfig:
    """The declared list ``slug`` (NotFoundError otherwise)."""
    known = app.catalog.lists().get(slug)
    if known is None:
        raise NotFoundError(f"there is no list {slug!r}")
    return known.config
