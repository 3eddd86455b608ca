"""Plain text copied from a web page: title, paragraphs, headings by shape, lists, intro."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from newsletter.content.article import Dropped
from newsletter.content.chrome import drop_regions
from newsletter.content.text_source import heading_shaped, parse_plaintext, split_blocks


@dataclass(frozen=True)
class Split:
    """What a plain-text article splits into, in the old terms: intro, sections, dropped."""

    title: str
    intro: list[str]
    sections: list[tuple[str, list[str]]]
    dropped: list[str]


def split(text: str) -> Split:
    """Parse (chrome passes included); group the units at their headings, as written."""
    parsed = parse_plaintext(text)
    units, dropped = drop_regions(parsed.units())
    dropped = [d for d in parsed.items if isinstance(d, Dropped)] + dropped
    intro: list[str] = []
    sections: list[tuple[str, list[str]]] = []
    for unit in units:
        if unit.kind == "heading" and unit.level == 2:
            sections.append((unit.text, []))
        else:
            text_ = unit.markdown if unit.kind == "heading" else unit.text
            (sections[-1][1] if sections else intro).append(text_)
    return Split(parsed.title, intro, sections, [d.text for d in dropped])


ARTICLE = """\
Living With Chronic Pain

Pain that lasts is hard. This article explains the options.

What Is Chronic Pain?

Chronic pain lasts longer than three months. It can affect sleep.

What Causes It?

Many things can cause it.

Nerve Blocks

A nerve block is an injection near a nerve. Dr. Lee explains how it works.
"""


def test_the_first_line_is_the_title_and_the_text_before_the_first_heading_is_the_intro() -> None:
    article = split(ARTICLE)
    assert article.title == "Living With Chronic Pain"
    assert article.intro == ["Pain that lasts is hard. This article explains the options."]


def test_short_capitalised_lines_without_closing_punctuation_are_headings() -> None:
    article = split(ARTICLE)
    assert [h for h, _ in article.sections] == [
        "What Is Chronic Pain?",
        "What Causes It?",
        "Nerve Blocks",
    ]
    assert article.sections[2][1] == [
        "A nerve block is an injection near a nerve. Dr. Lee explains how it works."
    ]


def test_text_with_one_paragraph_per_line_and_no_blank_lines_splits_the_same_way() -> None:
    dense = "\n".join(line for line in ARTICLE.splitlines() if line.strip())
    assert split(dense) == split(ARTICLE)


def test_hard_wrapped_paragraphs_are_joined_into_one_paragraph() -> None:
    text = (
        "Title\n\nNerve Blocks\n\nA nerve block is an injection that places\n"
        "a local anaesthetic close to a nerve. It\nquiets the nerve for a while.\n"
    )
    article = split(text)
    assert article.sections[0][1] == [
        "A nerve block is an injection that places a local anaesthetic close to a nerve. "
        "It quiets the nerve for a while."
    ]


def test_a_heading_directly_above_its_paragraph_without_a_blank_line_is_still_a_heading() -> None:
    text = (
        "Title\n\nWhat Causes It?\nPain can start with an injury and\n"
        "continue after it has healed.\n"
    )
    article = split(text)
    assert article.sections[0][0] == "What Causes It?"
    assert article.sections[0][1] == [
        "Pain can start with an injury and continue after it has healed."
    ]


@pytest.mark.parametrize(
    "line",
    [
        "What Causes It?",
        "Nerve Blocks",
        "Radiofrequency Neurolysis",
        "Spinal Cord Stimulation (SCS)",
        "Is Surgery the Only Option?",
    ],
)
def test_heading_shaped_lines(line: str) -> None:
    assert heading_shaped(line)


@pytest.mark.parametrize(
    "line",
    [
        "It helps.",  # a sentence
        "For example:",  # a lead-in
        "First, rest;",
        "Call us today!",
        "news via inbox",  # lowercase start
        "- Ice packs",  # a list item
        "2. Rest",
        "This line is far too long to be a heading because it has more than twelve words",
        "",
    ],
)
def test_lines_that_are_not_heading_shaped(line: str) -> None:
    assert not heading_shaped(line)


def test_a_short_last_line_with_nothing_after_it_stays_a_paragraph() -> None:
    article = split("Title\n\nNerve Blocks\n\nSome text here.\n\nThank you for reading\n")
    assert article.sections[0][1] == ["Some text here.", "Thank you for reading"]


def test_lines_after_a_lead_in_ending_with_a_colon_become_a_list_not_headings() -> None:
    text = (
        "Title\n\nWhat Causes It?\n\nCommon causes include:\n\nLower back pain\n\n"
        "Nerve damage after shingles\n\nArthritis\n\nSeveral factors make pain worse.\n"
    )
    article = split(text)
    assert [h for h, _ in article.sections] == ["What Causes It?"]
    assert article.sections[0][1] == [
        "Common causes include:",
        "- Lower back pain\n- Nerve damage after shingles\n- Arthritis",
        "Several factors make pain worse.",
    ]


def test_in_a_run_of_short_lines_only_a_title_like_last_line_is_a_heading() -> None:
    text = (
        "Title\n\nIntro text here.\n\nIce packs\n\nWarm baths\n\nGentle stretching\n\n"
        "More text follows here.\n\nShort note\n\nSpinal Cord Stimulation\n\nIt uses pulses.\n"
    )
    article = split(text)
    assert [h for h, _ in article.sections] == ["Spinal Cord Stimulation"]
    assert article.intro == [
        "Intro text here.",
        "Ice packs",
        "Warm baths",
        "Gentle stretching",
        "More text follows here.",
        "Short note",
    ]


def test_bulleted_lines_form_one_markdown_list() -> None:
    assert split_blocks("Intro:\n• Ice\n• Heat\n- Rest\n\nAfter.") == [
        "Intro:",
        "- Ice\n- Heat\n- Rest",
        "After.",
    ]


def test_an_article_without_headings_has_no_sections_and_keeps_every_paragraph() -> None:
    article = split("A Title\n\nOne paragraph here.\n\nAnother paragraph here.\n")
    assert article.sections == []
    assert article.intro == ["One paragraph here.", "Another paragraph here."]


def test_a_very_long_first_line_is_content_not_a_title() -> None:
    first = "word " * 60
    article = split(first + "\n\nSecond paragraph.\n")
    assert article.title == ""
    assert article.intro[0] == first.strip()


def test_the_trailing_signup_call_to_action_is_dropped_and_does_not_become_a_section() -> None:
    article = split(
        ARTICLE + "\nnews via inbox\n\nMail us for latest news and updates\n"
    )
    assert [h for h, _ in article.sections][-1] == "Nerve Blocks"
    assert article.dropped == ["news via inbox", "Mail us for latest news and updates"]
    assert "Mail us" not in " ".join(article.intro + [b for _, bs in article.sections for b in bs])


def test_a_heading_right_after_an_intro_ending_with_a_colon_is_a_heading_not_a_list() -> None:
    text = (
        "Living With Pain\n\nThis guide explains how professional pain management can "
        "provide relief:\n\nWhat Is Chronic Pain?\n\nPain that lasts beyond three months.\n\n"
        "What Causes It?\n\nMany things can.\n"
    )
    article = split(text)
    assert [h for h, _ in article.sections] == ["What Is Chronic Pain?", "What Causes It?"]
    assert article.intro == [
        "This guide explains how professional pain management can provide relief:"
    ]


def test_after_a_lead_in_a_question_heading_that_stands_out_ends_the_list() -> None:
    text = (
        "T\n\nSigns include:\n\nNumbness in the foot\n\nWeakness in both legs\n\n"
        "What Can I Do at Home?\n\nKeep gently active.\n"
    )
    article = split(text)
    assert article.intro == ["Signs include:", "- Numbness in the foot\n- Weakness in both legs"]
    assert [h for h, _ in article.sections] == ["What Can I Do at Home?"]


def test_capitalised_headings_are_sections_and_the_others_sub_headings() -> None:
    text = (
        "Leaflet\n\nIntro.\n\nABOUT THE TREATMENT\n\nWhat Is It?\n\nA treatment.\n\n"
        "Who Is It For?\n\nSome people.\n\nTHE PROCEDURE\n\nOn the Day\n\nYou lie down.\n"
    )
    article = split(text)
    assert [h for h, _ in article.sections] == ["ABOUT THE TREATMENT", "THE PROCEDURE"]
    assert article.sections[0][1] == ["### What Is It?", "A treatment.", "### Who Is It For?",
                                      "Some people."]


def test_tab_separated_lines_become_a_markdown_table() -> None:
    blocks = split_blocks("Intro.\n\nTreatment\tRelief\nNerve block\tWeeks\nRF | heat\tMonths\n")
    assert blocks == [
        "Intro.",
        "| Treatment | Relief |\n| --- | --- |\n| Nerve block | Weeks |\n| RF \\| heat | Months |",
    ]


def test_numbered_steps_separated_by_blank_lines_stay_one_list() -> None:
    assert split_blocks("1. Rest.\n\n2. Ice.\n\n3. Walk.\n\nAfter.") == [
        "1. Rest.\n2. Ice.\n3. Walk.",
        "After.",
    ]


def test_a_breadcrumb_trail_above_the_title_is_skipped_and_reported() -> None:
    article = split("Home > Services > Pain\nThe Real Title\nText of the article.\n")
    assert article.title == "The Real Title"
    assert article.dropped == ["Home > Services > Pain"]


def test_chrome_lines_between_a_heading_and_its_text_do_not_hide_the_heading() -> None:
    text = (
        "T\n\nIntro paragraph.\n\nWhat Is Pacing?\n\nShare this: Facebook Twitter\n\n"
        "Pacing spreads activity out.\n"
    )
    article = split(text)
    assert article.sections == [("What Is Pacing?", ["Pacing spreads activity out."])]
    assert article.dropped == ["Share this: Facebook Twitter"]
