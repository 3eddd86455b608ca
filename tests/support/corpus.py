"""The import corpus (tests/corpus/): articles, their expected splits, and comparing a result.

Each article ``NAME.{txt,md,html}`` has ``NAME.expected.toml`` next to it (see
tests/corpus/README.md): the article's title, each issue's title and the
start of each body block, every dropped block (reason, start, count) and every
warning (kind, issue). Blocks are compared by their first
:data:`SIGNATURE_WORDS` words of Markdown, which is enough to tell paragraphs
apart and short enough to read in a diff.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newsletter.content.detect import detect_format
from newsletter.content.extract import DEFAULT_EXTRACTOR
from newsletter.content.parse import parse_article
from newsletter.content.proposal import ImportProposal, propose

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
SUFFIXES = (".txt", ".md", ".html")
SIGNATURE_WORDS = 5


def signature(markdown: str) -> str:
    """The first words of a block, whitespace collapsed (how blocks are compared)."""
    return " ".join(markdown.split()[:SIGNATURE_WORDS])


@dataclass(frozen=True)
class Expected:
    """One corpus article and what its import must give."""

    path: Path
    shape: str
    title: str
    source_url: str
    issues: list[tuple[str, list[str]]]
    dropped: list[tuple[str, str, int]]
    warnings: list[tuple[str, int]]


@dataclass(frozen=True)
class Outcome:
    """What an import gave, in the same terms as :class:`Expected`."""

    title: str
    issues: list[tuple[str, list[str]]]
    dropped: list[tuple[str, str, int]]
    warnings: list[tuple[str, int]]
    proposal: ImportProposal | None = None


@dataclass
class Comparison:
    """The differences between expected and got for one article (empty when they agree)."""

    name: str
    problems: list[str] = field(default_factory=list)
    extra_blocks: int = 0
    missing_blocks: int = 0

    @property
    def ok(self) -> bool:
        """Whether the article split exactly as expected."""
        return not self.problems


def articles() -> list[Path]:
    """Every corpus article, in name order."""
    return sorted(p for p in CORPUS.iterdir() if p.suffix in SUFFIXES and p.stem != "README")


def load_expected(article: Path) -> Expected:
    """The expectations of ``article`` (its ``.expected.toml``)."""
    raw: dict[str, Any] = tomllib.loads(
        article.with_name(article.stem + ".expected.toml").read_text(encoding="utf-8")
    )
    return Expected(
        path=article,
        shape=str(raw.get("shape", "")),
        title=str(raw.get("title", "")),
        source_url=str(raw.get("source_url", "")),
        issues=[(str(i["title"]), [str(b) for b in i.get("blocks", [])])
                for i in raw.get("issue", [])],
        dropped=[(str(d["reason"]), str(d["text"]), int(d.get("count", 1)))
                 for d in raw.get("dropped", [])],
        warnings=[(str(w["kind"]), int(w.get("issue", 0))) for w in raw.get("warning", [])],
    )


def outcome_of(proposal: ImportProposal) -> Outcome:
    """A proposal in the terms of the expectations."""
    return Outcome(
        title=proposal.title,
        issues=[(issue.title, [signature(b.markdown) for b in proposal.body_blocks(issue.number)])
                for issue in proposal.issues],
        dropped=[(d.reason, signature(d.text), d.count) for d in proposal.dropped],
        warnings=[(w.kind, proposal.issue_number_at(w.seq) or 0) for w in proposal.warnings],
        proposal=proposal,
    )


def run(article: Path, source_url: str = "", extractor: str = DEFAULT_EXTRACTOR) -> Outcome:
    """Import ``article`` as the importer does (parse, propose) and describe the result."""
    text = article.read_text(encoding="utf-8")
    parsed = parse_article(text, detect_format(article.name, text), source_url=source_url,
                           extractor=extractor)
    return outcome_of(propose(parsed))


def compare(expected: Expected, got: Outcome) -> Comparison:
    """Every difference between ``expected`` and ``got``, as sentences."""
    result = Comparison(expected.path.name)
    if got.title != expected.title:
        result.problems.append(f"title: expected {expected.title!r}, got {got.title!r}")
    want_titles = [t for t, _ in expected.issues]
    got_titles = [t for t, _ in got.issues]
    if want_titles != got_titles:
        result.problems.append(f"issues: expected {want_titles}, got {got_titles}")
    want_blocks = Counter(b for _, blocks in expected.issues for b in blocks)
    got_blocks = Counter(b for _, blocks in got.issues for b in blocks)
    result.missing_blocks = sum((want_blocks - got_blocks).values())
    result.extra_blocks = sum((got_blocks - want_blocks).values())
    for number, ((title, want), (_, have)) in enumerate(
        zip(expected.issues, got.issues, strict=False), start=1
    ):
        if want != have:
            result.problems.append(f"issue {number} ({title}): expected blocks {want}, got {have}")
    if expected.dropped != got.dropped:
        result.problems.append(f"dropped: expected {expected.dropped}, got {got.dropped}")
    if expected.warnings != got.warnings:
        result.problems.append(f"warnings: expected {expected.warnings}, got {got.warnings}")
    return result


def expected_toml(article: Path, got: Outcome, shape: str = "", source_url: str = "") -> str:
    """``got`` written as an expectations file (for a new article; review every line)."""
    lines = [f"shape = {_q(shape)}"]
    if source_url:
        lines.append(f"source_url = {_q(source_url)}")
    lines.append(f"title = {_q(got.title)}")
    for title, blocks in got.issues:
        lines += ["", "[[issue]]", f"title = {_q(title)}", "blocks = ["]
        lines += [f"    {_q(b)}," for b in blocks]
        lines.append("]")
    for reason, text, count in got.dropped:
        lines += ["", "[[dropped]]", f"reason = {_q(reason)}", f"text = {_q(text)}"]
        if count != 1:
            lines.append(f"count = {count}")
    for kind, issue in got.warnings:
        lines += ["", "[[warning]]", f"kind = {_q(kind)}", f"issue = {issue}"]
    return "\n".join(lines) + "\n"


def _q(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'
