"""HTML elements → units in document order (beautifulsoup4 finds structure, markdownify writes).

Used for whole saved pages (:mod:`newsletter.content.html_source`) and for the
HTML blocks inside Markdown exports (:mod:`newsletter.content.markdown_source`).

* Headings ``h1``–``h6`` become heading units; ``p ul ol blockquote pre table
  dl address hr`` become Markdown blocks through markdownify, keeping links,
  emphasis, nested lists and tables; loose inline text inside ``div`` or
  ``section`` is gathered into a paragraph.
* Images are kept as Markdown images with their alt text. A lazy-loaded image
  (``data-src``, ``data-lazy-src``, ``data-image``, ``srcset``) uses its real
  address, not the placeholder. A ``<figure>`` gives the image, then its
  caption as an italic paragraph.
* ``<details>`` (an FAQ accordion) gives its ``<summary>`` as a bold paragraph,
  then its content.
* Every ``href`` and ``src`` is made absolute against ``base`` when there is
  one (a relative one stays relative and is reported later).
* ``<iframe>``, ``<video>``, ``<audio>``, ``<object>`` and ``<embed>`` cannot be
  shown in an email: they become dropped entries naming their address.
  Scripts, styles, form controls and SVG drawings have no readable text and
  are removed silently.

Each unit comes with its element, so a caller can place it on the page (which
region it sits in, whether a content extractor kept it).
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urljoin

from bs4 import BeautifulSoup
from bs4.element import NavigableString, PreformattedString, Tag
from markdownify import markdownify

from newsletter.content.article import Dropped, Unit

SILENT_TAGS = ("script", "style", "noscript", "template", "svg", "button", "input", "select",
               "textarea", "link", "meta", "canvas")
EMBED_TAGS = ("iframe", "video", "audio", "object", "embed")
HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
BLOCKS = ("p", "ul", "ol", "blockquote", "pre", "table", "dl", "address", "hr")
INLINE = (
    "a", "abbr", "b", "strong", "i", "em", "span", "code", "small", "sup", "sub", "mark",
    "br", "img", "u", "s", "q", "cite", "time", "label", "del", "ins", "kbd", "var", "font",
    "picture", "source",
)
LAZY_SOURCES = ("data-src", "data-lazy-src", "data-original", "data-image", "data-srcset")
_SPACES = re.compile(r"[ \t\u00a0]+")
_ABSOLUTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", re.IGNORECASE)


@dataclass(frozen=True)
class Piece:
    """A unit (or a dropped embed) and the element it came from."""

    item: Unit | Dropped
    element: Tag


def to_markdown(fragment: str) -> str:
    """An HTML fragment as Markdown: ATX headings, '-' bullets, tables with a header row."""
    text: str = markdownify(fragment, heading_style="ATX", bullets="-", table_infer_header=True)
    lines = [_SPACES.sub(" ", line).rstrip() for line in text.replace("\u00a0", " ").splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def text_of(tag: Tag) -> str:
    """The visible words of an element, spaces collapsed."""
    return _SPACES.sub(" ", tag.get_text(" ", strip=True)).strip()


def image_source(img: Tag) -> str:
    """The real address of an image: ``src`` unless it is a placeholder and a lazy source exists."""
    src = str(img.get("src") or "").strip()
    if src and not src.startswith("data:"):
        return src
    for attribute in LAZY_SOURCES:
        value = str(img.get(attribute) or "").strip()
        if value:
            return value.split(",")[0].strip().split(" ")[0]
    srcset = str(img.get("srcset") or "").strip()
    if srcset:
        return srcset.split(",")[0].strip().split(" ")[0]
    return src


def absolutize(root: Tag, base: str) -> None:
    """Give every image its real source and, when ``base`` is set, make links absolute."""
    for img in root.find_all("img"):
        if isinstance(img, Tag):
            source = image_source(img)
            img["src"] = urljoin(base, source) if base and source else source
    if not base:
        return
    for anchor in root.find_all("a"):
        if isinstance(anchor, Tag) and anchor.get("href") is not None:
            href = str(anchor["href"]).strip()
            if href and not _ABSOLUTE.match(href):
                anchor["href"] = urljoin(base, href)


def prepare(root: Tag) -> None:
    """Remove what has no readable text (scripts, styles, controls, drawings); collapse spaces.

    Line breaks in an HTML file's source are spaces to a browser: outside
    ``<pre>`` they are collapsed, so a paragraph is one line of Markdown.
    """
    for tag in root.find_all(SILENT_TAGS):
        if isinstance(tag, Tag) and not tag.decomposed:
            tag.decompose()
    for text in root.find_all(string=True):
        if (isinstance(text, NavigableString) and not isinstance(text, PreformattedString)
                and "\n" in text and text.find_parent(["pre", "code"]) is None):
            text.replace_with(NavigableString(re.sub(r"\s+", " ", str(text))))


class Walker:
    """Collects pieces from an element in document order; ``skip`` leaves elements out."""

    def __init__(self, skip: Callable[[Tag], bool] = lambda tag: False) -> None:
        self.pieces: list[Piece] = []
        self._skip = skip
        self._inline: list[str] = []
        self._inline_parent: Tag | None = None
        self._inline_tags: list[Tag] = []
        self._done: set[int] = set()

    def _add(self, item: Unit | Dropped, element: Tag) -> None:
        self.pieces.append(Piece(item, element))

    def flush(self) -> None:
        """Turn gathered loose inline content into one paragraph."""
        if self._inline and self._inline_parent is not None:
            markdown = to_markdown("".join(self._inline))
            # A run made of one element (a <span class="tags-links">) is placed by that element.
            element = self._inline_tags[0] if len(self._inline_tags) == 1 else self._inline_parent
            if markdown:
                self._add(Unit.block(markdown), element)
        self._inline = []
        self._inline_parent = None
        self._inline_tags = []

    def _figure(self, figure: Tag) -> None:
        for img in figure.find_all("img"):
            if isinstance(img, Tag):
                self._add(Unit.block(to_markdown(str(img))), img)
        caption = figure.find("figcaption")
        if isinstance(caption, Tag) and text_of(caption):
            self._add(Unit.block(f"*{to_markdown(caption.decode_contents())}*"), caption)
        for other in figure.find_all(["blockquote", "p", "table"], recursive=False):
            if isinstance(other, Tag):
                self.walk(other)

    def walk(self, element: Tag) -> None:
        """Walk ``element``'s children (not the element itself)."""
        for child in element.children:
            if isinstance(child, NavigableString):
                if not isinstance(child, PreformattedString) and str(child).strip():
                    self._inline_parent = self._inline_parent or element
                    self._inline.append(html_lib.escape(str(child), quote=False))
                    self._inline_tags.append(element)
                elif not isinstance(child, PreformattedString):
                    self._inline.append(" ")
                continue
            if not isinstance(child, Tag) or self._skip(child) or id(child) in self._done:
                continue
            self._element(child, element)
        self.flush()

    def _element(self, child: Tag, parent: Tag) -> None:
        name = child.name.lower()
        if name in EMBED_TAGS:
            self.flush()
            source = str(child.get("src") or child.get("data") or "").strip()
            inner = child.find("source")
            if not source and isinstance(inner, Tag):
                source = str(inner.get("src") or "")
            what = f"embedded {name} {source}".strip()
            self._add(Dropped(what, "embedded media (cannot be shown in an email)"), child)
        elif name in HEADINGS:
            self.flush()
            text = text_of(child)
            if text:
                self._add(Unit.heading(text, int(name[1])), child)
        elif name == "figure":
            self.flush()
            self._figure(child)
        elif name == "details":
            self.flush()
            summary = child.find("summary")
            if isinstance(summary, Tag) and text_of(summary):
                self._add(Unit.block(f"**{text_of(summary)}**"), summary)
                self._done.add(id(summary))
            self.walk(child)
        elif name == "img" and child.find_parent(["p", "li", "td", "a"]) is None:
            self.flush()
            self._add(Unit.block(to_markdown(str(child))), child)
        elif name in BLOCKS and child.find(EMBED_TAGS) is not None:
            self.flush()
            self.walk(child)  # a video inside a paragraph is reported, not silently lost
        elif name in BLOCKS:
            self.flush()
            markdown = to_markdown(str(child))
            if markdown:
                self._add(Unit.block(markdown), child)
        elif name in INLINE and child.find([*HEADINGS, *BLOCKS, "div", "figure",
                                             *EMBED_TAGS]) is None:
            self._inline_parent = self._inline_parent or parent
            if self._inline and self._inline[-1].startswith("<"):
                # Elements side by side outside a paragraph are laid out apart (Wix
                # spans, menu links): keep a space so their words do not run together.
                self._inline.append(" ")
            self._inline.append(str(child))
            self._inline_tags.append(child)
        else:
            self.flush()
            self.walk(child)


def fragment_pieces(fragment: str, base: str = "") -> list[Piece]:
    """The pieces of an HTML fragment (a Markdown file's HTML block)."""
    soup = BeautifulSoup(fragment, "html.parser")
    prepare(soup)
    absolutize(soup, base)
    walker = Walker()
    walker.walk(soup)
    return walker.pieces
