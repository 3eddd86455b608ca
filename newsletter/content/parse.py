"""One entry point for every article format: text in, parsed source out (no file I/O)."""

from __future__ import annotations

from newsletter.content.article import ArticleFormat, ParsedSource
from newsletter.content.extract import DEFAULT_EXTRACTOR
from newsletter.content.html_source import parse_html
from newsletter.content.links import choose_base
from newsletter.content.markdown_source import parse_markdown
from newsletter.content.text_source import parse_plaintext


def parse_article(
    text: str, fmt: ArticleFormat, *, source_url: str = "", extractor: str = DEFAULT_EXTRACTOR
) -> ParsedSource:
    """Parse ``text`` known to be in format ``fmt``; ``source_url`` is where it was published."""
    if fmt == "html":
        return parse_html(text, source_url=source_url, extractor=extractor)
    if fmt == "markdown":
        return parse_markdown(text, source_url=source_url)
    parsed = parse_plaintext(text)
    base, base_from = choose_base(source_url, "", "", "")
    return ParsedSource(parsed.title, parsed.items, parsed.format, base, base_from, parsed.notes)
