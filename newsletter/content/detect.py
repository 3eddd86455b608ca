"""Which format an article is in: by file extension, else by looking at the text.

Extensions: ``.txt`` → text; ``.md``, ``.markdown`` → markdown; ``.html``,
``.htm`` → html. For any other name (or none), the content decides:

* **html** when the first non-blank character opens a tag and the text has an
  HTML block tag (``<html>``, ``<body>``, ``<p>``, ``<h1>``…), or when it has at
  least three such tags anywhere;
* **markdown** when a line is an ATX heading (``# Title``, ``## Part``) or a
  setext underline (``===`` / ``---`` under a line of text), i.e. when the
  headings are marked; Markdown without headings imports the same as text;
* **text** otherwise.
"""

from __future__ import annotations

import re
from pathlib import PurePath

from newsletter.content.article import ArticleFormat

EXTENSIONS: dict[str, ArticleFormat] = {
    ".txt": "text",
    ".text": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
}
FORMATS: tuple[ArticleFormat, ...] = ("text", "markdown", "html")

_HTML_TAG = re.compile(
    r"<(?:!doctype\s+html|html|head|body|article|main|section|div|p|h[1-6]|ul|ol|li|br)\b[^>]*>",
    re.IGNORECASE,
)
_ATX = re.compile(r"^ {0,3}#{1,6}[ \t]+\S", re.MULTILINE)
_SETEXT = re.compile(r"^ {0,3}\S.*\n {0,3}(?:=+|-{2,})[ \t]*$", re.MULTILINE)


def sniff_format(text: str) -> ArticleFormat:
    """Guess the format from the content alone (rules in the module docstring)."""
    stripped = text.lstrip()
    tags = _HTML_TAG.findall(text)
    if (stripped.startswith("<") and tags) or len(tags) >= 3:
        return "html"
    if _ATX.search(text) or _SETEXT.search(text):
        return "markdown"
    return "text"


def detect_format(name: str | None, text: str) -> ArticleFormat:
    """The format of an article called ``name`` (a path or file name) with content ``text``."""
    if name:
        suffix = PurePath(name).suffix.lower()
        if suffix in EXTENSIONS:
            return EXTENSIONS[suffix]
    return sniff_format(text)
