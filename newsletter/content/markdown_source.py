"""Markdown → :class:`Article`, keeping the author's Markdown exactly.

The source is parsed with markdown-it-py only to find where each top-level block
starts and ends (``token.map`` line ranges); each block's text is then sliced
from the source, so emphasis style, link references and line breaks survive as
written. Lines no token covers (link reference definitions, for instance) are
kept as blocks where they stand: nothing is dropped.

The first level-1 heading is the title (text before it is intro). A YAML front
matter block (``---`` ... ``---``) at the top, as CMS exports write it, is
skipped; its ``title`` is used when there is no level-1 heading, and its
``canonical_url`` (or ``canonical``, ``url``, ``permalink``, ``link``), when an
absolute web address, is the article's address for resolving relative links.

Reference-style links (``[text][label]`` with ``[label]: /url`` at the end of
the file) are rewritten as inline links, because the split puts the
definition and its uses in different issue files.

Raw HTML blocks (a ``<figure>``, a ``<div class="callout">``, an embedded
video) are converted to Markdown like a web page's blocks
(:mod:`newsletter.content.html_blocks`), because an email shows raw HTML as
text; embedded media that an email cannot show is dropped and reported.
"""

from __future__ import annotations

import re
from dataclasses import replace

import yaml
from markdown_it import MarkdownIt

from newsletter.content.article import Dropped, ParsedSource, Unit, numbered
from newsletter.content.html_blocks import fragment_pieces
from newsletter.content.links import choose_base, is_web_address
from newsletter.content.page_regions import hint_of

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)


def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


URL_KEYS = ("canonical_url", "canonical", "url", "permalink", "link", "source_url")


def _front_matter(text: str) -> tuple[str, str, str]:
    """(title, address from front matter, the text with front matter replaced by blank lines)."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return "", "", text
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        return "", "", text  # not front matter after all: parse it as Markdown
    if not isinstance(data, dict):
        return "", "", text
    title = str(data.get("title", "") or "").strip()
    address = next((str(data[k]).strip() for k in URL_KEYS
                    if isinstance(data.get(k), str) and is_web_address(data[k])), "")
    # Blank lines keep line numbers aligned with the original file.
    return title, address, "\n" * match.group(0).count("\n") + text[match.end() :]


_DEFINITION = re.compile(
    r"""^[ ]{0,3}\[([^\]]+)\]:[ \t]*<?([^\s>]+)>?(?:[ \t]+["'(](.*)["')])?[ \t]*$"""
)
_FULL_REF = re.compile(r"(!?)\[((?:[^\[\]]|\[[^\]]*\])*)\][ ]?\[([^\]]*)\]")
_SHORT_REF = re.compile(r"(!?)\[([^\[\]]+)\](?![\[(:])")


def _label(text: str) -> str:
    return " ".join(text.casefold().split())


def definitions(lines: list[str]) -> dict[str, tuple[str, str]]:
    """Link reference definitions: normalised label → (address, title)."""
    found: dict[str, tuple[str, str]] = {}
    for line in lines:
        match = _DEFINITION.match(line)
        if match:
            found.setdefault(_label(match.group(1)), (match.group(2), match.group(3) or ""))
    return found


def inline_references(block: str, refs: dict[str, tuple[str, str]]) -> str:
    """``block`` with reference links that have a definition written as inline links."""
    if not refs:
        return block

    def inline(bang: str, text: str, label: str) -> str | None:
        target = refs.get(_label(label))
        if target is None:
            return None
        url, title = target
        title_part = f' "{title}"' if title else ""
        return f"{bang}[{text}]({url}{title_part})"

    def full(match: re.Match[str]) -> str:
        label = match.group(3) or match.group(2)
        return inline(match.group(1), match.group(2), label) or match.group(0)

    def short(match: re.Match[str]) -> str:
        return inline(match.group(1), match.group(2), match.group(2)) or match.group(0)

    return _SHORT_REF.sub(short, _FULL_REF.sub(full, block))


def _slice(lines: list[str], start: int, end: int) -> str:
    return "\n".join(lines[start:end]).strip("\n").rstrip()


def markdown_units(text: str, base: str = "") -> tuple[str, list[Unit | Dropped]]:
    """The first h1's text (or "") and the units after it, sliced from the source."""
    lines = text.splitlines()
    tokens = _parser().parse(text)
    refs = definitions(lines)
    title = ""
    units: list[Unit | Dropped] = []
    covered_to = 0

    def keep_uncovered(upto: int) -> None:
        # Lines no token claimed stay where they were; reference definitions are
        # already inlined into the links that use them.
        chunk: list[str] = []
        for line in [*lines[covered_to:upto], ""]:
            if line.strip() and not (refs and _DEFINITION.match(line)):
                chunk.append(line)
            elif chunk:
                units.append(Unit.block(inline_references("\n".join(chunk), refs)))
                chunk = []

    for index, token in enumerate(tokens):
        if token.level != 0 or token.map is None or token.nesting == -1:
            continue
        start, end = token.map
        keep_uncovered(start)
        covered_to = max(covered_to, end)
        if token.type == "heading_open":
            inline = tokens[index + 1]
            heading_text = inline.content.strip()
            level = int(token.tag[1])
            if level == 1 and not title:
                title = heading_text
                continue
            units.append(Unit.heading(heading_text, level, _slice(lines, start, end)))
        elif token.type == "html_block":
            for piece in fragment_pieces(_slice(lines, start, end), base):
                item = piece.item
                # A signup box or share bar written as HTML names itself by its class.
                hint = hint_of(piece.element, None)
                units.append(replace(item, hint=hint) if isinstance(item, Unit) and hint else item)
        else:
            block = _slice(lines, start, end)
            if block.strip():
                units.append(Unit.block(inline_references(block, refs)))
    keep_uncovered(len(lines))
    return title, units


def parse_markdown(text: str, *, source_url: str = "") -> ParsedSource:
    """Parse Markdown: first h1 (or the front matter's) as title, then units in order."""
    front_title, address, body = _front_matter(text)
    base, base_from = choose_base(source_url, "", address, "front matter")
    title, units = markdown_units(body, base)
    return ParsedSource(title=title or front_title, items=numbered(units), format="markdown",
                        base_url=base, base_from=base_from)
