"""Proposal → the issue files of a series (pure: returns names and texts, writes nothing).

Rules (documented here because staff see their effects):

* **One file per proposed issue**, in order, numbered from 1 (see
  :mod:`newsletter.content.proposal` for how the article is split).
* **File name**: ``NN-<slug>.md``, ``NN`` two digits (three from 100 issues),
  the slug from the issue's title by python-slugify (at most 60 characters,
  cut at a word; ``issue`` if nothing is left).
* **title**: the issue's title (its heading).
* **subject**: the title, then the series title
  (:func:`~newsletter.content.subjects.default_subject`); no part number: that
  is added when the issue is rendered, from the series as it is then.
* **preheader**: the first sentence of the issue's first prose block (not a
  list, quote, table, image or sub-heading; the section's own text before the
  series intro), as plain words, cut at a word boundary to at most :data:`PREHEADER_MAX` characters
  with an ellipsis; a lead-in ending with ":" is skipped when a later
  sentence exists, because an inbox preview that ends in a colon reads cut off.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slugify import slugify

from newsletter.content.issuefile import format_issue
from newsletter.content.proposal import ImportProposal
from newsletter.content.subjects import default_subject, subject_line
from newsletter.content.words import cut_at_word, first_sentence, markdown_to_plain

PREHEADER_MAX = 110
SLUG_MAX = 60
SUBJECT_COMFORT = 70


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


_NOT_PROSE = ("#", "```", "~~~", "|", "<", "![", ">")
_LIST = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s")


def preheader_for(blocks: Sequence[str], fallback: Sequence[str] = ()) -> str:
    """The preheader rule: first sentence of the first prose block, cut under the limit."""
    lead_in = ""
    for block in [*blocks, *fallback]:
        if block.lstrip().startswith(_NOT_PROSE) or _LIST.match(block):
            continue  # a sub-heading, code, a table, raw HTML, an image or a list is not prose
        plain = markdown_to_plain(block)
        if not plain:
            continue
        sentence = first_sentence(plain)
        if sentence.rstrip().endswith(":") and not lead_in:
            lead_in = sentence
            continue
        return cut_at_word(sentence, PREHEADER_MAX)
    return cut_at_word(lead_in, PREHEADER_MAX)


def subject_warnings(planned: Sequence[PlannedIssue]) -> list[str]:
    """Subjects that will be cut off in most inboxes once the part number is added (one note)."""
    total = len(planned)
    long = [(issue.position, len(subject_line(issue.subject, issue.position, total)))
            for issue in planned]
    long = [(n, length) for n, length in long if length > SUBJECT_COMFORT]
    if not long:
        return []
    numbers = ", ".join(str(n) for n, _ in long)
    lengths = sorted(length for _, length in long)
    span = f"{lengths[0]}" if lengths[0] == lengths[-1] else f"{lengths[0]} to {lengths[-1]}"
    which = f"issue {numbers}" if len(long) == 1 else f"issues {numbers}"
    return [
        f"the subjects of {which} are {span} characters with the part number; inboxes show "
        f"about {SUBJECT_COMFORT}: give the series a shorter title (--title) or edit the subjects"
    ]


def plan_series(proposal: ImportProposal, series_title: str) -> list[PlannedIssue]:
    """The issue files for ``proposal``, one per proposed issue."""
    total = len(proposal.issues)
    planned: list[PlannedIssue] = []
    for issue in proposal.issues:
        # The heading's own text first: the intro in issue 1 is about the whole series.
        at = issue.title_at if issue.title_at is not None else issue.start - 1
        after = [b.markdown for b in proposal.blocks[at + 1 : issue.end]]
        before = [b.markdown for b in proposal.blocks[issue.start : max(at, issue.start)]]
        body = proposal.body(issue.number)
        preheader = preheader_for(after, before)
        subject = default_subject(issue.title, series_title)
        front: dict[str, Any] = {
            "title": issue.title,
            "subject": subject,
            "preheader": preheader,
            "position": issue.number,
        }
        planned.append(
            PlannedIssue(
                position=issue.number,
                filename=issue_filename(issue.number, issue.title, total),
                title=issue.title,
                subject=subject,
                preheader=preheader,
                body=body,
                text=format_issue(front, body),
            )
        )
    return planned
