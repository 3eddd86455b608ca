"""Click counting for lists that turn it on: links stored per edition, clicks counted in place.

* :class:`ClickTracker` (one per send run) rewrites an edition's links once
  (:mod:`newsletter.delivery.click_rewrite`) when its list has
  ``click_tracking = "counts"`` or ``"people"``, and stores each link's
  target as a ``click_links`` row. Lists with ``"off"`` (the default) and
  editions without an id (rows queued before editions) are sent untouched.
* :func:`follow_click` answers ``GET /c/<token>``: the token's signature is
  checked, the target is read from ``click_links`` (never from the request),
  and the count goes up by one in a single ``UPDATE … SET clicks = clicks + 1``.
  Only when the reader token is present, valid, and the list is in "people"
  mode *now* is a ``click_people`` row written for that recipient's delivery.

Tokens are signed with the installation's keys (newest signs, all verify) and
a purpose of their own, so an unsubscribe token is no click token.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from newsletter.audience.tokens import MAX_TOKEN_CHARS, TokenError
from newsletter.content.lists import click_modes
from newsletter.db.models import (
    ClickLink,
    ClickPerson,
    Delivery,
    Edition,
    Issue,
    MailingList,
    Series,
    Subscriber,
)
from newsletter.db.transactions import rowcount
from newsletter.delivery.click_rewrite import rewrite_links, trackable
from newsletter.errors import ContentError, NotFoundError
from newsletter.render.compiled import CompiledEmail

if TYPE_CHECKING:
    from newsletter.app import App

LINK_PURPOSE = "click"
READER_PURPOSE = "click-reader"
OFF, COUNTS, PEOPLE = "off", "counts", "people"
NOT_OURS = "this link is not one of ours, or it is damaged"


def list_modes(app: App) -> dict[str, str]:
    """Each list's click mode; an unreadable ``lists.toml`` counts as "off" for everyone."""
    try:
        return click_modes(app.settings.subscribers_path)
    except ContentError:
        return {}


@dataclass(frozen=True)
class TrackedEdition:
    """An edition as the composer sends it: rewritten (or not), and whether readers are named."""

    compiled: CompiledEmail
    people: bool


class ClickTracker:
    """Rewrites editions of tracked lists, once each, and stores their links."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.modes = list_modes(app)  # read once per run: a mode change applies to the next
        self.base_url = app.settings.base_url
        self._lock = threading.Lock()

    def mode(self, list_slug: str | None) -> str:
        """The click mode of a list ("off" for none or an undeclared one)."""
        return self.modes.get(list_slug or "", OFF)

    def prepare(self, edition_id: int | None, list_slug: str | None,
                compiled: CompiledEmail) -> TrackedEdition:
        """``compiled`` as this edition goes out: links rewritten when its list counts clicks."""
        mode = self.mode(list_slug)
        if mode == OFF or edition_id is None:
            return TrackedEdition(compiled, False)
        tokens = self.app.tokens
        done = rewrite_links(compiled, self.base_url,
                             lambda position: tokens.seal(LINK_PURPOSE, [edition_id, position]),
                             people=mode == PEOPLE)
        with self._lock:
            store_links(self.app, edition_id, done.links)
        return TrackedEdition(done.compiled, mode == PEOPLE)

    def reader_token(self, edition_id: int, public_id: str) -> str:
        """The per-message part of a "people" link: which reader (never an address)."""
        return self.app.tokens.seal(READER_PURPOSE, [edition_id, public_id])


def store_links(app: App, edition_id: int, links: dict[int, str]) -> None:
    """Insert the edition's links not stored yet (the same for every run: editions are frozen)."""
    if not links:
        return
    try:
        with app.db.write("storing an edition's links") as session:
            known = set(session.scalars(select(ClickLink.position)
                                        .where(ClickLink.edition_id == edition_id)))
            now = app.clock.now()
            for position, url in sorted(links.items()):
                if position not in known:
                    session.add(ClickLink(edition_id=edition_id, position=position, url=url,
                                          clicks=0, created_at=now))
    except IntegrityError:
        # Another sending process stored them first; they are the same links.
        with app.db.read("reading an edition's links") as session:
            stored = set(session.scalars(select(ClickLink.position)
                                         .where(ClickLink.edition_id == edition_id)))
        if not set(links) <= stored:
            raise


def _link_token(app: App, token: str) -> tuple[int, int]:
    if len(token) > MAX_TOKEN_CHARS:
        raise NotFoundError(NOT_OURS)
    try:
        payload: Any = app.tokens.unseal(LINK_PURPOSE, token)
    except TokenError:
        raise NotFoundError(NOT_OURS) from None
    if (not isinstance(payload, list) or len(payload) != 2
            or not all(isinstance(item, int) and not isinstance(item, bool) for item in payload)):
        raise NotFoundError(NOT_OURS)
    return payload[0], payload[1]


def _reader(app: App, token: str | None, edition_id: int) -> str | None:
    """The reader's public id from a valid reader token for this edition, else None."""
    if token is None or len(token) > MAX_TOKEN_CHARS:
        return None
    try:
        payload: Any = app.tokens.unseal(READER_PURPOSE, token)
    except TokenError:
        return None
    if (isinstance(payload, list) and len(payload) == 2 and payload[0] == edition_id
            and isinstance(payload[1], str)):
        return payload[1]
    return None


def follow_click(app: App, token: str, reader: str | None = None) -> str:
    """Count one click and return where the link goes; NotFoundError when it is not ours.

    A valid link with a damaged reader part still counts and still goes where it
    should (the reader is simply not recorded).
    """
    edition_id, position = _link_token(app, token)
    reader_id = _reader(app, reader, edition_id)
    people = reader_id is not None and _list_is_people(app, edition_id)
    now = app.clock.now()
    with app.db.write("counting a click") as session:
        link = session.execute(select(ClickLink.id, ClickLink.url).where(
            ClickLink.edition_id == edition_id, ClickLink.position == position)).first()
        if link is None or not trackable(link.url, ""):
            raise NotFoundError(NOT_OURS)
        changed = rowcount(session.execute(
            update(ClickLink).where(ClickLink.id == link.id)
            .values(clicks=ClickLink.clicks + 1, last_clicked_at=now)
            .execution_options(synchronize_session=False)))
        if not changed:
            raise NotFoundError(NOT_OURS)  # the edition was deleted meanwhile
        if people and reader_id is not None:
            delivery_id = session.scalar(
                select(Delivery.id).join(Subscriber, Subscriber.id == Delivery.subscriber_id)
                .join(Edition, Edition.issue_id == Delivery.issue_id)
                .where(Edition.id == edition_id, Subscriber.public_id == reader_id))
            if delivery_id is not None:
                session.add(ClickPerson(link_id=link.id, delivery_id=delivery_id,
                                        clicked_at=now))
        return str(link.url)


def _list_is_people(app: App, edition_id: int) -> bool:
    """Whether the edition's list is in "people" mode now (a list that stopped names nobody)."""
    with app.db.read("reading a link's list") as session:
        slug = session.scalar(
            select(MailingList.slug).join(Series, Series.list_id == MailingList.id)
            .join(Issue, Issue.series_id == Series.id)
            .join(Edition, Edition.issue_id == Issue.id).where(Edition.id == edition_id))
    return slug is not None and list_modes(app).get(slug) == PEOPLE
