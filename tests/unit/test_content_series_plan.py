"""Article → planned issue files: names, front matter, the intro in issue 1."""

from __future__ import annotations

from pathlib import Path

from newsletter.content.article import Article, Section
from newsletter.content.issuefile import parse_issue
from newsletter.content.words import cut_at_word, first_sentence
from newsletter.content.series_plan import plan_series

ARTICLE = Article(
    title="Living With Pain",
    intro=["Welcome to the series."],
    sections=[
        Section("What Is Chronic Pain?", ["Pain that *lasts*. More text."]),
        Section("Nerve Blocks", ["### How", "An [injection](https://x.example) near a nerve."]),
    ],
    format="text",
)


def test_one_issue_per_section_with_numbered_slugged_file_names() -> None:
    planned = plan_series(ARTICLE)
    assert [p.filename for p in planned] == ["01-what-is-chronic-pain.md", "02-nerve-blocks.md"]
    assert [p.position for p in planned] == [1, 2]


def test_the_intro_opens_the_first_issue_only() -> None:
    first, second = plan_series(ARTICLE)
    assert first.body == "Welcome to the series.\n\nPain that *lasts*. More text."
    assert "Welcome" not in second.body


def test_subject_is_the_heading_with_the_part_number() -> None:
    assert [p.subject for p in plan_series(ARTICLE)] == [
        "What Is Chronic Pain? (part 1 of 2)",
        "Nerve Blocks (part 2 of 2)",
    ]


def test_preheader_is_the_first_sentence_of_the_first_prose_block_in_plain_words() -> None:
    assert [p.preheader for p in plan_series(ARTICLE)] == [
        "Pain that lasts.",
        "An injection near a nerve.",
    ]


def test_generated_files_parse_back_as_issue_files() -> None:
    for planned in plan_series(ARTICLE):
        doc = parse_issue(planned.text, Path(planned.filename))
        assert (doc.title, doc.subject, doc.position) == (
            planned.title,
            planned.subject,
            planned.position,
        )
        assert doc.body.strip() == planned.body


def test_an_article_without_sections_becomes_one_issue_named_after_the_article() -> None:
    article = Article("Living With Pain", ["Only text."], [], "text")
    (only,) = plan_series(article)
    assert (only.filename, only.title, only.subject) == (
        "01-living-with-pain.md",
        "Living With Pain",
        "Living With Pain",
    )
    assert only.body == "Only text."


def test_first_sentence_does_not_stop_at_abbreviations() -> None:
    assert first_sentence("Dr. Lee sees patients. Then more.") == "Dr. Lee sees patients."


def test_long_preheaders_are_cut_at_a_word_boundary_with_an_ellipsis() -> None:
    cut = cut_at_word("word " * 40, 110)
    assert len(cut) <= 110
    assert cut.endswith("word…")
