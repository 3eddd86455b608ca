"""Format detection: the file extension decides, else the content."""

from __future__ import annotations

import pytest

from newsletter.content.detect import detect_format


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.txt", "text"),
        ("a.md", "markdown"),
        ("A.MARKDOWN", "markdown"),
        ("page.html", "html"),
        ("page.htm", "html"),
    ],
)
def test_the_extension_decides_when_it_is_known(name: str, expected: str) -> None:
    assert detect_format(name, "# looks like markdown\n\n<p>and html</p>") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<!DOCTYPE html><html><body><p>x</p></body></html>", "html"),
        ("<p>one</p><p>two</p>", "html"),
        ("Title\n\nText with <b>bold</b> only.", "text"),
        ("# Title\n\n## Part\n\nText.", "markdown"),
        ("Title\n=====\n\nText.", "markdown"),
        ("Title\n\nWhat Causes It?\n\nText.", "text"),
    ],
)
def test_without_a_known_extension_the_content_decides(text: str, expected: str) -> None:
    assert detect_format("article", text) == expected
    assert detect_format(None, text) == expected
