"""Plain text copied from a web page → :class:`Article`.

**Title.** The first non-empty line, if it is at most :data:`TITLE_MAX_CHARS`
characters long; otherwise the article has no title (the caller asks for one)
and that line is content.

**Blocks.** Blank lines separate chunks. Inside a chunk, lines are either
hard-wrapped prose (most line breaks fall mid-sentence before a lowercase word:
the lines are joined into one paragraph) or one paragraph per line, which is
what a browser's copy gives (each line is its own block). Consecutive list
lines ("- ", "* ", "• ", "1. ", "1) ") form one Markdown list; "•" becomes "-".

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
   bullets were lost in the copy) only the last can be a heading, and only if
   the run does not follow a block ending with ``:`` (a lead-in such as
   "Common causes include:"; such a run becomes one Markdown list) and, for a
   run of two or more, only if it looks like a title: it ends with ``?`` or
   every word of four or more letters is capitalised ("Spinal Cord
   Stimulation", not "Nerve damage").

Page chrome at the end (see :mod:`newsletter.content.chrome`) is removed before
headings are found, because "Mail us for latest news and updates" is
heading-shaped. Limitations: a short capitalised sentence without final
punctuation, standing alone before a paragraph, reads as a heading.
"""

from __future__ import annotations

import itertools
import re

from newsletter.content.article import Article, Unit, build_article
from newsletter.content.chrome import strip_trailing_chrome

TITLE_MAX_CHARS = 200
HEADING_MAX_WORDS = 12
HEADING_MAX_CHARS = 90

_LIST_ITEM = re.compile(r"^\s*(?:[-*•‣◦]|\d{1,3}[.)])\s+")
_SENTENCE_END = re.compile(r"[.!?…:;][\"'”’)\]]*$")
_NOT_HEADING_END = re.compile(r"[.,;:!…][\"'”’)\]]*$")


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
    in_list = False

    def flush() -> None:
        nonlocal in_list
        if current:
            blocks.append(("\n" if in_list else " ").join(current))
        current.clear()
        in_list = False

    for index, line in enumerate(lines):
        following = lines[index + 1] if index + 1 < len(lines) else ""
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
    return blocks


def _take_title(text: str) -> tuple[str, str]:
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line.strip():
            if len(line.strip()) > TITLE_MAX_CHARS:
                return "", text
            return line.strip(), "\n".join(lines[index + 1 :])
    return "", ""


def looks_like_title(line: str) -> bool:
    """A question, or Title Case: every word of four or more letters starts with a capital."""
    text = line.strip()
    if text.endswith("?"):
        return True
    long_words = [w for w in re.findall(r"[^\W\d_][\w'’-]*", text) if len(w) >= 4]
    return all(word[0].isupper() for word in long_words)


def classify(blocks: list[str]) -> list[Unit]:
    """Turn blocks into units, marking the ones that are headings (rules 1–5 above).

    A run of short lines after a lead-in ending with ``:`` is a list that lost its
    bullets in the copy: it becomes one Markdown list block.
    """
    shaped = [heading_shaped(block) for block in blocks]
    units: list[Unit] = []
    run_start = 0
    list_items: list[str] = []
    for index, block in enumerate(blocks):
        if not shaped[index]:
            units.append(Unit.block(block))
            continue
        if index == 0 or not shaped[index - 1]:
            run_start = index
        after_lead_in = run_start > 0 and blocks[run_start - 1].rstrip().endswith(":")
        last_of_run = index + 1 == len(blocks) or not shaped[index + 1]
        if after_lead_in:
            list_items.append(f"- {block.strip()}")
            if last_of_run:
                units.append(Unit.block("\n".join(list_items)))
                list_items = []
            continue
        is_heading = (
            index + 1 < len(blocks)
            and last_of_run
            and (run_start == index or looks_like_title(block))
        )
        units.append(Unit.heading(block.strip(), 2) if is_heading else Unit.block(block))
    return units


def parse_plaintext(text: str) -> Article:
    """Parse plain text into an Article: title line, intro, sections, chrome removed."""
    title, rest = _take_title(text)
    raw_units = [Unit.block(block) for block in split_blocks(rest)]
    kept, dropped = strip_trailing_chrome(raw_units)
    units = classify([unit.text for unit in kept])
    return build_article(title, units, "text", dropped)
