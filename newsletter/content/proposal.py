"""The import proposal: an article split into issues, what was dropped and why, what needs a look.

This is the pure heart of ``import-article`` and of the staff console's import
page: :func:`propose` turns a parsed article into an :class:`ImportProposal`
that can be shown *before anything is written* (each issue's title, word count
and flags; every dropped block with its reason and place; warnings about
images and links), then adjusted with the pure operations of
:mod:`newsletter.content.adjust` (merge, split), then written by
:mod:`newsletter.content.importer`.

A proposal is the article's content blocks in reading order plus **cuts**: the
block indices where issues start (always 0 first). Issue *k* is the blocks from
its cut to the next one. Its title is its first block when that is a heading
(except for a leading intro), else its first section heading, else the
article's title (for an issue staff split off between two paragraphs: the
heading above it with " (continued)"); the title block is not repeated in the body. Everything is
derived from blocks and cuts, so merging is removing a cut and splitting is
adding one: no content is ever moved or lost.

**Sections** (the default cuts) are at the highest heading level present, with
three exceptions, so a split follows the article's topics:

* a heading that introduces a summary box ("Key takeaways", "At a glance",
  "In brief", "Summary", "Quick facts", "TL;DR") stays inside the body as a
  sub-heading;
* under a "Frequently asked questions" heading, the question headings that
  follow (ending in "?") are sub-headings of that one issue, not one issue per
  question;
* a section heading with no text under it before the next one does not start
  an issue of its own;
* a heading that is alone at the highest level (a subtitle under the title, an
  "Overview") while two or more headings sit one level down: the split is made
  one level down, and the lone heading stays in the body;
* an article with a single section heading is one issue named after the
  article, the heading kept inside it.

The intro (blocks before the first section heading) opens issue 1.

**Pull quotes**: a short block (6 to 40 words) whose words appear, in order,
inside a longer block repeats the article and is dropped and reported.
"""

from __future__ import annotations

import itertools
import re
import statistics
from dataclasses import dataclass, replace

from newsletter.content.article import ArticleFormat, Dropped, ParsedSource, Unit
from newsletter.content.chrome import coalesce, drop_blocks, drop_regions, plain_of
from newsletter.content.links import absolutize_markdown, link_warnings
from newsletter.content.words import markdown_to_plain, word_count

SHORT_FRACTION = 0.4
LONG_FACTOR = 2.5
MIN_WORDS = 40
LONG_MIN_WORDS = 400
PULL_QUOTE_WORDS = (6, 40)
BOX_HEADINGS = re.compile(
    r"^(?:key (?:takeaways?|points|facts|messages)|takeaways?|at a glance|in brief|in short"
    r"|(?:in )?summary|quick facts|tl;?dr|the short version|what you need to know)\s*:?$",
    re.IGNORECASE,
)
FAQ_HEADINGS = re.compile(
    r"^(?:frequently asked questions|faqs?|common questions|your questions(?: answered)?"
    r"|questions (?:and|&) answers|q\s?&\s?a|questions patients (?:often )?ask)\s*:?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Block:
    """One content block in reading order; a heading has ``heading`` (its words) and ``level``.

    ``section`` marks the headings that start an issue in the default split.
    """

    markdown: str
    heading: str = ""
    level: int = 0
    seq: int = 0
    section: bool = False

    @property
    def words(self) -> int:
        """How many words a reader sees in this block."""
        return word_count(self.heading or markdown_to_plain(self.markdown))


@dataclass(frozen=True)
class ImportWarning:
    """Something in the content that staff should fix (an image without alt text...)."""

    kind: str
    message: str
    seq: int = 0


@dataclass(frozen=True)
class ProposedIssue:
    """One issue of the proposal: its number, title, blocks range, word count and flags."""

    number: int
    title: str
    start: int
    end: int
    title_at: int | None
    words: int
    flags: tuple[str, ...] = ()
    subheadings: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImportProposal:
    """An article split into issues, with everything dropped and every warning (module doc)."""

    title: str
    format: ArticleFormat
    blocks: tuple[Block, ...]
    cuts: tuple[int, ...]
    default_cuts: tuple[int, ...]
    issues: tuple[ProposedIssue, ...]
    dropped: tuple[Dropped, ...] = ()
    warnings: tuple[ImportWarning, ...] = ()
    base_url: str = ""
    base_from: str = ""
    notes: tuple[str, ...] = ()

    def issue(self, number: int) -> ProposedIssue:
        """Issue ``number`` (1-based)."""
        return self.issues[number - 1]

    def body_blocks(self, number: int) -> list[Block]:
        """The blocks of issue ``number``'s body (its title heading left out)."""
        issue = self.issue(number)
        return [b for i, b in enumerate(self.blocks[issue.start : issue.end], issue.start)
                if i != issue.title_at]

    def body(self, number: int) -> str:
        """Issue ``number``'s body as Markdown."""
        return "\n\n".join(b.markdown.strip() for b in self.body_blocks(number))

    def place(self, seq: int) -> str:
        """Where something at source position ``seq`` was: "top of the page", "issue N", "end"."""
        before = [i for i, b in enumerate(self.blocks) if b.seq < seq]
        if not before:
            return "top of the page"
        if before[-1] == len(self.blocks) - 1 and seq > self.blocks[-1].seq:
            return "end of the page"
        index = before[-1]
        for issue in self.issues:
            if issue.start <= index < issue.end:
                return f"issue {issue.number}"
        return "end of the page"

    def issue_number_at(self, seq: int) -> int | None:
        """The issue holding the block at source position ``seq`` (None if not a kept block)."""
        for index, block in enumerate(self.blocks):
            if block.seq == seq:
                for issue in self.issues:
                    if issue.start <= index < issue.end:
                        return issue.number
        return None


def _words_of(block: Block) -> list[str]:
    return re.findall(r"\w+", (block.heading or markdown_to_plain(block.markdown)).lower())


def drop_pull_quotes(blocks: list[Block]) -> tuple[list[Block], list[Dropped]]:
    """Remove short blocks that repeat words of a longer block (see the module docstring)."""
    texts = [" " + " ".join(_words_of(b)) + " " for b in blocks]
    kept: list[Block] = []
    dropped: list[Dropped] = []
    low, high = PULL_QUOTE_WORDS
    for index, block in enumerate(blocks):
        count = len(_words_of(block))
        repeats = (
            not block.heading
            and low <= count <= high
            and any(j != index and len(texts[j]) > len(texts[index]) and texts[index] in texts[j]
                    for j in range(len(blocks)))
        )
        if repeats:
            dropped.append(Dropped(markdown_to_plain(block.markdown), "pull quote (repeats the "
                                   "article)", 1, block.seq))
        else:
            kept.append(block)
    return kept, dropped


def _normal(text: str) -> str:
    return " ".join(text.casefold().split())


def section_blocks(blocks: list[Block]) -> list[Block]:
    """Mark section headings (the module's rules) and demote boxes and FAQ questions."""
    candidates = [i for i, b in enumerate(blocks)
                  if b.heading and not BOX_HEADINGS.match(b.heading)]
    if not candidates:
        return [_demoted(b, 0) if b.heading else b for b in blocks]
    levels = sorted({blocks[i].level for i in candidates})
    level = levels[0]
    at_top = [i for i in candidates if blocks[i].level == level]
    if len(at_top) == 1 and len(levels) > 1:
        deeper = [i for i in candidates if blocks[i].level == levels[1]]
        if len(deeper) >= 2:
            level = levels[1]  # a lone subtitle or "Overview" above the real sections
    staged: list[Block] = []
    in_faq = False
    for block in blocks:
        if not block.heading or block.level > level:
            staged.append(block)
        elif BOX_HEADINGS.match(block.heading) or (in_faq and block.heading.rstrip().endswith("?")):
            staged.append(_demoted(block, level))
        else:
            in_faq = bool(FAQ_HEADINGS.match(block.heading))
            staged.append(block)
    out: list[Block] = []
    for index, block in enumerate(staged):
        if block.heading and block.level == level:
            following = staged[index + 1] if index + 1 < len(staged) else None
            empty = following is None or (bool(following.heading) and following.level <= level)
            block = replace(block, section=not empty)
        out.append(block)
    if sum(b.section for b in out) == 1:
        # One section is no series: the article's title names the issue, the heading stays.
        out = [replace(b, section=False) for b in out]
    return out


def _demoted(block: Block, level: int) -> Block:
    deeper = max(level, block.level) + 1
    return replace(block, level=deeper, markdown=f"{'#' * min(deeper, 6)} {block.heading}",
                   section=False)


def default_cuts(blocks: list[Block]) -> tuple[int, ...]:
    """Issue starts of the default split: 0, then every section heading after the first."""
    heads = [i for i, b in enumerate(blocks) if b.section]
    cuts = [0]
    for head in heads[1:]:
        start = head
        # An empty heading just before a section goes with it, not at the end of the last issue.
        while start - 1 > cuts[-1] and blocks[start - 1].heading and not blocks[start - 1].section:
            start -= 1
        cuts.append(start)
    return tuple(cuts)


CONTINUED = " (continued)"


def _continued(title: str, blocks: tuple[Block, ...], start: int) -> str:
    """The title of an issue split off between paragraphs: the heading above it, continued."""
    for block in reversed(blocks[:start]):
        if block.heading:
            return block.heading + CONTINUED
    return (title or "Untitled") + CONTINUED


def _title_index(blocks: tuple[Block, ...], start: int, end: int) -> int | None:
    if blocks[start].heading and (start != 0 or blocks[start].section):
        return start
    for index in range(start, end):
        if blocks[index].section:
            return index
    return None


def build_issues(title: str, blocks: tuple[Block, ...], cuts: tuple[int, ...]) -> tuple[
        ProposedIssue, ...]:
    """The issues for ``cuts`` over ``blocks``: titles, word counts, quality flags."""
    bounds = [*cuts, len(blocks)]
    raw: list[ProposedIssue] = []
    for number, (start, end) in enumerate(itertools.pairwise(bounds), start=1):
        at = _title_index(blocks, start, end)
        body = [b for i, b in enumerate(blocks[start:end], start) if i != at]
        if at is not None:
            named = blocks[at].heading
        elif start > 0:
            named = _continued(title, blocks, start)  # split between paragraphs by staff
        else:
            named = title or "Untitled"
        raw.append(ProposedIssue(
            number=number,
            title=named,
            start=start,
            end=end,
            title_at=at,
            words=sum(b.words for b in body),
            subheadings=tuple(b.heading for b in body if b.heading),
        ))
    return tuple(replace(issue, flags=quality_flags(issue, raw)) for issue in raw)


def quality_flags(issue: ProposedIssue, issues: list[ProposedIssue]) -> tuple[str, ...]:
    """"short" or "long" compared with the series (fractions of the median word count)."""
    if len(issues) < 2:
        return ()
    median = statistics.median(i.words for i in issues)
    flags: list[str] = []
    if issue.words < MIN_WORDS or issue.words < SHORT_FRACTION * median:
        flags.append("short")
    if issue.words > LONG_FACTOR * median and issue.words > LONG_MIN_WORDS:
        flags.append("long")
    return tuple(flags)


def with_cuts(proposal: ImportProposal, cuts: tuple[int, ...]) -> ImportProposal:
    """``proposal`` split at ``cuts`` instead (issues, titles and flags recomputed)."""
    ordered = tuple(sorted(set(cuts) | {0}))
    return replace(proposal, cuts=ordered, issues=build_issues(proposal.title, proposal.blocks,
                                                               ordered))


def propose(parsed: ParsedSource) -> ImportProposal:
    """The import proposal for a parsed article: chrome dropped, links resolved, split made."""
    units = parsed.units()
    found = [item for item in parsed.items if isinstance(item, Dropped)]
    units, in_blocks = drop_blocks(units)
    units, in_regions = drop_regions(units)
    blocks: list[Block] = []
    warnings: list[ImportWarning] = []
    for unit in units:
        blocks.append(_block(unit, parsed.base_url))
        if unit.kind == "block":
            warnings += [ImportWarning(w.kind, w.message, unit.seq)
                         for w in link_warnings(blocks[-1].markdown)]
    blocks, quotes = drop_pull_quotes(blocks)
    quoted = {q.seq for q in quotes}
    warnings = [w for w in warnings if w.seq not in quoted]
    sectioned = tuple(section_blocks(blocks))
    cuts = default_cuts(list(sectioned)) if sectioned else (0,)
    dropped = coalesce([*found, *in_blocks, *in_regions, *quotes], [b.seq for b in sectioned])
    return ImportProposal(
        title=parsed.title,
        format=parsed.format,
        blocks=sectioned,
        cuts=cuts,
        default_cuts=cuts,
        issues=build_issues(parsed.title, sectioned, cuts) if sectioned else (),
        dropped=tuple(dropped),
        warnings=tuple(warnings),
        base_url=parsed.base_url,
        base_from=parsed.base_from,
        notes=tuple(parsed.notes),
    )


def _block(unit: Unit, base: str) -> Block:
    if unit.kind == "heading":
        return Block(unit.markdown, heading=plain_of(unit), level=unit.level, seq=unit.seq)
    return Block(absolutize_markdown(unit.text, base), seq=unit.seq)
