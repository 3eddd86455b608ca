"""A saved web page → :class:`~newsletter.content.article.ParsedSource`, the rest reported.

1. The page's own address is read (``<base href>``, canonical link,
   ``og:url``; see :mod:`newsletter.content.links`) and every link and image
   address is made absolute against it (or against ``--source-url``).
2. The **title** is the first ``<h1>`` inside ``<article>``/``<main>``, else the
   first ``<h1>`` outside navigation and sidebars, else ``og:title``, else
   ``<title>`` without a trailing " | Site name".
3. The whole page is walked into blocks (:mod:`newsletter.content.html_blocks`).
4. A **content extractor** (trafilatura by default;
   :mod:`newsletter.content.extract`) decides which blocks are the article.
   When it finds nothing, or returns the whole page as one lump of text (very
   short pages), the ``<article>``/``<main>`` rule decides, and a note says so.
5. Every block left out is **reported**, grouped by the page region it sat in
   ("navigation", "sidebar", "comments", "cookie notice"...: see
   :mod:`newsletter.content.page_regions`), or "outside the article" when the
   page does not name the region.
6. A kept block inside a region the page names as chrome (a share bar between
   paragraphs, the byline) carries that name as its hint, so the chrome pass
   drops and reports it.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup
from bs4.element import Tag

from newsletter.content.article import Dropped, ParsedSource, Unit, numbered
from newsletter.content.chrome_rules import block_reason, region_reason
from newsletter.content.extract import (
    DEFAULT_EXTRACTOR,
    EXTRACTORS,
    common_ancestor,
    degenerate,
    select,
)
from newsletter.content.html_blocks import Piece, Walker, absolutize, prepare, text_of
from newsletter.content.links import choose_base
from newsletter.content.page_regions import hint_of, region_of
from newsletter.content.words import markdown_to_plain
from newsletter.errors import ContentError

LANDMARK_DROP = ("nav", "header", "footer", "aside", "form")
_TITLE_SUFFIX = re.compile(r"\s+[|–—·-]\s+[^|–—·]{2,60}$")


def _attr(tag: object, name: str) -> str:
    if isinstance(tag, Tag):
        value = tag.get(name)
        return value.strip() if isinstance(value, str) else ""
    return ""


def page_address(soup: BeautifulSoup) -> tuple[str, str, str]:
    """(``<base href>``, the page's own URL, where that URL came from) as the page states them."""
    base_href = _attr(soup.find("base"), "href")
    for link in soup.find_all("link"):
        rel = link.get("rel") if isinstance(link, Tag) else None
        rels = rel if isinstance(rel, list) else str(rel or "").split()
        if "canonical" in [str(r).lower() for r in rels] and _attr(link, "href"):
            return base_href, _attr(link, "href"), "canonical link"
    og = soup.find("meta", attrs={"property": "og:url"})
    if _attr(og, "content"):
        return base_href, _attr(og, "content"), "og:url"
    return base_href, "", ""


def find_title(soup: BeautifulSoup) -> tuple[str, Tag | None]:
    """The article's title and its ``<h1>`` element (None when it came from metadata)."""
    candidates = [h for h in soup.find_all("h1") if isinstance(h, Tag) and text_of(h)]
    inside = [h for h in candidates if h.find_parent(["article", "main"]) is not None]
    outside = [h for h in candidates if h.find_parent(["nav", "aside", "footer", "form"]) is None]
    for heading in [*inside, *outside]:
        return text_of(heading), heading
    og_title = _attr(soup.find("meta", attrs={"property": "og:title"}), "content")
    if og_title:
        return og_title, None
    head_title = soup.find("title")
    if isinstance(head_title, Tag) and text_of(head_title):
        return _TITLE_SUFFIX.sub("", text_of(head_title)), None
    return "", None


def _landmark_keep(pieces: list[Piece], soup: BeautifulSoup) -> list[bool]:
    """The rule before extractors: inside the first article/main/body, outside landmarks."""
    root: Tag | None = None
    for name in ("article", "main", "body"):
        for found in soup.find_all(name):
            if isinstance(found, Tag) and found.find_parent(LANDMARK_DROP) is None:
                root = found
                break
        if root is not None:
            break
    keep = []
    for piece in pieces:
        element = piece.element
        inside = root is None or element is root or any(a is root for a in element.parents)
        in_landmark = (element.name in LANDMARK_DROP
                       or element.find_parent(LANDMARK_DROP) is not None)
        keep.append(inside and not in_landmark)
    return keep


_IMAGE = re.compile(r"!\[([^\]]*)\]\(")


def describe(item: Unit | Dropped) -> str:
    """The words to show for a dropped piece: plain text, or "image: alt" for a picture."""
    if isinstance(item, Dropped) or item.kind == "heading":
        return item.text
    plain = markdown_to_plain(item.text)
    if plain:
        return plain
    alts = [a for a in _IMAGE.findall(item.text) if a.strip()]
    return f"image: {alts[0]}" if alts else "image"


def _joined(tag: Tag) -> str:
    """An element's text as written, plus a space where two elements' words would run together."""
    out = ""
    for string in tag.strings:
        if out and out[-1].isalnum() and string[:1].isalnum():
            out += " "
        out += string
    return " ".join(out.split())


def _spaced(piece: Piece) -> str:
    """``describe`` with spaces between adjacent elements ("Jan 28 4 min", not "Jan 284 min")."""
    words = describe(piece.item)
    spaced = _joined(piece.element)
    return spaced if spaced.replace(" ", "") == words.replace(" ", "") else words


def _reason(piece: Piece, label: str) -> str:
    """Why the extractor left a piece out: its page region, its wording, or ``label``."""
    region = region_of(piece.element)
    if region:
        return region
    words = _spaced(piece)
    return block_reason(words) or region_reason(words) or label


def _left_out(group: list[Piece], reason: str) -> Dropped:
    return Dropped(_spaced(group[0]), reason, len(group),
                   details=tuple(_spaced(piece) for piece in group))


def parse_html(
    text: str, *, source_url: str = "", extractor: str = DEFAULT_EXTRACTOR, rescue: bool = True
) -> ParsedSource:
    """Parse a web page: title, the article's blocks in order, everything else reported.

    ``rescue=False`` keeps exactly what the extractor chose (to measure it alone).
    """
    if extractor not in EXTRACTORS:
        raise ContentError(f"unknown extractor {extractor!r} (known: {', '.join(EXTRACTORS)})")
    soup = BeautifulSoup(text, "html.parser")
    base_href, page_url, page_from = page_address(soup)
    base, base_from = choose_base(source_url, base_href, page_url, page_from)
    prepare(soup)
    absolutize(soup, base)
    title, title_tag = find_title(soup)
    serialized = str(soup)
    walker = Walker(skip=lambda tag: tag is title_tag)
    body = soup.find("body")
    walker.walk(body if isinstance(body, Tag) else soup)
    pieces = walker.pieces

    notes: list[str] = []
    function = EXTRACTORS[extractor]
    result = function(serialized) if function is not None else None
    keep: list[bool] = []
    if result and not degenerate(result):
        originals = [_image_address(p) for p in pieces]
        keep = select(pieces, result, originals, rescue=rescue)
    used = any(keep)
    if not used:
        if function is not None:
            notes.append(f"{extractor} could not tell the article from the rest of this page; "
                         "used the page's <article>/<main>")
        keep = _landmark_keep(pieces, soup)
    label = f"left out by {extractor}" if used else "outside the article"

    root = common_ancestor([p.element for p, k in zip(pieces, keep, strict=True) if k])
    items: list[Unit | Dropped] = []
    group: list[Piece] = []
    group_reason = ""
    opened = False  # the group starts with a heading such as "Recent Posts"
    for piece, kept in zip(pieces, keep, strict=True):
        if not kept:
            reason = _reason(piece, label)
            if group and opened and reason == label:
                group.append(piece)  # the unnamed blocks under "Recent Posts" belong to it
                continue
            if group and reason != group_reason:
                items.append(_left_out(group, group_reason))
                group = []
            if not group:
                opened = region_reason(_spaced(piece)) == reason and not region_of(piece.element)
            group.append(piece)
            group_reason = reason
            continue
        if group:
            items.append(_left_out(group, group_reason))
            group = []
        item = piece.item
        if isinstance(item, Unit):
            hint = hint_of(piece.element, root)
            item = Unit(item.kind, item.text, item.level, item.markdown, hint)
        items.append(item)
    if group:
        items.append(_left_out(group, group_reason))
    return ParsedSource(title=title, items=numbered(items), format="html", base_url=base,
                        base_from=base_from, notes=notes)


def _image_address(piece: Piece) -> str:
    """The image a piece consists of (an <img>, or a paragraph holding only one), else ""."""
    element = piece.element
    if element.name == "img":
        return str(element.get("src") or "")
    images = element.find_all("img")
    if len(images) == 1 and not text_of(element) and isinstance(images[0], Tag):
        return str(images[0].get("src") or "")
    return ""
