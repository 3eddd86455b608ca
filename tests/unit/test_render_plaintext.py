"""The plain-text part is made from the Markdown token stream and reads like a letter."""

from __future__ import annotations

from newsletter.render.plaintext import WIDTH, markdown_to_text


def test_paragraphs_wrap_at_72_columns_without_breaking_urls() -> None:
    url = "https://example.com/" + "a" * 90
    text = markdown_to_text(("word " * 40) + url + " end")
    lines = text.split("\n")
    assert url in lines
    assert all(len(line) <= WIDTH for line in lines if line != url)
    assert len(lines) > 3


def test_emphasis_is_dropped_and_links_read_as_text_then_address() -> None:
    text = markdown_to_text("A *very* **strong** [guide](https://example.com/g) here.")
    assert text == "A very strong guide (https://example.com/g) here."


def test_a_link_whose_text_is_its_address_is_written_once() -> None:
    assert markdown_to_text("<https://example.com/x>") == "https://example.com/x"
    assert markdown_to_text("<ana@example.com>") == "ana@example.com"


def test_headings_are_underlined_and_separated_by_blank_lines() -> None:
    text = markdown_to_text("# Title\n\n## Section\n\n### Detail\n\nBody.")
    assert text == "Title\n=====\n\nSection\n-------\n\nDetail\n\nBody."


def test_lists_keep_markers_and_hanging_indents() -> None:
    long_item = "a long item " * 8
    text = markdown_to_text(f"- one\n- {long_item}\n\n3. three\n4. four\n")
    lines = text.split("\n")
    assert lines[0] == "- one"
    assert lines[1].startswith("- a long item")
    assert lines[2].startswith("  ")
    assert lines[2].strip().endswith("item")
    assert "3. three\n4. four" in text


def test_nested_lists_indent_under_their_parent_item() -> None:
    text = markdown_to_text("- parent\n  1. child\n  2. second\n")
    assert text == "- parent\n  1. child\n  2. second"


def test_quotes_and_code_are_marked_for_plain_text_readers() -> None:
    text = markdown_to_text("> quoted words\n\n```\nx = 1\n```\n")
    assert "> quoted words" in text
    assert "    x = 1" in text


def test_raw_html_stays_as_the_characters_staff_typed() -> None:
    assert markdown_to_text("1 < 2 & <b>bold</b>") == "1 < 2 & <b>bold</b>"
