"""Markdown bodies become email-safe HTML."""

from __future__ import annotations

from newsletter.render.markdown import markdown_to_html


def test_raw_html_in_a_body_is_shown_as_text_not_passed_through() -> None:
    html = markdown_to_html("Before <div><script>alert(1)</script> after")
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "<div>" not in html


def test_elements_carry_inline_styles_because_mail_clients_drop_style_blocks() -> None:
    html = markdown_to_html("## Heading\n\nText with a [link](https://example.com).\n\n- item\n")
    assert '<h2 style="' in html
    assert '<p style="' in html
    assert '<a href="https://example.com" style="' in html
    assert '<li style="' in html


def test_ampersands_in_link_addresses_are_escaped_once() -> None:
    html = markdown_to_html("[guide](https://example.com/a?b=1&c=2)")
    assert 'href="https://example.com/a?b=1&amp;c=2"' in html


def test_tables_and_strikethrough_are_rendered() -> None:
    html = markdown_to_html("| a | b |\n|---|---|\n| 1 | 2 |\n\n~~old~~")
    assert "<table" in html
    assert "<td" in html
    assert "<s>old</s>" in html
