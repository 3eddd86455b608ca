"""One entry point for every article format: text in, :class:`Article` out (no file I/O)."""

from __future__ import annotations

from newsletter.content.article import Article, ArticleFormat
from newsletter.content.detect import detect_format
from newsletter.content.html_source import parse_html
from newsletter.content.markdown_source import parse_markdown
from newsletter.content.text_source import parse_plaintext


def parse_article(text: str, fmt: ArticleFormat) -> Article:
    """Parse ``text`` known to be in format ``fmt``."""
    if fmt == "html":
        return parse_html(text)
    if fmt == "markdown":
        return parse_markdown(text)
    return parse_plaintext(text)


def parse_named(name: str | None, text: str) -> Article:
    """Detect the format from the file name (or the content) and parse."""
    return parse_article(text, detect_format(name, text))
