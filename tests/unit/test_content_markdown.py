"""Markdown articles: the author's Markdown is kept exactly; sections at the top level present."""

from __future__ import annotations

from newsletter.content.markdown_source import parse_markdown

ARTICLE = """\
# Living With Chronic Pain

An *intro* paragraph
that wraps over two lines.

## What Is Chronic Pain?

Pain that lasts, with a [link][ref] and __bold__ text.

### A closer look

- first point
- second point

> A quote from a patient.

## Nerve Blocks

```
code stays as written
```

[ref]: https://clinic.example.com/pain
"""


def test_the_first_h1_is_the_title_and_sections_split_at_h2() -> None:
    article = parse_markdown(ARTICLE)
    assert article.title == "Living With Chronic Pain"
    assert [s.heading for s in article.sections] == ["What Is Chronic Pain?", "Nerve Blocks"]


def test_blocks_are_sliced_from_the_source_unchanged() -> None:
    article = parse_markdown(ARTICLE)
    assert article.intro == ["An *intro* paragraph\nthat wraps over two lines."]
    assert article.sections[0].blocks == [
        "Pain that lasts, with a [link][ref] and __bold__ text.",
        "### A closer look",
        "- first point\n- second point",
        "> A quote from a patient.",
    ]


def test_link_reference_definitions_are_kept_even_though_no_token_covers_them() -> None:
    article = parse_markdown(ARTICLE)
    assert article.sections[1].blocks == [
        "```\ncode stays as written\n```",
        "[ref]: https://clinic.example.com/pain",
    ]


def test_sections_split_at_the_highest_level_that_occurs_below_the_title() -> None:
    article = parse_markdown(
        "# T\n\nIntro.\n\n### One\n\nA.\n\n#### Deeper\n\nB.\n\n### Two\n\nC.\n"
    )
    assert [s.heading for s in article.sections] == ["One", "Two"]
    assert article.sections[0].blocks == ["A.", "#### Deeper", "B."]


def test_front_matter_is_skipped_and_its_title_used_when_there_is_no_h1() -> None:
    article = parse_markdown("---\ntitle: From Front Matter\n---\n\nIntro.\n\n## Part\n\nText.\n")
    assert article.title == "From Front Matter"
    assert article.intro == ["Intro."]
    assert [s.heading for s in article.sections] == ["Part"]


def test_a_trailing_signup_section_is_page_chrome() -> None:
    article = parse_markdown(
        "# T\n\n## Nerve Blocks\n\nText.\n\n## Stay in touch\n\nSubscribe to our newsletter\n"
    )
    assert [s.heading for s in article.sections] == ["Nerve Blocks"]
    assert article.dropped == ["Stay in touch", "Subscribe to our newsletter"]
