"""The common result of every article parser, and the step that groups headings into sections.

Each format parser (plain text, Markdown, HTML) turns its input into a title and
a flat stream of :class:`Unit` values (headings and Markdown blocks, in order).
:func:`build_article` then splits that stream into an intro and sections at the
highest heading level that occurs; deeper headings stay inside the section body
as Markdown. Nothing here reads files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

ArticleFormat = Literal["text", "markdown", "html"]


@dataclass(frozen=True)
class Unit:
    """One item of a parsed article: a heading (with its level) or a Markdown block.

    ``text`` is the plain wording (a heading's title, a block's Markdown);
    ``markdown`` is what to put in a body when a heading does not start a section.
    """

    kind: Literal["heading", "block"]
    text: str
    level: int = 0
    markdown: str = ""

    @staticmethod
    def block(markdown: str) -> Unit:
        """A body block (paragraph, list, quote, code...) as Markdown."""
        return Unit("block", markdown, 0, markdown)

    @staticmethod
    def heading(text: str, level: int, markdown: str | None = None) -> Unit:
        """A heading of ``level`` (1 = top); ``markdown`` is its source form, if any."""
        return Unit("heading", text, level, markdown or f"{'#' * max(level, 1)} {text}")


@dataclass(frozen=True)
class Section:
    """A heading and the Markdown blocks under it (up to the next heading of its level)."""

    heading: str
    blocks: list[str]


@dataclass(frozen=True)
class Article:
    """An article reduced to what the newsletter needs.

    ``intro`` is what comes before the first section heading; ``dropped`` lists the
    page-chrome blocks removed from the end (shown to the user, never silently lost).
    An article without headings has no sections: it becomes a single issue.
    """

    title: str
    intro: list[str]
    sections: list[Section]
    format: ArticleFormat
    dropped: list[str] = field(default_factory=list)

    def content_blocks(self) -> list[str]:
        """Every body block in reading order (intro first); headings not included."""
        blocks = list(self.intro)
        for section in self.sections:
            blocks.extend(section.blocks)
        return blocks


def build_article(
    title: str,
    units: Sequence[Unit],
    fmt: ArticleFormat,
    dropped: Sequence[str] = (),
) -> Article:
    """Group ``units`` into intro and sections at the highest heading level present."""
    levels = [u.level for u in units if u.kind == "heading"]
    split_level = min(levels) if levels else None
    intro: list[str] = []
    sections: list[Section] = []
    for unit in units:
        if unit.kind == "heading" and unit.level == split_level:
            sections.append(Section(heading=unit.text, blocks=[]))
            continue
        # Deeper headings stay in the body as Markdown, so nothing is lost.
        markdown = unit.markdown if unit.kind == "heading" else unit.text
        (sections[-1].blocks if sections else intro).append(markdown)
    return Article(title=title, intro=intro, sections=sections, format=fmt, dropped=list(dropped))
