"""A compiled email (rendered and MJML-compiled once) and its cheap per-subscriber step.

Templates never see subscriber data. Where a template shows a subscriber's
value it writes a placeholder marker (``{{ subscriber.unsubscribe_url }}``
renders ``@@nl<nonce>:unsubscribe_url@@``); after Jinja and MJML have run, the
output is split once into literal segments and field names. Personalising is
then a list copy, a few ``html.escape`` calls and one ``str.join``: no Jinja,
no MJML, no regex. Values are inserted after all templating, so a name like
``{{ 7*7 }}`` or ``<script>`` is only ever text (escaped in the HTML part).

The nonce is random per compile, so issue text that happens to contain
something marker-shaped cannot turn into a field.
"""

from __future__ import annotations

import html
import json
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from markupsafe import Markup

from newsletter.errors import RenderError

FIELDS = ("email", "name", "greeting", "unsubscribe_url")
DEFAULT_GREETING = "Hello {name},"
DEFAULT_GREETING_ANONYMOUS = "Hello,"


@dataclass(frozen=True, slots=True)
class PersonalFields:
    """The per-subscriber values of one message."""

    email: str
    name: str | None
    unsubscribe_url: str


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    """One subscriber's message, ready for MIME assembly."""

    subject: str
    html: str
    text: str


class Markers:
    """Placeholder markers for one compile, and the pattern that finds them again."""

    def __init__(self) -> None:
        self.prefix = f"@@nl{secrets.token_hex(6)}:"
        self._pattern = re.compile(re.escape(self.prefix) + r"([a-z_]+)@@")

    def marker(self, field: str) -> str:
        """The marker standing for ``field``."""
        return f"{self.prefix}{field}@@"

    def placeholders(self) -> dict[str, Markup]:
        """The ``subscriber`` object templates see: field name → marker (safe to autoescape)."""
        # Markers are made of [@a-z0-9_:] only: nothing to escape.
        return {field: Markup(self.marker(field)) for field in FIELDS}  # noqa: S704

    def split(self, output: str, source: str) -> Segments:
        """Split rendered output into literal segments and field names."""
        pieces = self._pattern.split(output)
        for field in pieces[1::2]:
            if field not in FIELDS:
                raise RenderError(f"{source}: unknown subscriber field {field!r}", template=source)
        return Segments(tuple(pieces))


@dataclass(frozen=True, slots=True)
class Segments:
    """Literal text at even indexes, field names at odd indexes."""

    pieces: tuple[str, ...]

    @property
    def fields(self) -> frozenset[str]:
        """Which subscriber fields this output uses."""
        return frozenset(self.pieces[1::2])

    @property
    def literal_size(self) -> int:
        """UTF-8 size of the literal text (the output without its fields)."""
        return sum(len(piece.encode("utf-8")) for piece in self.pieces[0::2])

    def map_literals(self, change: Callable[[str, bool], str]) -> Segments:
        """The same segments with each literal replaced by ``change(literal, field_follows)``."""
        pieces = list(self.pieces)
        for index in range(0, len(pieces), 2):
            pieces[index] = change(pieces[index], index + 1 < len(pieces))
        return Segments(tuple(pieces))

    def fill(self, values: Mapping[str, str]) -> str:
        """Join the literals with ``values`` (already escaped as the output needs)."""
        pieces = list(self.pieces)
        for index in range(1, len(pieces), 2):
            pieces[index] = values[pieces[index]]
        return "".join(pieces)


@dataclass(frozen=True, slots=True)
class Greeting:
    """How to greet: with a name (``{name}`` marks where) and without one."""

    named: str = DEFAULT_GREETING
    anonymous: str = DEFAULT_GREETING_ANONYMOUS

    def __post_init__(self) -> None:
        if "{name}" not in self.named:
            raise RenderError(f"greeting {self.named!r} must contain {{name}}")

    def format(self, name: str | None) -> str:
        """``Hello Ana,`` for a name, ``Hello,`` for none or blank (the name is plain data)."""
        if not name:
            return self.anonymous
        before, after = self.named.split("{name}", 1)
        return f"{before}{name}{after}"


class CompiledEmail:
    """An email compiled once; :meth:`personalize` makes each subscriber's copy."""

    __slots__ = ("_greeting", "_html", "_text", "preheader", "subject")

    def __init__(
        self,
        *,
        subject: str,
        preheader: str,
        html_segments: Segments,
        text_segments: Segments,
        greeting: Greeting | None = None,
    ) -> None:
        self.subject = subject
        self.preheader = preheader
        self._html = html_segments
        self._text = text_segments
        self._greeting = greeting or Greeting()

    @property
    def html_size(self) -> int:
        """Bytes of HTML without the subscriber's values (Gmail clips past ~102 kB)."""
        return self._html.literal_size

    @property
    def fields(self) -> frozenset[str]:
        """Subscriber fields used by the HTML or the text part."""
        return self._html.fields | self._text.fields

    def uses(self, field: str) -> tuple[bool, bool]:
        """Whether the HTML and the text part show ``field``."""
        return field in self._html.fields, field in self._text.fields

    def literal_html(self) -> str:
        """The compiled HTML with every field left empty (for checks and previews)."""
        return self._html.fill(dict.fromkeys(FIELDS, ""))

    def literal_text(self) -> str:
        """The compiled text with every field left empty."""
        return self._text.fill(dict.fromkeys(FIELDS, ""))

    def map_literals(self, html_change: Callable[[str, bool], str],
                     text_change: Callable[[str, bool], str]) -> CompiledEmail:
        """A copy whose literal HTML and text are changed (fields stay as they are).

        Each callable gets one literal and whether a subscriber field follows it
        (so a link running into a field can be left alone).
        """
        return CompiledEmail(subject=self.subject, preheader=self.preheader,
                             html_segments=self._html.map_literals(html_change),
                             text_segments=self._text.map_literals(text_change),
                             greeting=self._greeting)

    def to_json(self) -> str:
        """Everything needed to personalise later, as JSON (a frozen edition stores it)."""
        return json.dumps({
            "subject": self.subject, "preheader": self.preheader,
            "html": list(self._html.pieces), "text": list(self._text.pieces),
            "greeting": [self._greeting.named, self._greeting.anonymous],
        }, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, data: str) -> CompiledEmail:
        """Read back what :meth:`to_json` wrote."""
        parsed = json.loads(data)
        named, anonymous = parsed["greeting"]
        return cls(subject=parsed["subject"], preheader=parsed["preheader"],
                   html_segments=Segments(tuple(parsed["html"])),
                   text_segments=Segments(tuple(parsed["text"])),
                   greeting=Greeting(named, anonymous))

    def personalize(self, fields: PersonalFields) -> RenderedEmail:
        """This email for one subscriber: values inserted as data, escaped in the HTML."""
        # Whitespace (including CR/LF) collapses, so a name cannot add lines.
        name = " ".join((fields.name or "").split())
        greeting = self._greeting.format(name)
        plain = {
            "email": fields.email,
            "name": name,
            "greeting": greeting,
            "unsubscribe_url": fields.unsubscribe_url,
        }
        escaped = {key: html.escape(value, quote=True) for key, value in plain.items()}
        return RenderedEmail(
            subject=self.subject, html=self._html.fill(escaped), text=self._text.fill(plain)
        )
