"""Page chrome: only a short signup call-to-action at the very end is removed."""

from __future__ import annotations

import pytest

from newsletter.content.article import Unit
from newsletter.content.chrome import is_chrome, strip_trailing_chrome


@pytest.mark.parametrize(
    "text",
    [
        "news via inbox",
        "News via Inbox",
        "Mail us for latest news and updates",
        "news via inbox: mail us for latest news and updates",
        "Subscribe to our newsletter",
        "Enter your email",
        "Enter your e-mail address",
        "Sign up for our newsletter!",
        "Stay connected",
    ],
)
def test_signup_calls_to_action_are_recognised_case_insensitively(text: str) -> None:
    assert is_chrome(text)


@pytest.mark.parametrize(
    "text",
    [
        "Nerve Blocks",
        "Ask your doctor whether a nerve block suits you.",
        # Long paragraphs that mention subscribing are content, whatever their position.
        "Many patients ask whether they should subscribe to our newsletter or simply call us; "
        "both are fine, and our nurses are happy to talk through your options with you "
        "before and after each appointment.",
    ],
)
def test_content_is_not_chrome(text: str) -> None:
    assert not is_chrome(text)


def test_only_the_end_of_the_article_is_stripped() -> None:
    units = [
        Unit.block("Subscribe to our newsletter"),  # mid-article: kept
        Unit.heading("Nerve Blocks", 2),
        Unit.block("An injection near a nerve."),
        Unit.block("news via inbox"),
        Unit.block("Mail us for latest news and updates"),
    ]
    kept, dropped = strip_trailing_chrome(units)
    assert kept == units[:3]
    assert dropped == ["news via inbox", "Mail us for latest news and updates"]


def test_the_scan_stops_at_the_first_real_paragraph_from_the_end() -> None:
    units = [
        Unit.block("Enter your email"),
        Unit.block("A real closing paragraph."),
    ]
    assert strip_trailing_chrome(units) == (units, [])


def test_a_heading_left_empty_by_the_call_to_action_goes_with_it() -> None:
    units = [
        Unit.heading("Nerve Blocks", 2),
        Unit.block("An injection near a nerve."),
        Unit.heading("Newsletter Signup", 2),
        Unit.block("Enter your email"),
    ]
    kept, dropped = strip_trailing_chrome(units)
    assert kept == units[:2]
    assert dropped == ["Newsletter Signup", "Enter your email"]
