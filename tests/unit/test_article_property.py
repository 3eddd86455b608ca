"""Property: whatever the format, every content paragraph lands in exactly one issue, in order.

Articles are generated in the shapes of the corpus: a title, an optional intro,
sections with heading-shaped headings (some of them questions), paragraphs that
sometimes end with a lead-in colon right before the next heading, **chrome
blocks inserted at random places** (a byline, a share line, tags, a booking
button, a "Read more" link, a comment count, a print link), images and links
with relative addresses (Markdown and HTML), and an optional trailing signup
call-to-action. Each is rendered as plain text (with and without blank lines),
Markdown and a saved HTML page, and imported for real into a temporary project,
with and without ``--source-url``.

What must hold: the issues are the sections (or one issue named after the
article when there is a single section); every paragraph, image and heading
appears exactly once and in order; no chrome block reaches an issue and every
one of them is listed in the report; with a source URL every link and image
is absolute, and without one each relative address is reported.
"""

from __future__ import annotations

import html
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsletter.content.importer import ImportReport, import_article
from newsletter.content.issuefile import read_series

WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)
SOURCE_URL = "https://clinic.example/blog/article/"
CHROME = [
    "Posted on March 3, 2026 by Dr. Lee",
    "Share this: Facebook Twitter Email",
    "Tags: back pain, exercise, self-care",
    "Book an appointment",
    "Read more: How pacing helps",
    "4 comments",
    "Print this page",
]
CALLS_TO_ACTION = [
    [],
    ["news via inbox", "Mail us for latest news and updates"],
    ["Subscribe to our newsletter", "Enter your email"],
]


@dataclass(frozen=True)
class Block:
    """A piece of generated content: a paragraph (Markdown), an image, or page chrome."""

    kind: str  # "paragraph", "image", "chrome"
    text: str
    link: str = ""  # a relative link inside a paragraph
    image: str = ""  # a relative image address

    def markdown(self, base: str) -> str:
        def address(path: str) -> str:
            return base.rstrip("/").rsplit("/", 2)[0] + path if base and path.startswith("/") else (
                base + path if base else path)

        if self.kind == "image":
            return f"![{self.text}]({address(self.image)})"
        if self.link:
            head, tail = self.text.split(" ", 1)
            return f"{head} [{tail[:-1]}]({address(self.link)})."
        return self.text

    def html(self) -> str:
        if self.kind == "image":
            return f'<figure><img src="{self.image}" alt="{html.escape(self.text)}"></figure>'
        if self.link:
            head, tail = self.text.split(" ", 1)
            return f'<p>{html.escape(head)} <a href="{self.link}">{html.escape(tail[:-1])}</a>.</p>'
        return f"<p>{html.escape(self.text)}</p>"


@dataclass(frozen=True)
class GeneratedArticle:
    title: str
    intro: list[Block]
    sections: list[tuple[str, list[Block]]]
    call_to_action: list[str]

    def content(self, base: str, *, images: bool) -> list[list[str]]:
        """The expected body blocks of each issue (chrome removed)."""
        def keep(blocks: list[Block]) -> list[str]:
            # Plain text has no links or images: its paragraphs are their words.
            return [(b.markdown(base) if images else b.text) for b in blocks
                    if b.kind == "paragraph" or (b.kind == "image" and images)]

        if len(self.sections) == 1:
            heading, body = self.sections[0]
            return [[*keep(self.intro), f"## {heading}", *keep(body)]]
        first = keep(self.intro) + keep(self.sections[0][1])
        return [first] + [keep(body) for _, body in self.sections[1:]]

    def titles(self) -> list[str]:
        return [self.title] if len(self.sections) == 1 else [h for h, _ in self.sections]

    def chrome_texts(self) -> list[str]:
        blocks = [*self.intro, *(b for _, body in self.sections for b in body)]
        return [b.text for b in blocks if b.kind == "chrome"] + self.call_to_action


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
def section_blocks(draw: st.DrawFn, counter: list[int], allow_empty: bool) -> list[Block]:
    """Paragraphs (each made unique by a numbered first word), images, chrome at random places."""
    blocks: list[Block] = []
    for _ in range(draw(st.integers(min_value=0 if allow_empty else 1, max_value=3))):
        counter[0] += 1
        mark = f"Para{counter[0]}x"
        text = " ".join([mark, *draw(st.lists(sentences(), min_size=1, max_size=3))])
        text = text[: -1] + ":" if draw(st.integers(0, 5)) == 0 else text  # a lead-in
        link = f"/groups/g{counter[0]}" if draw(st.integers(0, 3)) == 0 else ""
        if link and (len(text.split()) < 3 or text.endswith(":")):
            link = ""
        blocks.append(Block("paragraph", text, link=link))
        if draw(st.integers(0, 4)) == 0:
            blocks.append(Block("image", f"Figure {counter[0]} of the article",
                                image=f"images/fig{counter[0]}.png"))
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(blocks)))
        blocks.insert(at, Block("chrome", draw(st.sampled_from(CHROME))))
    return blocks


@st.composite
def articles(draw: st.DrawFn) -> GeneratedArticle:
    counter = [0]
    intro = draw(section_blocks(counter, allow_empty=True))
    sections = [(draw(headings()), draw(section_blocks(counter, allow_empty=False)))
                for _ in range(draw(st.integers(1, 5)))]
    for _, body in sections:
        if not any(b.kind == "paragraph" for b in body):
            counter[0] += 1
            body.append(Block("paragraph", f"Para{counter[0]}x Enough."))
    call_to_action = draw(st.sampled_from(CALLS_TO_ACTION))
    return GeneratedArticle(draw(headings()), intro, sections, call_to_action)


def _lines(article: GeneratedArticle, render: str) -> list[str]:
    """The article's blocks in order, each rendered as ``render`` says."""
    def one(block: Block) -> list[str]:
        if render == "text":
            return [] if block.kind == "image" else [block.text]
        return [block.markdown("") if render == "markdown" else block.html()]

    lines: list[str] = []
    for block in article.intro:
        lines += one(block)
    for heading, body in article.sections:
        if render == "text":
            lines.append(heading)
        else:
            lines.append(f"## {heading}" if render == "markdown"
                         else f"<h2>{html.escape(heading)}</h2>")
        for block in body:
            lines += one(block)
    return lines


def as_text(article: GeneratedArticle, separator: str) -> str:
    lines = [article.title, *_lines(article, "text"), *article.call_to_action]
    return separator.join(lines) + "\n"


def as_markdown(article: GeneratedArticle) -> str:
    parts = [f"# {article.title}", *_lines(article, "markdown"), *article.call_to_action]
    return "\n\n".join(parts) + "\n"


def as_html(article: GeneratedArticle) -> str:
    cta = [f"<p>{html.escape(line)}</p>" for line in article.call_to_action]
    body = "\n".join([f"<h1>{html.escape(article.title)}</h1>", *_lines(article, "html"), *cta])
    return (
        "<html><head><title>Clinic</title></head><body>"
        "<header><nav><a href='/'>Home</a> <a href='/blog/'>Blog</a></nav></header>"
        f"<main><article>{body}</article></main>"
        "<footer><p>Riverside Pain Clinic, 12 Harbour Road</p></footer></body></html>"
    )


Issues = list[tuple[str, list[str]]]


def imported(name: str, text: str, source_url: str) -> tuple[ImportReport, Issues]:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / name).write_text(text, encoding="utf-8")
        report = import_article(
            root / name,
            issues_dir=root / "issues",
            subscribers_dir=root,
            series="generated",
            list_slug="clinic-news",
            source_url=source_url or None,
            now=datetime(2026, 11, 25, tzinfo=UTC),
        )
        series = read_series(root / "issues" / "generated")
        return report, [
            (issue.title, [p.strip() for p in issue.body.split("\n\n") if p.strip()])
            for issue in series.issues
        ]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(articles(), st.booleans())
def test_every_paragraph_lands_in_exactly_one_issue_in_order_and_no_chrome_does(
    article: GeneratedArticle, with_url: bool
) -> None:
    source_url = SOURCE_URL if with_url else ""
    renderings = {
        "article.txt": as_text(article, "\n\n"),
        "dense.txt": as_text(article, "\n"),
        "article.md": as_markdown(article),
        "article.html": as_html(article),
    }
    for name, text in renderings.items():
        is_text = name.endswith(".txt")
        report, issues = imported(name, text, source_url)
        base = "" if is_text else source_url
        assert [title for title, _ in issues] == article.titles(), name
        assert [body for _, body in issues] == article.content(base, images=not is_text), name
        everything = "\n".join(p for _, body in issues for p in body)
        for chrome in [*CHROME, *article.call_to_action]:
            assert chrome not in everything, (name, chrome)
        # Every chrome block is listed in the report (a copy may join two chrome lines into one).
        listed = " | ".join(text for d in report.dropped for text in d.texts)
        for chrome in article.chrome_texts():
            assert chrome in listed, (name, chrome)
        relative = [w for w in report.proposal.warnings
                    if w.kind in ("relative link", "relative image")]
        links = [b for _, body in article.sections for b in body if b.link or b.image]
        links += [b for b in article.intro if b.link or b.image]
        expected = 0 if (is_text or source_url) else len(links)
        assert len(relative) == expected, name
