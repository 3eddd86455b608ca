"""Proposal → planned issue files: names, front matter written by YAML, the intro in issue 1."""

from __future__ import annotations

from pathlib import Path

from newsletter.content.issuefile import parse_issue
from newsletter.content.markdown_source import parse_markdown
from newsletter.content.proposal import ImportProposal, propose
from newsletter.content.series_plan import plan_series, preheader_for, subject_warnings
from newsletter.content.words import cut_at_word, first_sentence

ARTICLE = """\
# Living With Pain

Welcome to the series.

## What Is Chronic Pain?

Pain that *lasts*. More text.

## Nerve Blocks

### How

An [injection](https://x.example) near a nerve.
"""


def proposal(text: str = ARTICLE) -> ImportProposal:
    return propose(parse_markdown(text))


def test_one_issue_per_section_with_numbered_slugged_file_names() -> None:
    planned = plan_series(proposal(), "Living With Pain")
    assert [p.filename for p in planned] == ["01-what-is-chronic-pain.md", "02-nerve-blocks.md"]
    assert [p.position for p in planned] == [1, 2]


def test_the_intro_opens_the_first_issue_only() -> None:
    first, second = plan_series(proposal(), "Living With Pain")
    assert first.body == "Welcome to the series.\n\nPain that *lasts*. More text."
    assert "Welcome" not in second.body


def test_the_subject_is_the_heading_and_the_series_title_with_no_frozen_part_number() -> None:
    assert [p.subject for p in plan_series(proposal(), "Living With Pain")] == [
        "What Is Chronic Pain? – Living With Pain",
        "Nerve Blocks – Living With Pain",
    ]


def test_preheader_is_the_first_sentence_of_the_section_not_of_the_series_intro() -> None:
    assert [p.preheader for p in plan_series(proposal(), "Living With Pain")] == [
        "Pain that lasts.",
        "An injection near a nerve.",
    ]


def test_a_preheader_skips_a_lead_in_ending_with_a_colon_when_a_sentence_follows() -> None:
    assert preheader_for(["Try these steps each evening:", "- Dim the lights",
                          "Most people sleep better within a week."]) == (
        "Most people sleep better within a week.")
    assert preheader_for(["Try these steps each evening:"]) == "Try these steps each evening:"


def test_generated_files_parse_back_even_with_colons_and_quotes_in_the_subject() -> None:
    text = ARTICLE.replace("## Nerve Blocks", '## Nerve blocks: what "numb" means')
    for planned in plan_series(proposal(text), "Pain: a guide"):
        doc = parse_issue(planned.text, Path(planned.filename))
        assert (doc.title, doc.subject, doc.position) == (
            planned.title, planned.subject, planned.position)
        assert doc.body.strip() == planned.body


def test_an_article_without_sections_becomes_one_issue_named_after_the_article() -> None:
    (only,) = plan_series(proposal("# Living With Pain\n\nOnly text.\n"), "Living With Pain")
    assert (only.filename, only.title, only.subject) == (
        "01-living-with-pain.md", "Living With Pain", "Living With Pain")
    assert only.body == "Only text."


def test_long_subjects_are_flagged_once_the_part_number_is_counted() -> None:
    planned = plan_series(proposal(), "A Very Long Series Title That Goes On and On About Pain")
    assert subject_warnings(planned) == [
        "the subjects of issues 1, 2 are 84 to 93 characters with the part number; inboxes show "
        "about 70: give the series a shorter title (--title) or edit the subjects"]


def test_first_sentence_does_not_stop_at_abbreviations() -> None:
    assert first_sentence("Dr. Lee sees patients. Then more.") == "Dr. Lee sees patients."


def test_long_preheaders_are_cut_at_a_word_boundary_with_an_ellipsis() -> None:
    cut = cut_at_word("word " * 40, 110)
    assert len(cut) <= 110
    assert cut.endswith("word…")
