"""Rewriting an edition's links to our counting redirect (pure: no database, no network).

Once per edition, not per recipient: :func:`rewrite_links` walks the compiled
email's literal HTML and text, numbers each distinct http(s) link in the order
it first appears (the same URL in both parts gets one number) and replaces it
with ``<base_url>/c/<token>``, where the token signs (edition, number) and
nothing else. The target itself never travels in the URL: the redirect looks
it up from what :mod:`newsletter.delivery.clicks` stored for that edition.

Left as they are:

* our own pages (anything under ``base_url``): unsubscribe, confirm, the web
  archive; the unsubscribe link is a subscriber field anyway, never literal;
* ``mailto:``, ``tel:`` and every other non-http(s) scheme, and ``#`` anchors;
* a link that runs into a subscriber field (``https://x/?e=`` followed by the
  address): rewriting it would cut the personal part off.

In "people" mode each rewritten link also carries :data:`READER_SENTINEL`,
which the composer replaces per message with a token naming the reader
(see :func:`reader_suffix`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from newsletter.render.compiled import CompiledEmail

# href="…" or href='…' in the compiled HTML (MJML writes double quotes).
HREF_RE = re.compile(r"""(\bhref\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)
# A URL in the text part: up to the next whitespace.
TEXT_URL_RE = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)
TRAILING = ".,;:!?'\""
READER_SENTINEL = "Zq7READERq7Z"
CLICK_PATH = "/c/"

TokenMaker = Callable[[int], str]


@dataclass
class Rewritten:
    """An edition's compiled email with its links rewritten, and the links by position."""

    compiled: CompiledEmail
    links: dict[int, str] = field(default_factory=dict)  # position → target URL


def trackable(url: str, base_url: str) -> bool:
    """True for an http(s) link that is not one of our own pages."""
    lowered = url.lower()
    if not lowered.startswith(("http://", "https://")):
        return False
    base = base_url.rstrip("/").lower()
    return not (lowered == base or lowered.startswith((base + "/", base + "?", base + "#")))


def _trim(url: str) -> str:
    """A text URL without the sentence punctuation after it (``see (https://x/a).``)."""
    while url and (url[-1] in TRAILING or (url[-1] == ")" and url.count(")") > url.count("("))):
        url = url[:-1]
    return url


class _Numbering:
    def __init__(self, base_url: str, make_token: TokenMaker, people: bool) -> None:
        self.base = base_url.rstrip("/")
        self.make_token = make_token
        self.people = people
        self.positions: dict[str, int] = {}

    def redirect(self, url: str) -> str:
        position = self.positions.get(url)
        if position is None:
            position = self.positions[url] = len(self.positions) + 1
        suffix = "/" + READER_SENTINEL if self.people else ""
        return f"{self.base}{CLICK_PATH}{self.make_token(position)}{suffix}"

    def html(self, literal: str, field_follows: bool) -> str:
        def swap(match: re.Match[str]) -> str:
            prefix, quote, raw = match.group(1), match.group(2), match.group(3)
            url = html.unescape(raw).strip()
            if not trackable(url, self.base):
                return match.group(0)
            return f"{prefix}{quote}{html.escape(self.redirect(url), quote=True)}{quote}"
        return HREF_RE.sub(swap, literal)

    def text(self, literal: str, field_follows: bool) -> str:
        def swap(match: re.Match[str]) -> str:
            found = match.group(0)
            url = _trim(found)
            runs_on = field_follows and match.end() == len(literal) and url == found
            if runs_on or not trackable(url, self.base):
                return found
            return self.redirect(url) + found[len(url):]
        return TEXT_URL_RE.sub(swap, literal)


def rewrite_links(compiled: CompiledEmail, base_url: str, make_token: TokenMaker, *,
                  people: bool = False) -> Rewritten:
    """``compiled`` with every trackable link pointing at our redirect (HTML first, then text)."""
    numbering = _Numbering(base_url, make_token, people)
    html_done = compiled.map_literals(numbering.html, lambda literal, follows: literal)
    both = html_done.map_literals(lambda literal, follows: literal, numbering.text)
    return Rewritten(both, {position: url for url, position in numbering.positions.items()})


def reader_suffix(data: str, sentinel: str = READER_SENTINEL) -> Callable[[str], str]:
    """A function putting one reader's token ``data`` where the sentinel stands."""
    return lambda rendered: rendered.replace(sentinel, data)
