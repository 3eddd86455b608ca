"""Compare main-content extractors on the saved web pages of the import corpus.

    .venv/bin/python benchmarks/compare_extractors.py             # the table for docs/import.md
    .venv/bin/python benchmarks/compare_extractors.py --details   # and every difference

For each extractor (trafilatura with recall and with precision settings,
readability-lxml, and the importer's old ``<article>``/``<main>`` rule) and
each HTML article of tests/corpus/, two measurements against the article's
expected split (its ``.expected.toml``):

* **alone**: exactly the blocks the extractor chose, before the importer's own
  rules (no in-article rescue, no chrome rules, no page-region names):
  expected content blocks it lost, and blocks it kept that are not content
  (chrome left in; section headings are not counted either way);
* **in the importer**: the whole import as staff get it: articles split
  exactly as expected (issue titles and every block), content blocks lost,
  extra blocks (chrome left in).

Also the median time per page (this machine, one process; only the ratio
between extractors means anything).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from newsletter.content.article import Unit  # noqa: E402
from newsletter.content.html_source import parse_html  # noqa: E402
from tests.support.corpus import (  # noqa: E402
    articles,
    compare,
    load_expected,
    run,
    signature,
)

EXTRACTORS = ("trafilatura", "trafilatura-precision", "readability", "landmarks")


@dataclass
class Tally:
    """Counts for one extractor over the corpus."""

    pages: int = 0
    alone_lost: int = 0
    alone_chrome: int = 0
    right: int = 0
    lost: int = 0
    chrome: int = 0
    seconds: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _words(sig: str) -> str:
    """A block signature without heading marks, on four words: the importer may set a
    heading's level ("##" → "###"), which must not count as a difference."""
    return " ".join(sig.lstrip("# ").split()[:4])


def alone(article: Path, extractor: str, source_url: str) -> tuple[int, int, list[str]]:
    """(content blocks lost, non-content blocks kept, details) for the extractor's own choice."""
    expected = load_expected(article)
    parsed = parse_html(article.read_text(encoding="utf-8"), source_url=source_url,
                        extractor=extractor, rescue=False)
    titles = {title for title, _ in expected.issues}
    want = Counter(_words(b) for _, blocks in expected.issues for b in blocks)
    units = [u for u in parsed.units() if not (u.kind == "heading" and u.text in titles)]
    have = Counter(_words(signature(u.text)) for u in units if isinstance(u, Unit))
    lost = want - have
    extra = have - want
    details = [f"lost: {b}" for b in lost] + [f"kept, not content: {b}" for b in extra]
    return sum(lost.values()), sum(extra.values()), details


def measure() -> dict[str, Tally]:
    """Run every extractor on every HTML article of the corpus."""
    tallies = {name: Tally() for name in EXTRACTORS}
    pages = [a for a in articles() if a.suffix == ".html"]
    for name in EXTRACTORS:
        tally = tallies[name]
        for article in pages:
            expected = load_expected(article)
            lost, chrome, details = alone(article, name, expected.source_url)
            tally.alone_lost += lost
            tally.alone_chrome += chrome
            start = time.perf_counter()
            got = run(article, expected.source_url, extractor=name)
            tally.seconds.append(time.perf_counter() - start)
            result = compare(expected, got)
            tally.pages += 1
            # The dropped list names the extractor ("left out by readability"), so a page is
            # split right when its titles and blocks match; the report is compared separately.
            split_problems = [p for p in result.problems if not p.startswith("dropped")]
            tally.right += not split_problems
            tally.lost += result.missing_blocks
            tally.chrome += result.extra_blocks
            tally.notes += [f"{article.name} alone: {d}" for d in details]
            tally.notes += [f"{article.name} import: {p}" for p in result.problems
                            if not p.startswith("dropped")]
    return tallies


def report(tallies: dict[str, Tally]) -> str:
    """The comparison as a Markdown table."""
    blocks = sum(len(b) for a in articles() if a.suffix == ".html"
                 for _, b in load_expected(a).issues)
    lines = [
        f"Command: `.venv/bin/python benchmarks/compare_extractors.py` "
        f"({tallies['trafilatura'].pages} saved pages, {blocks} expected content blocks).",
        f"Machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}.",
        "",
        "| extractor | alone: content lost | alone: chrome left in | importer: pages split "
        "right | importer: content lost | importer: chrome left in | median time per page |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, t in tallies.items():
        lines.append(
            f"| {name} | {t.alone_lost} | {t.alone_chrome} | {t.right} of {t.pages} | {t.lost} "
            f"| {t.chrome} | {statistics.median(t.seconds) * 1000:.0f} ms |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    """Measure and print the table (and, with --details, every difference)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--details", action="store_true")
    args = parser.parse_args()
    tallies = measure()
    print(report(tallies))
    if args.details:
        for name, tally in tallies.items():
            print(f"\n## {name}")
            for note in tally.notes:
                print(f"- {note}")


if __name__ == "__main__":
    main()
