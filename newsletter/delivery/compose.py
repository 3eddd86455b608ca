"""Turns a claimed delivery into message bytes: issue templates cached, tokens, Message-ID.

One :class:`Composer` per send run. Issue mail is built from the row's frozen
edition (loaded once per edition, no files read) and spliced per subscriber;
rows queued before editions existed are compiled from the files as before.
Transactional mail is encoded from its stored payload. Which headers each kind carries:

* issue: List-Id, List-Unsubscribe (+ -Post, RFC 8058), Feedback-ID;
* welcome: List-Id, List-Unsubscribe (+ -Post), Auto-Submitted;
* confirmation: Auto-Submitted only (the address is not subscribed yet).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from datetime import datetime
from email.utils import format_datetime
from typing import Any

from newsletter.audience.tokens import Links
from newsletter.config import Settings
from newsletter.content.issuefile import find_series
from newsletter.delivery import mime
from newsletter.delivery.claims import Claimed
from newsletter.delivery.click_rewrite import READER_SENTINEL
from newsletter.delivery.clicks import ClickTracker
from newsletter.delivery.outbox import TransactionalMail
from newsletter.delivery.signing import DkimSigner
from newsletter.delivery.template import MessageTemplate, build_whole
from newsletter.errors import DeliveryError
from newsletter.render.compiled import CompiledEmail, PersonalFields

EditionLoader = Callable[[int], CompiledEmail]


def _fields(email: str, name: str | None, url: str) -> PersonalFields:
    return PersonalFields(email=email, name=name, unsubscribe_url=url)


class Composer:
    """Builds the bytes for claimed deliveries; safe to share between sending threads."""

    def __init__(self, settings: Settings, renderer: Any, links: Links, *,
                 signer: DkimSigner | None, editions: EditionLoader | None = None,
                 clicks: ClickTracker | None = None) -> None:
        self.settings = settings
        self.renderer = renderer
        self.editions = editions  # edition id → compiled email (reads the database)
        self.links = links
        newest = settings.secret_keys[-1].get_secret_value()
        self._secret = ("message-id:" + newest).encode("utf-8")
        self.domain = mime.sender_domain(settings.sender)
        self._templates: dict[int, MessageTemplate] = {}
        # Editions whose links name the reader ("people" mode): a reader token per message.
        self._people: set[int] = set()
        self.clicks = clicks  # None: links are never rewritten (test sends, tools)
        self._lock = threading.Lock()
        self._date: tuple[int, str] = (0, "")
        self.signer = signer  # the App's (SignerSource.current()); None: unsigned

    def message_id(self, row: Claimed) -> str:
        """Same on every retry of this delivery (its queue time is stored); unguessable (#8)."""
        key = (f"issue:{row.issue_id}:{row.subscriber_id}" if row.kind == "issue"
               else f"{row.kind}:{row.id}")
        return mime.message_id(self._secret, key, self.domain, row.queued_at)

    def unsubscribe_url(self, row: Claimed) -> str:
        """The one-click URL; the token names subscriber, list and series, never an id."""
        return self.links.unsubscribe_url(row.public_id, row.list_slug or "", row.series_slug)

    def _date_header(self, now: datetime) -> str:
        second = int(now.timestamp())
        cached = self._date
        if cached[0] != second:
            cached = (second, format_datetime(now))
            self._date = cached
        return cached[1]

    def template(self, row: Claimed) -> MessageTemplate:
        """The cached template of the row's edition (loaded on first use)."""
        assert row.issue_id is not None
        # Editions and legacy (file-built) issues share the cache: negative keys for the latter.
        key = row.edition_id if row.edition_id is not None else -row.issue_id
        found = self._templates.get(key)
        if found is not None:
            return found
        with self._lock:
            found = self._templates.get(key)
            if found is None:
                compiled = self._compiled(row)
                people = False
                if self.clicks is not None:
                    tracked = self.clicks.prepare(row.edition_id, row.list_slug, compiled)
                    compiled, people = tracked.compiled, tracked.people
                found = MessageTemplate(compiled, _fields, sender=self.settings.sender,
                                        extra_headers=self._issue_headers(row),
                                        reader_sentinel=READER_SENTINEL if people else None)
                if people:
                    self._people.add(key)
                self._templates[key] = found
        return found

    def _reader(self, row: Claimed) -> str:
        """The reader token of this message's click links ("people" mode), else ""."""
        key = row.edition_id if row.edition_id is not None else -(row.issue_id or 0)
        if key not in self._people or self.clicks is None or row.edition_id is None:
            return ""
        return self.clicks.reader_token(row.edition_id, row.public_id)

    def _compiled(self, row: Claimed) -> CompiledEmail:
        if row.edition_id is not None and self.editions is not None:
            return self.editions(row.edition_id)
        # A row queued before editions existed: build it from the files, as then.
        if row.series_slug is None or row.position is None:
            raise DeliveryError(f"delivery {row.id}: its issue has no series")
        doc = find_series(self.settings.issues_path, row.series_slug)
        compiled: CompiledEmail = self.renderer.compile_issue(doc, row.position)
        return compiled

    def _list_headers(self, row: Claimed) -> list[str]:
        return [mime.list_id_header(row.list_name or row.list_slug or "newsletter",
                                    row.list_slug or "newsletter", self.domain)]

    def _issue_headers(self, row: Claimed) -> list[str]:
        campaign = f"{row.series_slug}-{row.position}"
        return [*self._list_headers(row),
                mime.feedback_id_header(campaign, row.list_slug or "newsletter", "issue")]

    def compose(self, row: Claimed, now: datetime) -> bytes:
        """The bytes for one claimed delivery (DKIM-signed when configured)."""
        date = self._date_header(now)
        msg_id = self.message_id(row)
        if row.kind == "issue":
            template = self.template(row)
            data = template.build(
                email=row.email, name=row.name, unsubscribe_url=self.unsubscribe_url(row),
                msg_id=msg_id, date=date, reader=self._reader(row))
        else:
            if row.payload is None:
                raise DeliveryError(f"delivery {row.id} ({row.kind}): no payload stored")
            mail = TransactionalMail.from_payload(row.payload)
            welcome = row.kind == "welcome" and row.list_slug is not None
            extra = [*self._list_headers(row), mime.AUTO_SUBMITTED] if welcome else [
                mime.AUTO_SUBMITTED]
            data = build_whole(
                sender=self.settings.sender, extra_headers=extra,
                boundary="=_nl_" + secrets.token_hex(12),
                # No display name: an unconfirmed signup's name is untrusted text, never
                # echoed into mail to an address that may not be theirs (RELIABILITY #34).
                to=mime.address_header("To", None, row.email), subject=mail.subject,
                text=mail.text, html=mail.html, msg_id=msg_id, date=date,
                # The welcome goes to a subscriber: one-click headers, the same URL as its
                # body's link (RELIABILITY #1).
                unsubscribe_url=self.unsubscribe_url(row) if welcome else None)
        if self.signer is not None:
            data = self.signer.sign(data)
        return data
