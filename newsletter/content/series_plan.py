"""Article → the issue files of a series (pure: returns names and texts, writes nothing).

Rules (documented here because staff see their effects):

* **One issue per section**, in order, numbered from 1. The intro (text before
  the first heading) opens issue 1. An article without headings becomes a single
  issue titled with the article's title.
* **File name**: ``NN-<slug>.md``, ``NN`` two digits (three from 100 issues),
  the slug from the heading by python-slugify (at most 60 characters, cut at a
  word; ``issue`` if nothing is left).
* **title**: the section heading.
* **subject**: the section heading, followed by `` (part N of M)`` when the
  series has more than one issue, so the topic comes first in the inbox.
* **preheader**: the first sentence of the section's first prose block (the
  intro's when the section has none), as plain words, cut at a word boundary to
  at most :data:`PREHEADER_MAX` characters with an ellipsis.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slugify import slugify

from newsletter.content.article import Article, Section
from newsletter.content.issuefile import format_issue
from newsletter.content.words import cut_at_word, first_sentence, markdown_to_plain

PREHEADER_MAX = 110
SLUG_MAX = 60


@dataclass(frozen=True)
class PlannedIssue:
    """One issue file to write: its name, front matter fields, body and full text."""

    position: int
    filename: str
    title: str
    subject: str
    preheader: str
    body: str
    text: str


def issue_filename(position: int, heading: str, total: int) -> str:
    """``NN-<slug>.md`` for the issue at ``position`` of ``total``."""
    width = 3 if total >= 100 else 2
    slug = slugify(heading, max_length=SLUG_MAX, word_boundary=True) or "issue"
    return f"{position:0{width}d}-{slug}.md"


def subject_for(heading: str, position: int, total: int) -> str:
    """The subject rule: the heading, then "(part N of M)" when there are several issues."""
    return heading if total == 1 else f"{heading} (part {position} of {total})"


def preheader_for(blocks: Sequence[str], fallback: Sequence[str] = ()) -> str:
    """The preheader rule: first sentence of the first prose block, cut under the limit."""
    for block in [*blocks, *fallback]:
        if block.lstrip().startswith(("#", "```", "~~~", "|", "<")):
            continue  # a sub-heading, code, a table or raw HTML is not prose
        plain = markdown_to_plain(block)
        if plain:
            return cut_at_word(first_sentence(plain), PREHEADER_MAX)
    return ""


def plan_series(article: Article) -> list[PlannedIssue]:
    """The issue files for ``article``, one per section, the intro in the first."""
    sections = article.sections or [Section(heading=article.title or "Untitled", blocks=[])]
    total = len(sections)
    planned: list[PlannedIssue] = []
    for position, section in enumerate(sections, start=1):
        blocks = list(section.blocks)
        if position == 1:
            blocks = [*article.intro, *blocks]
        body = "\n\n".join(block.strip() for block in blocks)
        preheader = preheader_for(section.blocks, article.intro if position == 1 else [])
        subject = subject_for(section.heading, position, total)
        front: dict[str, Any] = {
            "title": section.heading,
            "subject": subject,
            "preheader": preheader,
            "position": position,
        }
        planned.append(
            PlannedIssue(
                position=position,
                filename=issue_filename(position, section.heading, total),
                title=section.heading,
                subject=subject,
                preheader=preheader,
                body=body,
                text=format_issue(front, body),
            )
        )
    return planned
