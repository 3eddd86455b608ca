"""Markdown issue bodies → email-safe HTML (markdown-it-py), with inline styles.

Raw HTML in a body is shown as text, not passed through: an unbalanced tag in
an issue file would otherwise break the MJML around it, and staff write
Markdown, not markup. Styles are inlined on each element because several mail
clients drop ``<style>`` blocks.
"""

from __future__ import annotations

from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.token import Token

# Typography for the body; the colours match the layout in templates/email/_layout.mjml.j2.
STYLES: dict[str, str] = {
    "h1": "font-family:Georgia,'Times New Roman',serif;font-size:24px;line-height:1.3;"
    "font-weight:normal;color:#1d3b40;margin:28px 0 10px;",
    "h2": "font-family:Georgia,'Times New Roman',serif;font-size:22px;line-height:1.3;"
    "font-weight:normal;color:#1d3b40;margin:28px 0 10px;",
    "h3": "font-size:18px;line-height:1.4;font-weight:bold;color:#1d3b40;margin:24px 0 8px;",
    "h4": "font-size:16px;line-height:1.4;font-weight:bold;color:#1d3b40;margin:20px 0 6px;",
    "p": "margin:0 0 16px;",
    "a": "color:#1f6f78;text-decoration:underline;",
    "ul": "margin:0 0 16px;padding:0 0 0 24px;",
    "ol": "margin:0 0 16px;padding:0 0 0 24px;",
    "li": "margin:0 0 6px;",
    "blockquote": "margin:0 0 16px;padding:4px 0 4px 16px;border-left:4px solid #b9d7d3;"
    "color:#45565a;font-style:italic;",
    "pre": "margin:0 0 16px;padding:12px;background:#f4f2ee;border-radius:4px;"
    "white-space:pre-wrap;font-size:14px;",
    "code": "font-family:Menlo,Consolas,monospace;font-size:14px;",
    "hr": "border:none;border-top:1px solid #e2ddd3;margin:24px 0;",
    "table": "border-collapse:collapse;margin:0 0 16px;width:100%;",
    "th": "border-bottom:2px solid #b9d7d3;padding:6px 8px;text-align:left;",
    "td": "border-bottom:1px solid #e2ddd3;padding:6px 8px;",
    "img": "max-width:100%;height:auto;",
}


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # html=False: raw HTML becomes text; linkify stays off (needs an extra package).
    return MarkdownIt("commonmark", {"html": False, "typographer": True}).enable(
        ["table", "strikethrough", "replacements", "smartquotes"]
    )


def parse(text: str) -> list[Token]:
    """The markdown-it token stream of ``text`` (shared by the HTML and text renderers)."""
    return _parser().parse(text)


def _style(tokens: list[Token]) -> None:
    for token in tokens:
        if token.nesting >= 0 and token.tag in STYLES and token.type != "inline":
            token.attrSet("style", STYLES[token.tag])
        if token.children:
            _style(token.children)


def markdown_to_html(text: str) -> str:
    """Render a Markdown body to HTML with inline styles, raw HTML escaped."""
    tokens = parse(text)
    _style(tokens)
    parser = _parser()
    return str(parser.renderer.render(tokens, parser.options, {}))
