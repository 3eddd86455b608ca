"""Markdown and CMS exports: the author's Markdown kept, references inlined, HTML converted."""

from __future__ import annotations

from newsletter.content.article import Dropped, Unit
from newsletter.content.markdown_source import parse_markdown
from newsletter.content.proposal import propose

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


def texts(markdown: str) -> list[str]:
    return [u.markdown if u.kind == "heading" else u.text for u in parse_markdown(markdown).units()]


def test_the_first_h1_is_the_title_and_blocks_are_sliced_from_the_source_unchanged() -> None:
    parsed = parse_markdown(ARTICLE)
    assert parsed.title == "Living With Chronic Pain"
    assert texts(ARTICLE) == [
        "An *intro* paragraph\nthat wraps over two lines.",
        "## What Is Chronic Pain?",
        "Pain that lasts, with a [link](https://clinic.example.com/pain) and __bold__ text.",
        "### A closer look",
        "- first point\n- second point",
        "> A quote from a patient.",
        "## Nerve Blocks",
        "```\ncode stays as written\n```",
    ]


def test_reference_links_become_inline_links_so_each_issue_file_stands_alone() -> None:
    proposal = propose(parse_markdown(ARTICLE))
    assert "[link](https://clinic.example.com/pain)" in proposal.body(1)
    assert "[ref]:" not in proposal.body(2)


def test_sections_split_at_the_highest_level_that_occurs_below_the_title() -> None:
    proposal = propose(parse_markdown(
        "# T\n\nIntro.\n\n### One\n\nA.\n\n#### Deeper\n\nB.\n\n### Two\n\nC.\n"
    ))
    assert [i.title for i in proposal.issues] == ["One", "Two"]
    assert proposal.body(1) == "Intro.\n\nA.\n\n#### Deeper\n\nB."


def test_front_matter_gives_the_title_and_the_address_for_relative_links() -> None:
    parsed = parse_markdown(
        "---\ntitle: From Front Matter\ncanonical_url: https://clinic.example/blog/x/\n---\n\n"
        "Intro with [a link](/groups/pacing).\n\n## Part\n\n![Chart](img/chart.png)\n"
    )
    assert parsed.title == "From Front Matter"
    assert (parsed.base_url, parsed.base_from) == ("https://clinic.example/blog/x/", "front matter")
    proposal = propose(parsed)
    assert "[a link](https://clinic.example/groups/pacing)" in proposal.body(1)
    assert "![Chart](https://clinic.example/blog/x/img/chart.png)" in proposal.body(1)
    assert proposal.warnings == ()


def test_a_relative_address_in_front_matter_is_not_an_address() -> None:
    parsed = parse_markdown("---\ntitle: T\nurl: /blog/x/\n---\n\nText [here](/a).\n")
    assert parsed.base_url == ""
    assert [w.kind for w in propose(parsed).warnings] == ["relative link"]


def test_html_blocks_become_markdown_and_embedded_video_is_reported() -> None:
    parsed = parse_markdown(
        "# T\n\nIntro.\n\n<figure>\n<img src=\"https://x.example/a.png\" alt=\"A chart\">\n"
        "<figcaption>Weekly activity.</figcaption>\n</figure>\n\n"
        "<div class=\"callout\"><p>Tip: rest <em>before</em> you need to.</p></div>\n\n"
        "<iframe src=\"https://video.example/1\"></iframe>\n"
    )
    items = [i.text if isinstance(i, Unit) else (i.reason, i.text) for i in parsed.items]
    assert items == [
        "Intro.",
        "![A chart](https://x.example/a.png)",
        "*Weekly activity.*",
        "Tip: rest *before* you need to.",
        ("embedded media (cannot be shown in an email)", "embedded iframe https://video.example/1"),
    ]


def test_a_signup_box_written_in_html_is_dropped_by_its_class_and_reported() -> None:
    proposal = propose(parse_markdown(
        "# T\n\n## One\n\nText one.\n\n<div class=\"newsletter-block\"><h3>Hello</h3>"
        "<p>Words here.</p></div>\n\n## Two\n\nText two.\n"
    ))
    assert [proposal.body(i.number) for i in proposal.issues] == ["Text one.", "Text two."]
    assert [(d.reason, d.count) for d in proposal.dropped] == [("signup box", 2)]


def test_a_trailing_signup_section_is_page_chrome() -> None:
    proposal = propose(parse_markdown(
        "# T\n\n## Nerve Blocks\n\nText.\n\n## Other\n\nMore.\n\n## Stay in touch\n\n"
        "Subscribe to our newsletter\n"
    ))
    assert [i.title for i in proposal.issues] == ["Nerve Blocks", "Other"]
    assert [(d.text, d.count) for d in proposal.dropped] == [("Stay in touch", 2)]
    assert all(isinstance(d, Dropped) for d in proposal.dropped)
