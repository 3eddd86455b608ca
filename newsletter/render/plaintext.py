"""Markdown → plain text for the text/plain twin, built from the markdown-it token stream.

The text is made from the Markdown, not scraped from the HTML, so it reads like
a letter: paragraphs wrapped to :data:`WIDTH` columns, headings underlined,
lists with ``-`` or ``1.`` markers and hanging indents, quotes with ``>``, code
indented, emphasis dropped, and links written as ``text (url)`` (a bare URL
when the text is the URL). Long URLs are never broken across lines.
"""

from __future__ import annotations

import textwrap

from markdown_it.tree import SyntaxTreeNode

from newsletter.render.markdown import parse

WIDTH = 72
_MIN_WIDTH = 20  # deep nesting never squeezes text narrower than this


def markdown_to_text(text: str, width: int = WIDTH) -> str:
    """Render a Markdown body as wrapped plain text (no trailing newline)."""
    root = SyntaxTreeNode(parse(text))
    return "\n\n".join(_blocks(root.children, width)).rstrip()


def _wrap(text: str, width: int) -> str:
    # Hard breaks arrive as "\n": wrap each line on its own.
    return "\n".join(
        textwrap.fill(
            line.strip(),
            width=max(width, _MIN_WIDTH),
            break_long_words=False,
            break_on_hyphens=False,
        )
        for line in text.split("\n")
    )


def _inline(nodes: list[SyntaxTreeNode]) -> str:
    parts: list[str] = []
    for node in nodes:
        kind = node.type
        if kind in ("text", "code_inline", "html_inline"):
            parts.append(node.content)
        elif kind == "softbreak":
            parts.append(" ")
        elif kind == "hardbreak":
            parts.append("\n")
        elif kind == "link":
            label = _inline(node.children).strip()
            href = str(node.attrs.get("href", ""))
            bare = href.removeprefix("mailto:")
            if label in (href, bare):
                parts.append(label)
            else:
                parts.append(f"{label} ({href})" if label else href)
        elif kind == "image":
            alt = _inline(node.children).strip()
            parts.append(f"[image: {alt}]" if alt else "[image]")
        else:  # em, strong, s and anything else: keep the words, drop the markup
            parts.append(_inline(node.children))
    return "".join(parts)


def _indent(block: str, first: str, rest: str) -> str:
    lines = block.split("\n")
    return "\n".join(
        [first + lines[0]] + [(rest + line) if line else line for line in lines[1:]]
    )


def _list(node: SyntaxTreeNode, width: int) -> str:
    items: list[str] = []
    number = int(str(node.attrs.get("start", 1))) if node.type == "ordered_list" else 0
    tight = all(
        child.hidden for item in node.children for child in item.children
        if child.type == "paragraph"
    )
    for item in node.children:
        marker = f"{number}. " if node.type == "ordered_list" else "- "
        number += 1
        inner = _blocks(item.children, width - len(marker))
        body = ("\n" if tight else "\n\n").join(inner) if inner else ""
        items.append(_indent(body, marker, " " * len(marker)))
    return ("\n" if tight else "\n\n").join(items)


def _table(node: SyntaxTreeNode) -> str:
    rows: list[str] = []
    for section in node.children:  # thead, tbody
        for row in section.children:
            rows.append(" | ".join(_inline(cell.children[0].children).strip()
                                   if cell.children else "" for cell in row.children))
            if section.type == "thead":
                rows.append("-" * min(len(rows[-1]), WIDTH))
    return "\n".join(rows)


def _blocks(nodes: list[SyntaxTreeNode], width: int) -> list[str]:
    out: list[str] = []
    for node in nodes:
        kind = node.type
        if kind == "paragraph":
            out.append(_wrap(_inline(node.children[0].children), width))
        elif kind == "heading":
            title = _wrap(_inline(node.children[0].children), width)
            last = title.split("\n")[-1]
            if node.tag in ("h1", "h2"):
                rule = "=" if node.tag == "h1" else "-"
                title = f"{title}\n{rule * len(last)}"
            out.append(title)
        elif kind in ("bullet_list", "ordered_list"):
            out.append(_list(node, width))
        elif kind == "blockquote":
            inner = "\n\n".join(_blocks(node.children, width - 2))
            out.append("\n".join(f"> {line}".rstrip() for line in inner.split("\n")))
        elif kind in ("fence", "code_block"):
            out.append("\n".join(f"    {line}" for line in node.content.rstrip("\n").split("\n")))
        elif kind == "hr":
            out.append("* * *")
        elif kind == "table":
            out.append(_table(node))
        elif node.children:
            out.extend(_blocks(node.children, width))
        elif node.content.strip():
            out.append(_wrap(node.content, width))
    return [block for block in out if block.strip()]
