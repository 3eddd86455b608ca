"""Plain text copied from a web page → :class:`~newsletter.content.article.ParsedSource`.

**Title.** The first non-empty line that is not page chrome (a breadcrumb
trail or a cookie notice copied along with the article is skipped and
reported), if it is at most :data:`TITLE_MAX_CHARS` characters long;
otherwise the article has no title (the caller asks for one) and that line is
content.

**Blocks.** Blank lines separate chunks. Inside a chunk, lines are either
hard-wrapped prose (most line breaks fall mid-sentence before a lowercase word:
the lines are joined into one paragraph) or one paragraph per line, which is
what a browser's copy gives (each line is its own block). Consecutive list
lines ("- ", "* ", "• ", "1. ", "1) ") form one Markdown list; "•" becomes "-".
Consecutive lines with tabs between cells (a table copied from a browser) form
one Markdown table, the first line its header.

**Chrome** (bylines, share lines, tag lists, calls to action...: see
:mod:`newsletter.content.chrome`) is removed block by block *before* headings
are looked for, because such lines are heading-shaped ("Share this: Facebook
Twitter").

**Headings** are recognised by shape. A block is a section heading when all of:

1. it is one line of at most :data:`HEADING_MAX_WORDS` words and
   :data:`HEADING_MAX_CHARS` characters;
2. it starts with a capital letter (so "news via inbox" and list items such as
   "- ice" or "2. Rest" never qualify);
3. it does not end with ``. , ; : !`` or a closing quote after them (a sentence
   or a lead-in to a list); a question mark is allowed: "What Causes It?" is a
   heading;
4. it is followed by a block that is not heading-shaped (a heading has a body,
   so a short last line stays text);
5. among consecutive heading-shaped blocks (a *run*, typically a list whose
   bullets were lost in the copy) only the last can be a heading:

   * after a lead-in ending with ``:`` ("Common causes include:"), a run of two
     or more is a list (one Markdown list block), and its last line is a
     heading only if it stands out from the items: it ends with ``?`` when
     they do not, or it is Title Case when none of them is; a run of **one**
     after a lead-in is a heading (the intro "...can provide relief:" followed
     by "What Is Chronic Pain?" and a paragraph);
   * otherwise a run of one is a heading, and in a longer run the last line is
     a heading only if it looks like a title: it ends with ``?`` or every word
     of four or more letters is capitalised ("Spinal Cord Stimulation", not
     "Nerve damage"); when it is, a line of the run in CAPITALS, or an
     "FAQ"/"Key takeaways" line, is a heading too (a section title right above
     its first sub-heading).

**Levels.** When two or more headings are in CAPITALS and others are not
(hospital pages often style section titles in capitals and sub-sections in
Title Case), the capitalised ones are sections (level 2) and the others
sub-headings (level 3); otherwise every heading is level 2.

Limitations: a short capitalised sentence without final punctuation, standing
alone before a paragraph, reads as a heading; levels of nested headings are
lost in a copy unless capitals tell them apart.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import replace

from newsletter.content.article import Dropped, ParsedSource, Unit, numbered
from newsletter.content.chrome import drop_blocks
from newsletter.content.chrome_rules import block_reason

TITLE_MAX_CHARS = 200
HEADING_MAX_WORDS = 12
HEADING_MAX_CHARS = 90

_LIST_ITEM = re.compile(r"^\s*(?:[-*•‣◦]|\d{1,3}[.)])\s+")
_SENTENCE_END = re.compile(r"[.!?…:;][\"'”’)\]]*$")
_NOT_HEADING_END = re.compile(r"[.,;:!…*][\"'”’)\]]*$")
_TABLE_CELLS = re.compile(r"\t+")
_OPENS_SUBSECTIONS = re.compile(
    r"^(?:frequently asked questions|faqs?|common questions|questions (?:and|&) answers"
    r"|key takeaways|at a glance|in brief|summary)$",
    re.IGNORECASE,
)


def _is_list_item(line: str) -> bool:
    return bool(_LIST_ITEM.match(line))


def _list_markdown(line: str) -> str:
    stripped = line.strip()
    if stripped[0] in "•‣◦*":
        return "- " + stripped[1:].strip()
    return stripped


def heading_shaped(line: str) -> bool:
    """Rules 1–3 of the module docstring: could this single line be a heading?"""
    text = line.strip()
    if not text or "\n" in text or _is_list_item(text):
        return False
    if len(text) > HEADING_MAX_CHARS or len(text.split()) > HEADING_MAX_WORDS:
        return False
    if not text[0].isupper():
        return False
    return not _NOT_HEADING_END.search(text)


def _table_markdown(rows: list[str]) -> str:
    """Tab-separated lines as a Markdown table (a single row stays a paragraph)."""
    cells = [[c.strip().replace("|", "\\|") for c in _TABLE_CELLS.split(r.strip())] for r in rows]
    if len(cells) < 2:
        return " ".join(cells[0])
    width = max(len(row) for row in cells)
    cells = [row + [""] * (width - len(row)) for row in cells]
    lines = ["| " + " | ".join(cells[0]) + " |", "|" + " --- |" * width]
    lines += ["| " + " | ".join(row) + " |" for row in cells[1:]]
    return "\n".join(lines)


def _continues(line: str, following: str) -> bool:
    """A soft wrap: the line stops mid-sentence and the next one goes on in lowercase."""
    return not _SENTENCE_END.search(line) and following[:1].islower()


def _chunk_blocks(lines: list[str]) -> list[str]:
    """Split one blank-line-free chunk into Markdown blocks (paragraphs and lists)."""
    pairs = list(itertools.pairwise(lines))
    wraps = sum(1 for a, b in pairs if _continues(a, b) and not _is_list_item(b))
    wrapped_prose = bool(pairs) and wraps * 2 >= len(pairs)
    blocks: list[str] = []
    current: list[str] = []
    table: list[str] = []
    in_list = False

    def flush() -> None:
        nonlocal in_list
        if current:
            blocks.append(("\n" if in_list else " ").join(current))
        current.clear()
        in_list = False

    for index, line in enumerate(lines):
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if "\t" in line.strip():
            if not table:
                flush()
            table.append(line)
            if "\t" not in following.strip():
                blocks.append(_table_markdown(table))
                table.clear()
            continue
        if _is_list_item(line):
            if not in_list:
                flush()
                in_list = True
            current.append(_list_markdown(line))
            continue
        if in_list:
            if current and not _SENTENCE_END.search(current[-1]) and line[:1].islower():
                current[-1] += " " + line.strip()  # a wrapped list item
                continue
            flush()
        current.append(line.strip())
        ends_here = not wrapped_prose and not _continues(line, following)
        heading_first = (
            wrapped_prose and len(current) == 1 and heading_shaped(line) and following[:1].isupper()
        )
        if ends_here or heading_first or not following:
            flush()
    flush()
    return blocks


def split_blocks(text: str) -> list[str]:
    """The Markdown blocks of plain ``text`` in order (see the module docstring)."""
    blocks: list[str] = []
    chunk: list[str] = []
    for raw in text.splitlines():
        line = raw.replace("\u00a0", " ").rstrip()
        if line.strip():
            chunk.append(line)
        elif chunk:
            blocks.extend(_chunk_blocks(chunk))
            chunk = []
    if chunk:
        blocks.extend(_chunk_blocks(chunk))
    return _join_lists(blocks)


def _list_kind(block: str) -> str:
    """"bullet" or "number" when every line of ``block`` is a list item of that kind, else ""."""
    lines = block.splitlines()
    if all(line.startswith("- ") for line in lines):
        return "bullet"
    if all(re.match(r"^\d{1,3}[.)]\s", line) for line in lines):
        return "number"
    return ""


def _join_lists(blocks: list[str]) -> list[str]:
    """Join list items that a copy separated with blank lines ("1. …", blank, "2. …")."""
    joined: list[str] = []
    for block in blocks:
        kind = _list_kind(block)
        if kind and joined and _list_kind(joined[-1]) == kind:
            joined[-1] += "\n" + block
        else:
            joined.append(block)
    return joined


def _take_title(text: str) -> tuple[str, str, list[Dropped]]:
    """(title, the text after it, chrome lines skipped before it)."""
    lines = text.splitlines()
    skipped: list[Dropped] = []
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            continue
        reason = block_reason(stripped)
        if reason is not None:
            skipped.append(Dropped(stripped, reason))
            continue
        if len(stripped) > TITLE_MAX_CHARS:
            return "", "\n".join(lines[index:]), skipped
        return stripped, "\n".join(lines[index + 1 :]), skipped
    return "", "", skipped


def looks_like_title(line: str) -> bool:
    """A question, or Title Case: every word of four or more letters starts with a capital."""
    text = line.strip()
    if text.endswith("?"):
        return True
    long_words = [w for w in re.findall(r"[^\W\d_][\w'’-]*", text) if len(w) >= 4]
    return all(word[0].isupper() for word in long_words)


def _title_case(line: str) -> bool:
    """Title Case shown by at least two long words ("Arthritis" alone proves nothing)."""
    long_words = [w for w in re.findall(r"[^\W\d_][\w'’-]*", line) if len(w) >= 4]
    return len(long_words) >= 2 and all(word[0].isupper() for word in long_words)


def _stands_out(last: str, items: list[str]) -> bool:
    """After a lead-in, whether the last line of a run differs from the list items before it."""
    if last.rstrip().endswith("?") and not any(i.rstrip().endswith("?") for i in items):
        return True
    return _title_case(last) and not any(_title_case(i) for i in items)


def classify(units: list[Unit]) -> list[Unit]:
    """Mark the blocks that are headings (rules 4-5 above); lost-bullet runs become lists.

    Every unit keeps its ``seq``; a list made of several lines takes the first one's.
    """
    texts = [u.text for u in units]
    shaped = [heading_shaped(t) for t in texts]
    out: list[Unit] = []
    index = 0
    while index < len(units):
        if not shaped[index]:
            out.append(units[index])
            index += 1
            continue
        end = index
        while end + 1 < len(units) and shaped[end + 1]:
            end += 1
        run = units[index : end + 1]
        followed = end + 1 < len(units)
        after_lead_in = index > 0 and texts[index - 1].rstrip().endswith(":")
        last = run[-1]
        if after_lead_in and len(run) > 1:
            is_heading = followed and _stands_out(last.text, [u.text for u in run[:-1]])
            items = run[:-1] if is_heading else run
            listed = "\n".join(f"- {u.text.strip()}" for u in items)
            out.append(replace(Unit.block(listed), seq=items[0].seq))
        else:
            is_heading = followed and (len(run) == 1 or looks_like_title(last.text))
            for unit in run[:-1]:
                # A section title right above its first sub-heading ("TREATMENTS",
                # "Frequently asked questions") is a heading too.
                above = is_heading and (
                    _all_caps(unit.text) or bool(_OPENS_SUBSECTIONS.match(unit.text))
                )
                heading = replace(Unit.heading(unit.text.strip(), 2), seq=unit.seq)
                out.append(heading if above else unit)
            if not is_heading:
                out.append(last)
        if is_heading:
            out.append(replace(Unit.heading(last.text.strip(), 2), seq=last.seq))
        index = end + 1
    return _levels(out)


def _all_caps(text: str) -> bool:
    """Written in capitals: every letter upper case, and a word of three letters or more."""
    letters = [c for c in text if c.isalpha()]
    words = re.findall(r"[^\W\d_]{3,}", text)
    return bool(words) and all(c.isupper() for c in letters)


def _levels(units: list[Unit]) -> list[Unit]:
    headings = [u for u in units if u.kind == "heading"]
    caps = [_all_caps(u.text) for u in headings]
    if sum(caps) < 2 or all(caps):
        return units
    return [
        replace(Unit.heading(u.text, 3), seq=u.seq)
        if u.kind == "heading" and not _all_caps(u.text) else u
        for u in units
    ]


def parse_plaintext(text: str) -> ParsedSource:
    """Parse plain text: title line, blocks, chrome dropped and reported, headings by shape."""
    title, rest, skipped = _take_title(text)
    units = [Unit.block(block) for block in split_blocks(rest)]
    items = numbered([*skipped, *units])
    kept, dropped = drop_blocks([i for i in items if isinstance(i, Unit)])
    found = [i for i in items if isinstance(i, Dropped)]
    ordered: list[Unit | Dropped] = [*classify(kept), *found, *dropped]
    ordered.sort(key=lambda item: item.seq)
    return ParsedSource(title=title, items=ordered, format="text")
