"""Merge and split a proposal's issues (pure), and the record that lets a re-import repeat them.

Staff fix a split without editing files: ``--merge 2,3`` joins issues 2 and 3
(the second one's heading stays in the body as a sub-heading), and
``--split-at "Heading text"`` starts a new issue at that heading (a
sub-heading, or the first section heading to give the intro an issue of its
own). The console can also split a long issue between two paragraphs
(:func:`split_before_paragraph`): the new issue has no heading of its own, so
it is called after the heading above it, "… (continued)", until staff give it
a title. All are operations on the proposal's cuts
(:mod:`newsletter.content.proposal`), so content is never moved or lost, and
the staff console offers the same operations before anything is written.

What staff changed is recorded as :class:`Adjustments`, by **heading text**,
not by number: headings that no longer start an issue (``joined``) and
headings that now do (``split_at``); a split between paragraphs is recorded by
the opening words of the paragraph that starts the new issue
(``split_at_paragraph``, :data:`OPENING_WORDS` words). A re-import of an edited article applies
them again where those headings still exist; a new section added to the
article splits as usual, and an adjustment whose heading is gone is reported,
not guessed.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from newsletter.content.proposal import ImportProposal, with_cuts
from newsletter.content.words import markdown_to_plain
from newsletter.errors import ContentError

OPENING_WORDS = 12


@dataclass(frozen=True)
class Adjustments:
    """Changes to the default split, by heading text (see the module docstring)."""

    joined: tuple[str, ...] = ()
    split_at: tuple[str, ...] = ()
    split_at_paragraph: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.joined or self.split_at or self.split_at_paragraph)


def _normal(text: str) -> str:
    return " ".join(text.casefold().split()).rstrip("?:.! ")


def find_heading(proposal: ImportProposal, heading: str) -> int | None:
    """The index of the first heading block whose words are ``heading`` (case and ?:. ignored)."""
    wanted = _normal(heading)
    for index, block in enumerate(proposal.blocks):
        if block.heading and _normal(block.heading) == wanted:
            return index
    return None


def _headings_listing(proposal: ImportProposal) -> str:
    names = [f"'{b.heading}'" for b in proposal.blocks if b.heading]
    return ", ".join(names) if names else "none"


def split_at(proposal: ImportProposal, heading: str) -> ImportProposal:
    """Start a new issue at the heading ``heading``; an error names the headings there are."""
    index = find_heading(proposal, heading)
    if index is None:
        raise ContentError(
            f"--split-at {heading!r}: the article has no such heading "
            f"(headings: {_headings_listing(proposal)})"
        )
    return split_before(proposal, index)


def split_before(proposal: ImportProposal, index: int) -> ImportProposal:
    """Start a new issue at block ``index``, which must be a heading not already starting one."""
    if not 0 <= index < len(proposal.blocks) or not proposal.blocks[index].heading:
        raise ContentError(f"block {index} is not a heading: an issue can only start at a heading")
    for issue in proposal.issues:
        if issue.start == index:
            raise ContentError(
                f"'{proposal.blocks[index].heading}' already starts issue {issue.number}"
            )
    if index == 0:
        raise ContentError(f"'{proposal.blocks[0].heading}' already starts issue 1")
    return with_cuts(proposal, (*proposal.cuts, index))


def opening(proposal: ImportProposal, index: int) -> str:
    """The first :data:`OPENING_WORDS` words of block ``index`` (records a paragraph split)."""
    words = markdown_to_plain(proposal.blocks[index].markdown).split()
    return " ".join(words[:OPENING_WORDS])


def find_paragraph(proposal: ImportProposal, words: str) -> int | None:
    """The index of the first paragraph (not a heading) whose opening words are ``words``."""
    wanted = _normal(words)
    if not wanted:
        return None
    for index, block in enumerate(proposal.blocks):
        if not block.heading and _normal(opening(proposal, index)) == wanted:
            return index
    return None


def split_before_paragraph(proposal: ImportProposal, index: int) -> ImportProposal:
    """Start a new issue at block ``index``: a paragraph (or any block) inside an issue.

    The issue before keeps everything above the block; the new issue begins
    with it. Splitting where an issue already starts, or before the first
    block, is refused with the issue's number.
    """
    if not 0 <= index < len(proposal.blocks):
        raise ContentError(
            f"there is no block {index} to split at (the article has {len(proposal.blocks)})"
        )
    for issue in proposal.issues:
        if issue.start == index:
            raise ContentError(f"issue {issue.number} already starts at that point")
    if proposal.blocks[index].heading:
        return split_before(proposal, index)
    return with_cuts(proposal, (*proposal.cuts, index))


def merge(proposal: ImportProposal, first: int, last: int) -> ImportProposal:
    """Join issues ``first`` to ``last`` (numbers as shown, 1-based, ``first`` < ``last``)."""
    count = len(proposal.issues)
    if not (1 <= first < last <= count):
        raise ContentError(
            f"--merge {first},{last}: give two or more issue numbers in order, "
            f"from 1 to {count} (the proposal has {count} issue{'s' if count != 1 else ''})"
        )
    removed = {proposal.issue(n).start for n in range(first + 1, last + 1)}
    return with_cuts(proposal, tuple(c for c in proposal.cuts if c not in removed))


_RANGE = re.compile(r"^\s*(\d+)\s*(?:-|,|\.\.)\s*(\d+)\s*$")


def parse_merge(text: str) -> tuple[int, int]:
    """``"2,3"``, ``"2,3,4"``, ``"2-4"`` → (first, last); numbers must be consecutive."""
    parts = [p.strip() for p in text.split(",")] if "," in text else []
    if len(parts) > 2:
        numbers = [int(p) for p in parts if p.isdigit()]
        consecutive = list(range(numbers[0], numbers[0] + len(numbers))) if numbers else []
        if len(numbers) != len(parts) or numbers != consecutive:
            raise ContentError(f"--merge {text!r}: issue numbers must be consecutive, like 2,3,4")
        return numbers[0], numbers[-1]
    match = _RANGE.match(text)
    if not match:
        raise ContentError(f"--merge {text!r}: write the issues to join like 2,3 or 2-4")
    first, last = int(match.group(1)), int(match.group(2))
    if last != first + 1 and "," in text:
        raise ContentError(f"--merge {text!r}: issue numbers must be consecutive, like 2,3")
    return first, last


def merge_all(proposal: ImportProposal, ranges: Sequence[tuple[int, int]]) -> ImportProposal:
    """Apply several merges whose numbers all refer to ``proposal`` as shown (not overlapping)."""
    ordered = sorted(ranges, reverse=True)
    for (a_first, _), (b_first, b_last) in itertools.pairwise(ordered):
        if b_last >= a_first:
            raise ContentError(f"--merge {b_first},{b_last} overlaps another --merge")
    for first, last in ordered:
        proposal = merge(proposal, first, last)
    return proposal


def adjustments_of(proposal: ImportProposal) -> Adjustments:
    """How ``proposal``'s cuts differ from its default split, by heading text."""
    now, default = set(proposal.cuts), set(proposal.default_cuts)
    blocks = proposal.blocks
    return Adjustments(
        joined=tuple(blocks[c].heading for c in sorted(default - now) if blocks[c].heading),
        split_at=tuple(blocks[c].heading for c in sorted(now - default) if blocks[c].heading),
        split_at_paragraph=tuple(opening(proposal, c) for c in sorted(now - default)
                                 if not blocks[c].heading),
    )


def apply(proposal: ImportProposal, adjustments: Adjustments) -> tuple[ImportProposal, list[str]]:
    """Re-apply recorded adjustments; returns the proposal and what no longer applies."""
    cuts = set(proposal.cuts)
    problems: list[str] = []
    for heading in adjustments.joined:
        index = find_heading(proposal, heading)
        if index is None or index not in cuts or index == 0:
            problems.append(f"the recorded merge at '{heading}' no longer applies "
                            "(the article has no issue starting there)")
        else:
            cuts.discard(index)
    for heading in adjustments.split_at:
        index = find_heading(proposal, heading)
        if index is None or index == 0:
            problems.append(f"the recorded split at '{heading}' no longer applies "
                            "(the article has no such heading)")
        else:
            cuts.add(index)
    for words in adjustments.split_at_paragraph:
        index = find_paragraph(proposal, words)
        if index is None or index == 0:
            problems.append(f"the recorded split before the paragraph '{words}…' no longer "
                            "applies (the article has no paragraph starting that way)")
        else:
            cuts.add(index)
    return with_cuts(proposal, tuple(cuts)), problems
