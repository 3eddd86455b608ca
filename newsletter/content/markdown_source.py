"""Markdown → :class:`Article`, keeping the author's Markdown exactly.

The source is parsed with markdown-it-py only to find where each top-level block
starts and ends (``token.map`` line ranges); each block's text is then sliced
from the source, so emphasis style, link references and line breaks survive as
written. Lines no token covers (link reference definitions, for instance) are
kept as blocks where they stand: nothing is dropped.

The first level-1 heading is the title (text before it is intro). Sections
split at the highest heading level that occurs after the title; deeper headings
stay in the section body. A YAML front matter block (``---`` ... ``---``) at the
top is skipped, and its ``title`` is used when there is no level-1 heading.
"""

from __future__ import annotations

import re

import yaml
from markdown_it import MarkdownIt

from newsletter.content.article import Article, Unit, build_article
from newsletter.content.chrome import strip_trailing_chrome

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)


def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


def _front_matter_title(text: str) -> tuple[str, str]:
    """(title from front matter or "", the text with front matter replaced by blank lines)."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return "", text
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        return "", text  # not front matter after all: parse it as Markdown
    title = str(data.get("title", "")).strip() if isinstance(data, dict) else ""
    # Blank lines keep line numbers aligned with the original file.
    return title, "\n" * match.group(0).count("\n") + text[match.end() :]


def _slice(lines: list[str], start: int, end: int) -> str:
    return "\n".join(lines[start:end]).strip("\n").rstrip()


def markdown_units(text: str) -> tuple[str, list[Unit]]:
    """The first h1's text (or "") and the units after it, sliced from the source."""
    lines = text.splitlines()
    tokens = _parser().parse(text)
    title = ""
    units: list[Unit] = []
    covered_to = 0

    def keep_uncovered(upto: int) -> None:
        # Lines no token claimed (e.g. link reference definitions) stay where they were.
        chunk: list[str] = []
        for line in [*lines[covered_to:upto], ""]:
            if line.strip():
                chunk.append(line)
            elif chunk:
                units.append(Unit.block("\n".join(chunk)))
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
        else:
            block = _slice(lines, start, end)
            if block.strip():
                units.append(Unit.block(block))
    keep_uncovered(len(lines))
    return title, units


def parse_markdown(text: str) -> Article:
    """Parse Markdown into an Article: first h1 as title, sections, trailing chrome removed."""
    front_title, body = _front_matter_title(text)
    title, units = markdown_units(body)
    kept, dropped = strip_trailing_chrome(units)
    return build_article(title or front_title, kept, "markdown", dropped)
