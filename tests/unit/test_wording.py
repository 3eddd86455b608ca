"""Counts in sentences people read take the right plural (issue 13, item 18)."""

from __future__ import annotations

from newsletter.wording import count


def test_one_is_singular_and_every_other_number_is_plural() -> None:
    assert count(1, "new recipient") == "1 new recipient"
    assert count(0, "new recipient") == "0 new recipients"
    assert count(2, "row") == "2 rows"


def test_an_irregular_plural_can_be_given() -> None:
    assert count(3, "series", "series") == "3 series"
    assert count(1, "person", "people") == "1 person"
    assert count(4, "person", "people") == "4 people"
