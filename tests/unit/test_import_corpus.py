"""Every corpus article splits as expected: titles, blocks, dropped blocks and warnings.

The corpus (tests/corpus/, described in its README) holds articles in the
shapes staff really import: browser copies of WordPress, Squarespace, Wix and
hospital pages, saved full web pages, and CMS Markdown exports. The test prints
one table row per article and fails on any difference, naming it.
"""

from __future__ import annotations

from collections import Counter

import pytest

from tests.support.corpus import articles, compare, load_expected, run

ARTICLES = articles()


def test_the_corpus_has_at_least_thirty_articles_of_every_kind() -> None:
    kinds = Counter(path.suffix for path in ARTICLES)
    assert len(ARTICLES) >= 30
    assert min(kinds[".txt"], kinds[".md"], kinds[".html"]) >= 5, kinds


def test_every_corpus_article_splits_as_expected(capsys: pytest.CaptureFixture[str]) -> None:
    rows = []
    failures = []
    for article in ARTICLES:
        expected = load_expected(article)
        got = run(article, expected.source_url)
        result = compare(expected, got)
        rows.append((
            article.name,
            len(expected.issues),
            len(got.issues),
            f"{sum(c for _, _, c in got.dropped)} in {len(got.dropped)}",
            len(got.warnings),
            "ok" if result.ok else "DIFFERENT",
        ))
        if not result.ok:
            failures.append(result)
    header = ("article", "expected issues", "got", "dropped blocks", "warnings", "")
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    with capsys.disabled():
        print()
        for row in [header, *rows]:
            cells = zip(row, widths, strict=True)
            print("  ".join(str(cell).ljust(width) for cell, width in cells))
    details = "\n".join(f"{f.name}:\n  " + "\n  ".join(f.problems) for f in failures)
    assert not failures, f"{len(failures)} corpus article(s) split differently:\n{details}"


@pytest.mark.parametrize("article", ARTICLES, ids=[a.name for a in ARTICLES])
def test_no_content_block_is_lost_or_repeated(article: object) -> None:
    """Across a whole article, each expected block appears exactly once, in reading order."""
    from pathlib import Path

    assert isinstance(article, Path)
    expected = load_expected(article)
    got = run(article, expected.source_url)
    want = [b for _, blocks in expected.issues for b in blocks]
    have = [b for _, blocks in got.issues for b in blocks]
    assert have == want
