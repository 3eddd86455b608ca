"""Per-issue message templates: personalise once with sentinels, splice per subscriber.

The renderer's ``CompiledEmail.personalize`` returns whole HTML and text
strings. Encoding 10+ KB per subscriber is the slow part of a send, so an
issue is personalised once with sentinel values, split at them, and its
constant pieces encoded once (see :mod:`newsletter.delivery.mime`). The split
is trusted only after it reproduces ``personalize`` exactly for awkward
samples (no name, markup characters, non-ASCII); otherwise every message is
personalised and encoded in full (slower, same bytes on the wire).
"""

from __future__ import annotations

import html as html_module
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from markupsafe import escape as markup_escape

from newsletter.delivery import mime

FIELDS = ("email", "name", "unsubscribe_url")
SENTINELS = {"email": "Zq7EMAILq7Z", "name": "Zq7NAMEq7Z", "unsubscribe_url": "Zq7UNSUBq7Z"}
SAMPLES = (
    ("o'brien+news@example.org", None, "https://example.org/unsubscribe/a.b-c_d"),
    ("ana@example.org", 'Ana <b>&amp; "Zoë" O\'Neil', "https://example.org/unsubscribe/x"),
    ("li@example.org", "李小龙 🙂", "https://example.org/unsubscribe/y?z=1&w=2"),
)


class CompiledLike(Protocol):
    """What the renderer compiles once per issue (newsletter.render.CompiledEmail)."""

    def personalize(self, fields: Any) -> Any: ...


FieldsFactory = Callable[[str, str | None, str], Any]


@dataclass(frozen=True)
class _Split:
    subject: list[str | tuple[str]]
    text: list[str | tuple[str]]
    html: list[str | tuple[str]]


def _join(pieces: list[str | tuple[str]], values: dict[str, str]) -> str:
    return "".join(values[p[0]] if isinstance(p, tuple) else p for p in pieces)


class MessageTemplate:
    """Builds the bytes of one issue for one subscriber (one per issue, made by the Composer)."""

    def __init__(self, compiled: CompiledLike, make_fields: FieldsFactory, *, sender: str,
                 extra_headers: Sequence[str] = (), reader_sentinel: str | None = None) -> None:
        self._compiled = compiled
        # Literal text standing in the compiled email for a per-message value (the reader
        # token of click links): spliced like a field, filled by ``build(reader=...)``.
        self._reader = reader_sentinel
        self._make_fields = make_fields
        self._boundary = "=_nl_" + secrets.token_hex(12)
        self._sender = sender
        self._extra = tuple(extra_headers)
        self._escape: Callable[[str], str] | None = None
        self._fast: dict[bool, tuple[_Split, mime.Envelope]] = {}
        for has_name in (True, False):
            prepared = self._prepare(has_name)
            if prepared is None:
                self._fast.clear()
                break
            self._fast[has_name] = prepared

    @property
    def boundary(self) -> str:
        """The MIME boundary of this issue's messages."""
        return self._boundary

    @property
    def fast(self) -> bool:
        """True when the splice path was verified and is used."""
        return bool(self._fast)

    def _prepare(self, has_name: bool) -> tuple[_Split, mime.Envelope] | None:
        sentinels = dict(SENTINELS) if has_name else {
            k: v for k, v in SENTINELS.items() if k != "name"}
        rendered = self._compiled.personalize(self._make_fields(
            sentinels["email"], sentinels.get("name"), sentinels["unsubscribe_url"]))
        if self._reader is not None:
            sentinels["reader"] = self._reader
        split = _Split(mime.split_parts(rendered.subject, sentinels),
                       mime.split_parts(rendered.text, sentinels),
                       mime.split_parts(rendered.html, sentinels))
        for escape in (_markup, _stdlib):
            if all(self._matches(split, escape, sample)
                   for sample in SAMPLES if (sample[1] is not None) == has_name):
                self._escape = escape
                envelope = mime.make_envelope(
                    sender=self._sender, extra=self._extra,
                    boundary=self._boundary, text=mime.encode_parts(split.text),
                    html=mime.encode_parts(split.html))
                return split, envelope
        return None

    def _matches(self, split: _Split, escape: Callable[[str], str],
                 sample: tuple[str, str | None, str]) -> bool:
        email, name, url = sample
        expected = self._compiled.personalize(self._make_fields(email, name, url))
        raw = {"email": email, "name": name or "", "unsubscribe_url": url}
        if self._reader is not None:
            raw["reader"] = self._reader  # personalize leaves it as it is
        escaped = {k: escape(v) for k, v in raw.items()}
        return bool(_join(split.subject, raw) == expected.subject
                    and _join(split.text, raw) == expected.text
                    and _join(split.html, escaped) == expected.html)

    def build(self, *, email: str, name: str | None, unsubscribe_url: str | None,
              msg_id: str, date: str, reader: str = "") -> bytes:
        """The message bytes for one subscriber (``reader``: the value of the reader slot)."""
        # The renderer collapses whitespace in names; do the same so both paths agree.
        name = " ".join((name or "").split()) or None
        to = mime.address_header("To", name, email)
        url = unsubscribe_url or ""
        if self._fast and self._escape is not None:
            split, envelope = self._fast[bool(name)]
            raw = {"email": email, "name": name or "", "unsubscribe_url": url}
            if self._reader is not None:
                raw["reader"] = reader
            text_values = {k: mime.qp_segment(v) for k, v in raw.items()}
            html_values = {k: mime.qp_segment(self._escape(v)) for k, v in raw.items()}
            subject = _join(split.subject, raw)
            head = mime.personal_headers(to=to, subject=subject, date=date, msg_id=msg_id,
                                         unsubscribe_url=unsubscribe_url)
            return envelope.assemble(head, text_values, html_values)
        rendered = self._compiled.personalize(self._make_fields(email, name, url))
        text, html = rendered.text, rendered.html
        if self._reader is not None:
            text, html = text.replace(self._reader, reader), html.replace(self._reader, reader)
        return build_whole(sender=self._sender, extra_headers=self._extra,
                           boundary=self._boundary, to=to, subject=rendered.subject,
                           text=text, html=html, msg_id=msg_id, date=date,
                           unsubscribe_url=unsubscribe_url)


def build_whole(*, sender: str, extra_headers: Sequence[str], boundary: str, to: str,
                subject: str, text: str, html: str, msg_id: str, date: str,
                unsubscribe_url: str | None) -> bytes:
    """Encode a whole message in one go (transactional mail, or the slow path).

    ``to`` is a whole To line (:func:`mime.address_header`); ``extra_headers`` are
    whole constant lines (List-Id, Feedback-ID, Auto-Submitted).
    """
    envelope = mime.make_envelope(sender=sender, extra=extra_headers, boundary=boundary,
                                  text=mime.Parts((mime.qp(text),)),
                                  html=mime.Parts((mime.qp(html),)))
    head = mime.personal_headers(to=to, subject=subject, date=date, msg_id=msg_id,
                                 unsubscribe_url=unsubscribe_url)
    return envelope.assemble(head, {}, {})


def _markup(value: str) -> str:
    return str(markup_escape(value))


def _stdlib(value: str) -> str:
    return html_module.escape(value, quote=True)
