"""Main-content extraction: which blocks of a saved page are the article (a library decides).

A content extractor reads the whole page and returns its main content.
:data:`EXTRACTORS` wraps two libraries made for this, **trafilatura** (the
default, chosen on the corpus: see docs/import.md) and **readability-lxml**, and
``"landmarks"``, the rule the importer used before them (the first
``<article>``, else ``<main>``, else ``<body>``, minus ``nav header footer
aside form``), kept as a baseline for the comparison.

The extractor's output is only used to *select*: its words are aligned
(:mod:`difflib`, in order) with the words of the page's own blocks, and a block
is kept when most of its words are found. A heading is kept when the
extractor kept a heading with its words (a heading often repeats its
paragraph's words, so word alignment would confuse them), or by position
(below). The blocks themselves are converted
from the original page, so links, emphasis, tables and images come out the
same whichever extractor chose them. Images are kept when the extractor kept
their address.

Inside the article the extractor is not trusted to throw content away. The
article's container is the deepest element that holds at least 90% of the
words the extractor kept; every block inside it is kept unless the page marks
it as chrome (:func:`~newsletter.content.page_regions.hint_of`), and the
chrome rules still judge its wording later. Extractors drop short or
link-heavy paragraphs, figure captions, leading headings and last paragraphs
that are mostly a link; inside the article, that is content.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from difflib import SequenceMatcher

from bs4 import BeautifulSoup
from bs4.element import Tag

from newsletter.content.article import Unit
from newsletter.content.html_blocks import Piece, image_source
from newsletter.content.page_regions import hint_of
from newsletter.content.words import markdown_to_plain

Extractor = Callable[[str], str | None]
DEFAULT_EXTRACTOR = "trafilatura"
KEEP_FRACTION = 0.6
ROOT_SHARE = 0.9
_WORD = re.compile(r"\w+", re.UNICODE)


def trafilatura_extract(page: str) -> str | None:
    """Main content by trafilatura (tables, images, links and formatting kept; no comments)."""
    import trafilatura  # imported when used: it loads language data

    # Its fallbacks log internal failures ("readability_lxml failed") that staff cannot act on.
    logging.getLogger("trafilatura").setLevel(logging.ERROR)
    result: str | None = trafilatura.extract(
        page,
        output_format="html",
        include_comments=False,
        include_tables=True,
        include_images=True,
        include_links=True,
        include_formatting=True,
        favor_recall=True,
        deduplicate=False,
    )
    return result


def trafilatura_precision_extract(page: str) -> str | None:
    """trafilatura tuned for precision (used only in the comparison)."""
    import trafilatura

    result: str | None = trafilatura.extract(
        page, output_format="html", include_comments=False, include_tables=True,
        include_images=True, include_links=True, include_formatting=True, favor_precision=True,
    )
    return result


def readability_extract(page: str) -> str | None:
    """Main content by readability-lxml (the summary's HTML)."""
    from readability import Document

    summary: str = Document(page).summary(html_partial=True)
    return summary


EXTRACTORS: dict[str, Extractor | None] = {
    "trafilatura": trafilatura_extract,
    "trafilatura-precision": trafilatura_precision_extract,
    "readability": readability_extract,
    "landmarks": None,  # no library: the <article>/<main> rule
}


def words(text: str) -> list[str]:
    """Lower-case word tokens, the unit of alignment."""
    return [w.lower() for w in _WORD.findall(text)]


def extracted_view(result: str) -> tuple[list[str], set[str], set[str]]:
    """(word tokens, image addresses, heading texts) of an extractor's HTML output."""
    soup = BeautifulSoup(result, "html.parser")
    sources = {image_source(img) for img in soup.find_all("img") if isinstance(img, Tag)}
    headings = {" ".join(words(h.get_text(" "))) for h in soup.find_all(
        ["h1", "h2", "h3", "h4", "h5", "h6"])}
    return words(soup.get_text(" ")), {s for s in sources if s}, headings


def degenerate(result: str | None) -> bool:
    """Whether an extractor's output is no separation at all: nothing, or one lump of text.

    On very small pages trafilatura falls back to the page's whole text in a
    single paragraph (navigation included, images and headings gone); that
    output cannot tell the article from the page.
    """
    if not result:
        return True
    soup = BeautifulSoup(result, "html.parser")
    blocks = soup.find_all(["p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "img", "table",
                            "blockquote", "pre"])
    return len(blocks) < 2


def aligned(piece_words: Sequence[list[str]], found: list[str]) -> list[bool]:
    """For each piece, whether most of its words appear, in order, in ``found``."""
    flat: list[str] = []
    owner: list[int] = []
    for index, tokens in enumerate(piece_words):
        flat.extend(tokens)
        owner.extend([index] * len(tokens))
    matched = [0] * len(piece_words)
    matcher = SequenceMatcher(None, flat, found, autojunk=False)
    for block in matcher.get_matching_blocks():
        for position in range(block.a, block.a + block.size):
            matched[owner[position]] += 1
    return [
        bool(tokens) and matched[i] >= max(1, round(KEEP_FRACTION * len(tokens)))
        for i, tokens in enumerate(piece_words)
    ]


def common_ancestor(elements: Sequence[Tag]) -> Tag | None:
    """The closest element that contains all of ``elements``."""
    if not elements:
        return None
    chains = [[e, *e.parents] for e in elements]
    first = chains[0]
    others = [{id(x) for x in chain} for chain in chains[1:]]
    for candidate in first:
        if all(id(candidate) in ids for ids in others) and isinstance(candidate, Tag):
            return candidate
    return None


def select(
    pieces: Sequence[Piece], result: str, originals: Sequence[str], *, rescue: bool = True
) -> list[bool]:
    """Which pieces the extractor's ``result`` keeps, with the in-article rescue rule.

    ``rescue=False`` gives the extractor's own choice (used to measure it alone).

    ``originals`` holds each piece's image address ("" for text pieces), as the
    page wrote it, so it can be compared with the extractor's output.
    """
    found, sources, headings = extracted_view(result)
    # Headings are matched as headings, not word by word: a heading often repeats the
    # words of its paragraph ("Ice" above "Ice helps"), which would confuse the alignment.
    texts = [[] if _is_heading(p) else words(_piece_text(p)) for p in pieces]
    keep = aligned(texts, found)
    for index, piece in enumerate(pieces):
        if _is_heading(piece):
            keep[index] = " ".join(words(_piece_text(piece))) in headings
    for index, source in enumerate(originals):
        if source:
            keep[index] = source in sources
    kept_at = [i for i, k in enumerate(keep) if k]
    if not kept_at or not rescue:
        return keep
    root = content_root(pieces, keep, texts)
    for index, piece in enumerate(pieces):
        if keep[index] or root is None:
            continue
        inside = any(a is root for a in piece.element.parents)
        if inside and not hint_of(piece.element, root):
            keep[index] = True
    return keep


def content_root(pieces: Sequence[Piece], keep: Sequence[bool],
                 texts: Sequence[list[str]]) -> Tag | None:
    """The deepest element holding at least :data:`ROOT_SHARE` of the kept words.

    A stray block the extractor kept elsewhere on the page (a sidebar line)
    does not widen the article's container to the whole page.
    """
    weights = [(p.element, max(1, len(t))) for p, k, t in zip(pieces, keep, texts, strict=True)
               if k]
    total = sum(w for _, w in weights)
    first = weights[0][0]
    for candidate in [first, *first.parents]:
        if not isinstance(candidate, Tag):
            continue
        held = sum(w for element, w in weights
                   if element is candidate or any(a is candidate for a in element.parents))
        if held >= ROOT_SHARE * total:
            return candidate
    return None


def _is_heading(piece: Piece) -> bool:
    return isinstance(piece.item, Unit) and piece.item.kind == "heading"


def _piece_text(piece: Piece) -> str:
    item = piece.item
    if isinstance(item, Unit) and item.kind == "block":
        return markdown_to_plain(item.text)
    return item.text


__all__ = ["DEFAULT_EXTRACTOR", "EXTRACTORS", "Extractor", "select", "words"]
