"""Property: whatever the format, every content paragraph lands in exactly one issue, in order.

Articles are generated (title, optional intro, sections with heading-shaped
headings, some of them questions, sentence-shaped paragraphs, an optional
trailing call-to-action), rendered as plain text (with and without blank lines),
Markdown and HTML, and imported for real into a temporary project.
"""

from __future__ import annotations

import html
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from newsletter.content.importer import import_article
from newsletter.content.issuefile import read_series

WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)
CALLS_TO_ACTION = [
    ["news via inbox", "Mail us for latest news and updates"],
    ["news via inbox: mail us for latest news and updates"],
    ["Subscribe to our newsletter", "Enter your email"],
]


@dataclass(frozen=True)
class GeneratedArticle:
    title: str
    intro: list[str]
    sections: list[tuple[str, list[str]]]
    call_to_action: list[str]


@st.composite
def headings(draw: st.DrawFn) -> str:
    words = [w.capitalize() for w in draw(st.lists(WORD, min_size=1, max_size=5))]
    if draw(st.booleans()):
        return " ".join([draw(st.sampled_from(["What", "How", "Why", "Is"])), *words]) + "?"
    return " ".join(words)


@st.composite
def sentences(draw: st.DrawFn) -> str:
    words = draw(st.lists(WORD, min_size=1, max_size=12))
    return " ".join([words[0].capitalize(), *words[1:]]) + "."


@st.composite
def paragraphs(draw: st.DrawFn) -> str:
    return " ".join(draw(st.lists(sentences(), min_size=1, max_size=3)))


@st.composite
def articles(draw: st.DrawFn) -> GeneratedArticle:
    sections = draw(
        st.lists(
            st.tuples(headings(), st.lists(paragraphs(), min_size=1, max_size=3)),
            min_size=1,
            max_size=6,
        )
    )
    cta = draw(st.sampled_from([[], *CALLS_TO_ACTION]))
    return GeneratedArticle(
        draw(headings()), draw(st.lists(paragraphs(), max_size=2)), sections, cta
    )


def as_text(article: GeneratedArticle, separator: str) -> str:
    lines = [article.title, *article.intro]
    for heading, body in article.sections:
        lines += [heading, *body]
    return separator.join([*lines, *article.call_to_action]) + "\n"


def as_markdown(article: GeneratedArticle) -> str:
    parts = [f"# {article.title}", *article.intro]
    for heading, body in article.sections:
        parts += [f"## {heading}", *body]
    return "\n\n".join([*parts, *article.call_to_action]) + "\n"


def as_html(article: GeneratedArticle) -> str:
    def p(text: str) -> str:
        return f"<p>{html.escape(text)}</p>"

    parts = [f"<h1>{html.escape(article.title)}</h1>", *map(p, article.intro)]
    for heading, body in article.sections:
        parts += [f"<h2>{html.escape(heading)}</h2>", *map(p, body)]
    parts += map(p, article.call_to_action)
    return "<html><body><article>" + "\n".join(parts) + "</article></body></html>"


def imported_issues(name: str, text: str) -> list[tuple[str, list[str]]]:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / name).write_text(text, encoding="utf-8")
        import_article(
            root / name,
            issues_dir=root / "issues",
            subscribers_dir=root,
            series="generated",
            list_slug="clinic-news",
            now=datetime(2026, 11, 25, tzinfo=UTC),
        )
        series = read_series(root / "issues" / "generated")
        return [
            (issue.title, [p.strip() for p in issue.body.split("\n\n") if p.strip()])
            for issue in series.issues
        ]


@settings(max_examples=75, deadline=None)
@given(articles())
def test_every_paragraph_lands_in_exactly_one_issue_in_order_in_every_format(
    article: GeneratedArticle,
) -> None:
    renderings = {
        "article.txt": as_text(article, "\n\n"),
        "dense.txt": as_text(article, "\n"),
        "article.md": as_markdown(article),
        "article.html": as_html(article),
    }
    for name, text in renderings.items():
        issues = imported_issues(name, text)
        assert [title for title, _ in issues] == [h for h, _ in article.sections], name
        expected = [article.intro + article.sections[0][1]] + [b for _, b in article.sections[1:]]
        assert [body for _, body in issues] == expected, name
