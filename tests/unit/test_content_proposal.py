"""The import proposal: sections, boxes and FAQs, pull quotes, word counts and flags, places."""

from __future__ import annotations

from newsletter.content.markdown_source import parse_markdown
from newsletter.content.proposal import ImportProposal, propose

WORDS = "word " * 80


def proposal(text: str) -> ImportProposal:
    return propose(parse_markdown(text))


def titles(p: ImportProposal) -> list[str]:
    return [i.title for i in p.issues]


def test_a_key_takeaways_box_stays_inside_an_issue_as_a_sub_heading() -> None:
    p = proposal("# T\n\n## Key takeaways\n\n- Rest\n- Move\n\nIntro.\n\n## One\n\nA.\n\n"
                 "## Two\n\nB.\n")
    assert titles(p) == ["One", "Two"]
    assert p.body(1) == "### Key takeaways\n\n- Rest\n- Move\n\nIntro.\n\nA."


def test_faq_questions_at_section_level_stay_in_one_faq_issue() -> None:
    p = proposal("# T\n\n## Care\n\nText.\n\n## Frequently asked questions\n\n"
                 "## Does it hurt?\n\nA little.\n\n## How long?\n\nA week.\n\n"
                 "## After care\n\nRest.\n")
    assert titles(p) == ["Care", "Frequently asked questions", "After care"]
    assert p.body(2) == "### Does it hurt?\n\nA little.\n\n### How long?\n\nA week."


def test_a_lone_top_heading_above_several_sub_headings_splits_one_level_down() -> None:
    p = proposal("# T\n\n## A subtitle under the title\n\nIntro.\n\n### One\n\nA.\n\n"
                 "### Two\n\nB.\n")
    assert titles(p) == ["One", "Two"]
    assert p.body(1) == "## A subtitle under the title\n\nIntro.\n\nA."


def test_an_article_with_one_section_is_one_issue_named_after_the_article() -> None:
    p = proposal("# Welcome\n\nIntro.\n\n## What to expect\n\nText.\n")
    assert titles(p) == ["Welcome"]
    assert p.body(1) == "Intro.\n\n## What to expect\n\nText."


def test_an_empty_section_heading_goes_with_the_next_issue() -> None:
    p = proposal("# T\n\n## One\n\nA.\n\n## Treatments\n\n## Nerve blocks\n\nB.\n")
    assert titles(p) == ["One", "Treatments"]
    assert p.body(2) == "## Nerve blocks\n\nB."


def test_a_pull_quote_repeating_the_article_is_dropped_and_reported_where_it_was() -> None:
    p = proposal("# T\n\n## One\n\nPacing keeps your activity steady instead of letting the pain "
                 "decide, and that helps.\n\n> Pacing keeps your activity steady instead of "
                 "letting the pain decide\n\n## Two\n\nB.\n")
    assert p.body(1).count("Pacing keeps") == 1
    assert [(d.reason, p.place(d.seq)) for d in p.dropped] == [
        ("pull quote (repeats the article)", "issue 1")]


def test_identical_paragraphs_are_both_kept_because_neither_is_a_pull_quote() -> None:
    same = "We will call you the day after the procedure to ask how you are."
    p = proposal(f"# T\n\n## One\n\n{same}\n\n## Two\n\n{same}\n")
    assert [p.body(1), p.body(2)] == [same, same]


def test_every_issue_has_a_word_count_and_flags_compare_it_with_the_others() -> None:
    p = proposal(f"# T\n\n## One\n\n{WORDS}\n\n## Two\n\n{WORDS}\n\n## Three\n\nToo short.\n\n"
                 f"## Four\n\n{WORDS * 6}\n\n## Five\n\n{WORDS}\n")
    assert [(i.words, i.flags) for i in p.issues] == [
        (80, ()), (80, ()), (2, ("short",)), (480, ("long",)), (80, ())]


def test_a_single_issue_is_never_flagged() -> None:
    assert proposal("# T\n\nShort.\n").issues[0].flags == ()


def test_places_say_top_of_the_page_an_issue_or_end_of_the_page() -> None:
    p = proposal("# T\n\nPosted on March 3, 2026 by Dr. Lee\n\n## One\n\nA.\n\nTags: x\n\n"
                 "## Two\n\nB.\n\nBook an appointment\n")
    assert [(d.reason, p.place(d.seq)) for d in p.dropped] == [
        ("byline", "top of the page"), ("tag list", "issue 1"),
        ("call to action", "end of the page")]
