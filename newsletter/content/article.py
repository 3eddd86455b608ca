"""What every article parser returns: a title and an ordered stream of units and dropped blocks.

Each format parser (plain text, Markdown, HTML) turns its input into a
:class:`ParsedSource`: the title, and, in reading order, :class:`Unit` values
(headings and Markdown blocks) interleaved with :class:`Dropped` entries for the
page furniture the parser itself left out (navigation, sidebars, comment
sections...). Everything after that (chrome found inside the article, links,
sections, the split) is format-independent and lives in
:mod:`newsletter.content.proposal`. Nothing here reads files.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

ArticleFormat = Literal["text", "markdown", "html"]


@dataclass(frozen=True)
class Unit:
    """One item of a parsed article: a heading (with its level) or a Markdown block.

    ``text`` is the plain wording of a heading, or a block's Markdown;
    ``markdown`` is what to put in a body when a heading does not start an issue;
    ``hint`` is a reason the source itself gives for calling the unit page
    chrome (an HTML class such as ``share-buttons``), "" when it gives none;
    ``seq`` is the unit's place in the source, so dropped blocks can be located.
    """

    kind: Literal["heading", "block"]
    text: str
    level: int = 0
    markdown: str = ""
    hint: str = ""
    seq: int = 0

    @staticmethod
    def block(markdown: str, hint: str = "") -> Unit:
        """A body block (paragraph, list, quote, table, image...) as Markdown."""
        return Unit("block", markdown, 0, markdown, hint)

    @staticmethod
    def heading(text: str, level: int, markdown: str | None = None, hint: str = "") -> Unit:
        """A heading of ``level`` (1 = top); ``markdown`` is its source form, if any."""
        return Unit("heading", text, level, markdown or f"{'#' * max(level, 1)} {text}", hint)


@dataclass(frozen=True)
class Dropped:
    """Something the import left out of the issues, and why (always shown to staff).

    ``text`` is the wording (the first block of a group), ``count`` how many
    blocks the entry stands for, ``seq`` where it was in the source (see
    :class:`Unit`) and ``until`` the ``seq`` of the last unit of a region
    (-1 for a single block). ``details`` holds the wording of every block of a
    group, so a report can list each one.
    """

    text: str
    reason: str
    count: int = 1
    seq: int = 0
    until: int = -1
    details: tuple[str, ...] = ()

    @property
    def texts(self) -> tuple[str, ...]:
        """The wording of every block this entry stands for (at least its first)."""
        return self.details or (self.text,)


@dataclass(frozen=True)
class ParsedSource:
    """A parser's result: the title, units and parser-dropped blocks in reading order.

    ``base_url`` is an absolute address the source names for itself (an HTML
    ``<base href>`` or canonical link, a ``canonical_url`` in Markdown front
    matter), and ``base_from`` says which, so relative links can be resolved.
    """

    title: str
    items: list[Unit | Dropped]
    format: ArticleFormat
    base_url: str = ""
    base_from: str = ""
    notes: list[str] = field(default_factory=list)

    def units(self) -> list[Unit]:
        """The units only (headings and blocks), in order."""
        return [item for item in self.items if isinstance(item, Unit)]


def numbered(items: list[Unit | Dropped]) -> list[Unit | Dropped]:
    """``items`` with ``seq`` set to each one's place in the list (0, 1, 2...)."""
    return [replace(item, seq=index) for index, item in enumerate(items)]
