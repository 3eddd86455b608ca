"""Plain wording of Markdown blocks, and sentence helpers (for chrome matching and preheaders)."""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

# Abbreviations after which a full stop does not end a sentence.
_ABBREVIATIONS = ("dr", "mr", "mrs", "ms", "prof", "st", "vs", "etc", "e.g", "i.e", "approx", "no")
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")
_SPACES = re.compile(r"\s+")


def markdown_to_plain(markdown: str) -> str:
    """The words of a Markdown fragment: link text kept, URLs, markers and emphasis removed."""
    parts: list[str] = []
    for token in MarkdownIt("commonmark").parse(markdown):
        if token.type == "inline" and token.children is not None:
            for child in token.children:
                if child.type in ("text", "code_inline"):
                    parts.append(child.content)
                elif child.type in ("softbreak", "hardbreak"):
                    parts.append(" ")
            parts.append(" ")
        elif token.type in ("code_block", "fence"):
            parts.append(token.content + " ")
    return _SPACES.sub(" ", "".join(parts)).strip()


def first_sentence(text: str) -> str:
    """The first sentence of plain ``text`` (all of it if no sentence end is found)."""
    text = _SPACES.sub(" ", text).strip()
    for match in _SENTENCE_END.finditer(text):
        before = text[: match.start()].rstrip("\"'”’)]")
        last_word = before.rsplit(" ", 1)[-1].lower().rstrip(".")
        if last_word in _ABBREVIATIONS or re.fullmatch(r"[a-z]", last_word):
            continue  # "Dr. Lee", "J. Smith": not a sentence end
        return text[: match.start()].strip()
    return text


def cut_at_word(text: str, limit: int) -> str:
    """``text`` shortened to at most ``limit`` characters at a word boundary, with an ellipsis."""
    text = _SPACES.sub(" ", text).strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:-–—") + "…"


def word_count(text: str) -> int:
    """How many whitespace-separated words ``text`` has."""
    return len(text.split())
