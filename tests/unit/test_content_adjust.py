"""Merging and splitting a proposal (pure), and replaying staff's changes on a re-import."""

from __future__ import annotations

import pytest

from newsletter.content.adjust import (
    Adjustments,
    adjustments_of,
    apply,
    merge,
    merge_all,
    opening,
    parse_merge,
    split_at,
    split_before_paragraph,
)
from newsletter.content.markdown_source import parse_markdown
from newsletter.content.proposal import ImportProposal, propose
from newsletter.errors import ContentError

ARTICLE = """\
# Guide

Intro.

## One

A.

### One detail

A2.

## Two

B.

## Three

C.
"""


def base() -> ImportProposal:
    return propose(parse_markdown(ARTICLE))


def shape(p: ImportProposal) -> list[tuple[str, str]]:
    return [(i.title, p.body(i.number)) for i in p.issues]


def test_merging_keeps_the_second_heading_inside_the_body() -> None:
    merged = merge(base(), 2, 3)
    assert shape(merged) == [
        ("One", "Intro.\n\nA.\n\n### One detail\n\nA2."),
        ("Two", "B.\n\n## Three\n\nC."),
    ]


def test_splitting_at_a_sub_heading_starts_an_issue_there() -> None:
    split = split_at(base(), "one detail")
    assert [t for t, _ in shape(split)] == ["One", "One detail", "Two", "Three"]
    assert split.body(2) == "A2."


def test_splitting_at_the_first_heading_gives_the_intro_an_issue_named_after_the_article() -> None:
    split = split_at(base(), "One")
    assert shape(split)[:2] == [("Guide", "Intro."), ("One", "A.\n\n### One detail\n\nA2.")]


def test_merge_then_split_gives_back_the_original_split() -> None:
    assert shape(split_at(merge(base(), 2, 3), "Three")) == shape(base())


def test_no_block_is_lost_or_repeated_by_any_merge_or_split() -> None:
    everything = [b.markdown for b in base().blocks]
    for p in (merge(base(), 1, 3), split_at(base(), "One detail"), merge_all(base(), [(1, 2)])):
        seen = []
        for issue in p.issues:
            seen += [b.markdown for b in p.blocks[issue.start:issue.end]]
        assert seen == everything


@pytest.mark.parametrize(
    ("text", "expected"), [("2,3", (2, 3)), ("2-4", (2, 4)), ("2,3,4", (2, 4)), (" 1 , 2 ", (1, 2))]
)
def test_merge_arguments(text: str, expected: tuple[int, int]) -> None:
    assert parse_merge(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [("2", "write the issues to join like 2,3"), ("2,4", "consecutive"), ("a,b", "like 2,3"),
     ("2,4,5", "consecutive")],
)
def test_bad_merge_arguments_say_how_to_write_them(text: str, message: str) -> None:
    with pytest.raises(ContentError, match=message):
        parse_merge(text)


def test_merge_numbers_outside_the_proposal_are_refused_with_the_count() -> None:
    with pytest.raises(ContentError, match=r"from 1 to 3 \(the proposal has 3 issues\)"):
        merge(base(), 3, 4)


def test_several_merges_use_the_numbers_as_shown_and_may_not_overlap() -> None:
    four = split_at(base(), "One detail")
    assert [t for t, _ in shape(merge_all(four, [(1, 2), (3, 4)]))] == ["One", "Two"]
    with pytest.raises(ContentError, match="overlaps"):
        merge_all(base(), [(1, 2), (2, 3)])


def test_a_split_at_an_unknown_heading_lists_the_headings_there_are() -> None:
    with pytest.raises(ContentError, match=r"no such heading \(headings: 'One', 'One detail'"):
        split_at(base(), "Nope")


def test_a_split_where_an_issue_already_starts_is_refused() -> None:
    with pytest.raises(ContentError, match="'Two' already starts issue 2"):
        split_at(base(), "Two")


def test_adjustments_are_recorded_by_heading_and_replayed_on_a_changed_article() -> None:
    adjusted = split_at(merge(base(), 2, 3), "One detail")
    recorded = adjustments_of(adjusted)
    assert recorded == Adjustments(joined=("Three",), split_at=("One detail",))
    changed = propose(parse_markdown(ARTICLE.replace("B.", "B, rewritten.") + "\n## Four\n\nD.\n"))
    replayed, problems = apply(changed, recorded)
    assert problems == []
    assert [i.title for i in replayed.issues] == ["One", "One detail", "Two", "Four"]


def test_an_adjustment_whose_heading_is_gone_is_reported_not_guessed() -> None:
    gone = propose(parse_markdown(ARTICLE.replace("## Three", "## Third part")))
    replayed, problems = apply(gone, Adjustments(joined=("Three",)))
    assert [i.title for i in replayed.issues] == ["One", "Two", "Third part"]
    assert problems == ["the recorded merge at 'Three' no longer applies "
                        "(the article has no issue starting there)"]


LONG_SECTION = """\
# Guide

Intro.

## One

First paragraph of one.

Second paragraph of one, which could start an issue of its own.

Third paragraph of one.

## Two

B.
"""


def long_base() -> ImportProposal:
    return propose(parse_markdown(LONG_SECTION))


def paragraph_index(p: ImportProposal, starts: str) -> int:
    return next(i for i, b in enumerate(p.blocks) if b.markdown.startswith(starts))


def test_splitting_between_two_paragraphs_starts_an_issue_called_after_the_heading_above() -> None:
    p = long_base()
    split = split_before_paragraph(p, paragraph_index(p, "Second paragraph"))
    assert shape(split) == [
        ("One", "Intro.\n\nFirst paragraph of one."),
        ("One (continued)",
         "Second paragraph of one, which could start an issue of its own.\n\n"
         "Third paragraph of one."),
        ("Two", "B."),
    ]


def test_a_paragraph_split_keeps_every_block_once_and_in_order() -> None:
    p = long_base()
    split = split_before_paragraph(p, paragraph_index(p, "Third paragraph"))
    seen = [b.markdown for issue in split.issues for b in split.blocks[issue.start:issue.end]]
    assert seen == [b.markdown for b in p.blocks]
    assert merge(split, 1, 2).cuts == p.cuts


def test_a_paragraph_split_where_an_issue_already_starts_or_outside_the_article_is_refused() -> (
        None):
    p = long_base()
    with pytest.raises(ContentError, match="issue 1 already starts at that point"):
        split_before_paragraph(p, 0)
    with pytest.raises(ContentError, match="no block 99"):
        split_before_paragraph(p, 99)


def test_a_paragraph_split_at_a_heading_is_a_heading_split() -> None:
    p = long_base()
    heading = next(i for i, b in enumerate(p.blocks) if b.heading == "One")
    assert shape(split_before_paragraph(p, heading)) == shape(split_at(p, "One"))


def test_a_paragraph_split_is_recorded_by_its_opening_words_and_replayed_after_an_edit() -> None:
    p = long_base()
    split = split_before_paragraph(p, paragraph_index(p, "Second paragraph"))
    recorded = adjustments_of(split)
    assert recorded == Adjustments(split_at_paragraph=(
        "Second paragraph of one, which could start an issue of its own.",))
    assert opening(split, paragraph_index(p, "Second paragraph")).split()[-1] == "own."
    edited = propose(parse_markdown(LONG_SECTION.replace("B.", "B, rewritten.")))
    replayed, problems = apply(edited, recorded)
    assert problems == []
    assert [i.title for i in replayed.issues] == ["One", "One (continued)", "Two"]


def test_a_recorded_paragraph_split_whose_paragraph_is_gone_is_reported() -> None:
    gone = propose(parse_markdown(LONG_SECTION.replace("Second paragraph", "Another paragraph")))
    replayed, problems = apply(gone, Adjustments(split_at_paragraph=("Second paragraph of one",)))
    assert [i.title for i in replayed.issues] == ["One", "Two"]
    assert problems == ["the recorded split before the paragraph 'Second paragraph of one…' no "
                        "longer applies (the article has no paragraph starting that way)"]
