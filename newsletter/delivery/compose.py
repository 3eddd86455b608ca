"""Turns a claimed delivery into message bytes: issue templates cached, tokens, Message-ID.

One :class:`Composer` per send run. Issue mail is compiled once per issue
(by the renderer) and spliced per subscriber; transactional mail is encoded
from its stored payload and carries no List-* headers.
"""

from __future__ import annotations

import secrets
import threading
from datetime import datetime
from email.utils import format_datetime
from typing import Any

from newsletter.audience.tokens import Links
from newsletter.config import Settings
from newsletter.content.issuefile import find_series
from newsletter.delivery import mime
from newsletter.delivery.claims import Claimed
from newsletter.delivery.outbox import TransactionalMail
from newsletter.delivery.signing import DkimSigner
from newsletter.delivery.template import MessageTemplate, build_whole
from newsletter.errors import DeliveryError
from newsletter.render.compiled import PersonalFields


def _fields(email: str, name: str | None, url: str) -> PersonalFields:
    return PersonalFields(email=email, name=name, unsubscribe_url=url)


class Composer:
    """Builds the bytes for claimed deliveries; safe to share between sending threads."""

    def __init__(self, settings: Settings, renderer: Any, links: Links) -> None:
        self.settings = settings
        self.renderer = renderer
        self.links = links
        newest = settings.secret_keys[-1].get_secret_value()
        self._secret = ("message-id:" + newest).encode("utf-8")
        self.domain = mime.sender_domain(settings.sender)
        self._templates: dict[int, MessageTemplate] = {}
        self._lock = threading.Lock()
        self._date: tuple[int, str] = (0, "")
        self.signer: DkimSigner | None = None
        if settings.dkim_domain and settings.dkim_selector and settings.dkim_private_key_path:
            self.signer = DkimSigner.from_file(
                settings.dkim_domain, settings.dkim_selector,
                settings.path(settings.dkim_private_key_path))

    def message_id(self, row: Claimed) -> str:
        """Same on every retry of this delivery; an HMAC nobody outside can guess (#8)."""
        key = (f"issue:{row.issue_id}:{row.subscriber_id}" if row.kind == "issue"
               else f"{row.kind}:{row.id}")
        return mime.message_id(self._secret, key, self.domain)

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
        """The cached template of the row's issue (compiled on first use)."""
        assert row.issue_id is not None
        found = self._templates.get(row.issue_id)
        if found is not None:
            return found
        with self._lock:
            found = self._templates.get(row.issue_id)
            if found is None:
                if row.series_slug is None or row.position is None:
                    raise DeliveryError(f"delivery {row.id}: its issue has no series")
                doc = find_series(self.settings.issues_path, row.series_slug)
                compiled = self.renderer.compile_issue(doc, row.position)
                header = mime.list_id(row.list_name or row.list_slug or "newsletter",
                                      row.list_slug or "newsletter", self.domain)
                found = MessageTemplate(compiled, _fields, sender=self.settings.sender,
                                        list_header=header)
                self._templates[row.issue_id] = found
        return found

    def compose(self, row: Claimed, now: datetime) -> bytes:
        """The bytes for one claimed delivery (DKIM-signed when configured)."""
        date = self._date_header(now)
        msg_id = self.message_id(row)
        if row.kind == "issue":
            data = self.template(row).build(
                email=row.email, name=row.name, unsubscribe_url=self.unsubscribe_url(row),
                msg_id=msg_id, date=date)
        else:
            if row.payload is None:
                raise DeliveryError(f"delivery {row.id} ({row.kind}): no payload stored")
            mail = TransactionalMail.from_payload(row.payload)
            data = build_whole(
                sender=self.settings.sender, list_header=None,
                boundary="=_nl_" + secrets.token_hex(12),
                # No display name: an unconfirmed signup's name is untrusted text, never
                # echoed into mail to an address that may not be theirs (RELIABILITY #34).
                to=mime.format_address(None, row.email), subject=mail.subject,
                text=mail.text, html=mail.html, msg_id=msg_id, date=date, unsubscribe_url=None)
        if self.signer is not None:
            data = self.signer.sign(data)
        return data
