"""Subjects: staff's text in the file, "part N of M" from the series as it is when rendered."""

from __future__ import annotations

import pytest

from newsletter.content.subjects import default_subject, strip_part, subject_line


@pytest.mark.parametrize(
    ("subject", "position", "total", "sent"),
    [
        ("Nerve Blocks – Living With Pain", 3, 5, "Nerve Blocks – Living With Pain (part 3 of 5)"),
        ("Nerve Blocks (part 4 of 4)", 4, 5, "Nerve Blocks (part 4 of 5)"),
        ("Chronic pain, Part 1 of 3: what it is", 1, 4, "Chronic pain, Part 1 of 4: what it is"),
        ("Part 2: What causes it?", 2, 3, "Part 2: What causes it?"),
        ("Welcome", 1, 1, "Welcome"),
        ("Welcome (part 1 of 2)", 1, 1, "Welcome"),
    ],
)
def test_the_sent_subject_carries_the_current_part_number(
    subject: str, position: int, total: int, sent: str
) -> None:
    assert subject_line(subject, position, total) == sent


def test_a_fifth_issue_renumbers_every_subject_without_touching_the_files() -> None:
    subjects = [f"Heading {n} (part {n} of 4)" for n in range(1, 5)] + ["Heading 5"]
    assert [subject_line(s, n, 5) for n, s in enumerate(subjects, start=1)] == [
        f"Heading {n} (part {n} of 5)" for n in range(1, 6)]


@pytest.mark.parametrize(
    ("heading", "series", "subject"),
    [
        ("Your first appointment", "Back Pain and Physiotherapy",
         "Your first appointment – Back Pain and Physiotherapy"),
        ("Living With Pain", "Living With Pain", "Living With Pain"),
        ("Pacing", "Pacing: a practical guide", "Pacing: a practical guide"),
        ("Nerve blocks", "", "Nerve blocks"),
    ],
)
def test_the_default_subject_names_the_series_so_it_reads_right_in_an_inbox(
    heading: str, series: str, subject: str
) -> None:
    assert default_subject(heading, series) == subject


def test_a_frozen_part_number_can_be_stripped() -> None:
    assert strip_part("Nerve Blocks (part 3 of 5)") == "Nerve Blocks"
