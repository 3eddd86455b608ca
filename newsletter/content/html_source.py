"""HTML → :class:`Article`: beautifulsoup4 finds the structure, markdownify writes the blocks.

* Page furniture is removed first: ``script style nav header footer form aside
  noscript template iframe button svg`` (see :data:`DROP_TAGS`).
* The content root is the first ``<article>``, else ``<main>``, else ``<body>``.
* The title is the first ``<h1>`` (inside the root if there is one there, else
  anywhere, looked up before furniture is removed so an ``<h1>`` in an
  article's ``<header>`` counts), else ``<title>``.
* Headings ``h1``–``h6`` after the title become heading units; sections split at
  the highest level present (usually ``h2``).
* Paragraphs, lists, quotes, code, tables become Markdown through markdownify,
  keeping links and emphasis; loose inline text inside ``div``/``section`` is
  gathered into a paragraph.

Then trailing signup chrome is removed as for every format.
"""

from __future__ import annotations

import html
import re
from typing import Any

from bs4 import BeautifulSoup
from bs4.element import NavigableString, PreformattedString, Tag
from markdownify import markdownify

from newsletter.content.article import Article, Unit, build_article
from newsletter.content.chrome import strip_trailing_chrome

DROP_TAGS = (
    "script", "style", "nav", "header", "footer", "form", "aside",
    "noscript", "template", "iframe", "button", "svg",
)
HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
BLOCKS = ("p", "ul", "ol", "blockquote", "pre", "table", "dl", "figure", "address", "hr")
INLINE = (
    "a", "abbr", "b", "strong", "i", "em", "span", "code", "small", "sup", "sub", "mark",
    "br", "img", "u", "s", "q", "cite", "time", "label", "del", "ins", "kbd", "var",
)
_SPACES = re.compile(r"[ \t\u00a0]+")


def _to_markdown(html: str) -> str:
    text: str = markdownify(html, heading_style="ATX", bullets="-", strip=["img"])
    lines = [_SPACES.sub(" ", line).rstrip() for line in text.replace("\u00a0", " ").splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _text(tag: Tag) -> str:
    return _SPACES.sub(" ", tag.get_text(" ", strip=True)).strip()


class _Walker:
    """Collects units from the content root in document order."""

    def __init__(self) -> None:
        self.units: list[Unit] = []
        self._inline: list[str] = []

    def flush(self) -> None:
        if self._inline:
            markdown = _to_markdown("".join(self._inline))
            if markdown:
                self.units.append(Unit.block(markdown))
        self._inline = []

    def walk(self, element: Tag) -> None:
        for child in element.children:
            if isinstance(child, NavigableString):
                if not isinstance(child, PreformattedString):  # comments, doctype
                    self._inline.append(html.escape(str(child), quote=False))
                continue
            if not isinstance(child, Tag):
                continue
            name = child.name.lower()
            if name in HEADINGS:
                self.flush()
                text = _text(child)
                if text:
                    self.units.append(Unit.heading(text, int(name[1])))
            elif name in BLOCKS:
                self.flush()
                markdown = _to_markdown(str(child))
                if markdown:
                    self.units.append(Unit.block(markdown))
            elif name in INLINE and child.find([*HEADINGS, *BLOCKS, "div"]) is None:
                self._inline.append(str(child))
            else:
                self.flush()
                self.walk(child)
        self.flush()


def _root(soup: BeautifulSoup) -> Tag:
    for name in ("article", "main", "body"):
        for found in soup.find_all(name):
            # An <article> card inside an <aside> ("related posts") is not the article.
            if isinstance(found, Tag) and found.find_parent(DROP_TAGS) is None:
                return found
    return soup


def _title(soup: BeautifulSoup, root: Tag) -> tuple[str, Tag | None]:
    first: Any = root.find("h1") or soup.find("h1")
    if isinstance(first, Tag) and _text(first):
        return _text(first), first
    head_title = soup.find("title")
    if isinstance(head_title, Tag):
        return _text(head_title), None
    return "", None


def parse_html(text: str) -> Article:
    """Parse an HTML page into an Article: title, sections at the top heading level, no chrome."""
    soup = BeautifulSoup(text, "html.parser")
    title, title_tag = _title(soup, _root(soup))
    if title_tag is not None:
        title_tag.decompose()
    for tag in soup.find_all(DROP_TAGS):
        if isinstance(tag, Tag) and not tag.decomposed:
            tag.decompose()
    walker = _Walker()
    walker.walk(_root(soup))
    kept, dropped = strip_trailing_chrome(walker.units)
    return build_article(title, kept, "html", dropped)
