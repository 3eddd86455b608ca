"""Page chrome anywhere in an article: recognised by its short wording, dropped and reported."""

from __future__ import annotations

import pytest

from newsletter.content.article import Dropped, Unit, numbered
from newsletter.content.chrome import coalesce, drop_blocks, drop_regions
from newsletter.content.chrome_rules import block_reason, region_reason


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Posted on March 3, 2026 by Dr. Lee | 4 comments", "byline"),
        ("By Dr. Lee · 5 min read", "byline"),
        ("By Anna Ferreira | 6 min read", "byline"),
        ("Published 14 February 2026", "byline"),
        ("Medically reviewed by Dr. Okafor", "byline"),
        ("March 3, 2026", "byline"),
        ("Share this: Facebook Twitter LinkedIn Email", "share bar"),
        ("Facebook Twitter LinkedIn", "share bar"),
        ("Share on Facebook", "share bar"),
        ("Tags: back pain, exercise, self-care", "tag list"),
        ("Filed under: Joint pain, Injections", "tag list"),
        ("Posted in Treatments", "tag list"),
        ("4 comments", "comment count"),
        ("12 views 0 comments", "comment count"),
        ("Related: Sleeping better with pain", "related posts"),
        ("Read more: How our physiotherapists can help", "related posts"),
        ("A few changes to your evening can help you rest. Read more »", "related posts"),
        ("Book an appointment", "call to action"),
        ("Book a consultation", "call to action"),
        ("Call us on 0123 456 789 to book or change an appointment.", "call to action"),
        ("Find out more", "call to action"),
        ("news via inbox", "signup box"),
        ("Mail us for latest news and updates", "signup box"),
        ("Subscribe to our newsletter", "signup box"),
        ("Sign up for our newsletter!", "signup box"),
        ("Enter your e-mail address", "signup box"),
        ("We use cookies to improve your experience. Accept", "cookie notice"),
        ("Home > Services > Pain management", "breadcrumbs"),
        ("Print this page", "page tools"),
        ("Jump back to the top of the page.", "page tools"),
        ("Page last reviewed: 3 March 2026", "review date"),
        ("Was this page helpful?", "feedback question"),
        ("Your email address will not be published. Required fields are marked *",
         "comment form"),
    ],
)
def test_chrome_blocks_are_recognised_with_their_reason(text: str, reason: str) -> None:
    assert block_reason(text) == reason


@pytest.mark.parametrize(
    "text",
    [
        "Nerve Blocks",
        "Ask your doctor whether a nerve block suits you.",
        "By March you will usually feel the benefit.",
        "Call your doctor now if you have a fever after the injection.",
        "Contact us if your pain gets worse after the procedure.",
        "Published in the journal Pain in 2019, the study followed four hundred patients.",
        "Some people should subscribe to a written plan from their doctor before starting.",
        "Share your worries with the nurse before the procedure begins.",
        "Visit the pacing page to read more.",
        # Long paragraphs that mention subscribing are content, whatever their position.
        "Many patients ask whether they should subscribe to our newsletter or simply call us; "
        "both are fine, and our nurses are happy to talk through your options with you "
        "before and after each appointment.",
    ],
)
def test_content_that_mentions_chrome_words_is_not_chrome(text: str) -> None:
    assert block_reason(text) is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Related Posts", "related posts"),
        ("You might also like", "related posts"),
        ("Leave a Reply", "comments"),
        ("4 thoughts on “Pacing”", "comments"),
        ("About the author", "author bio"),
        ("About Dr. Lee", "author bio"),
        ("Stay connected", "signup box"),
        ("Share this", "share bar"),
    ],
)
def test_headings_that_open_a_chrome_region(text: str, reason: str) -> None:
    assert region_reason(text) == reason


def units(*items: Unit) -> list[Unit]:
    return [item for item in numbered(list(items)) if isinstance(item, Unit)]


def test_chrome_blocks_are_dropped_wherever_they_are_and_reported_in_order() -> None:
    article = units(
        Unit.block("Posted on March 3, 2026 by Dr. Lee"),
        Unit.block("First paragraph."),
        Unit.block("Share this: Facebook Twitter"),
        Unit.heading("Nerve Blocks", 2),
        Unit.block("An injection near a nerve."),
        Unit.block("Tags: back pain"),
    )
    kept, dropped = drop_blocks(article)
    assert [u.text for u in kept] == ["First paragraph.", "Nerve Blocks",
                                      "An injection near a nerve."]
    assert [(d.reason, d.seq) for d in dropped] == [("byline", 0), ("share bar", 2),
                                                    ("tag list", 5)]


def test_a_unit_the_page_marks_as_chrome_is_dropped_whatever_its_words() -> None:
    article = units(Unit.block("Ordinary words.", hint="share bar"), Unit.block("Text."))
    kept, dropped = drop_blocks(article)
    assert [u.text for u in kept] == ["Text."]
    assert dropped == [Dropped("Ordinary words.", "share bar", 1, 0)]


def test_a_related_posts_region_takes_its_short_lines_and_stops_at_prose() -> None:
    article = units(
        Unit.block("A paragraph of the article that is long enough to be prose here."),
        Unit.block("Related Posts"),
        Unit.block("Sleeping Better With Pain"),
        Unit.block("What to Expect From a Nerve Block"),
    )
    kept, dropped = drop_regions(article)
    assert [u.seq for u in kept] == [0]
    assert [(d.reason, d.count) for d in dropped] == [("related posts", 3)]


def test_a_comment_region_runs_to_the_next_heading_of_its_level() -> None:
    article = units(
        Unit.heading("Part one", 2),
        Unit.block("Text of part one."),
        Unit.heading("3 comments", 2),
        Unit.block("Great article, thanks, it helped me understand my pain much better."),
        Unit.heading("Maria", 3),
        Unit.heading("Part two", 2),
        Unit.block("Text of part two."),
    )
    kept, dropped = drop_regions(article)
    assert [u.text for u in kept] == ["Part one", "Text of part one.", "Part two",
                                      "Text of part two."]
    assert [(d.reason, d.count) for d in dropped] == [("comments", 3)]


def test_a_heading_left_with_nothing_under_it_at_the_end_is_dropped_and_reported() -> None:
    article = units(Unit.heading("Nerve Blocks", 2), Unit.block("Text."),
                    Unit.heading("Newsletter Signup", 2))
    kept, dropped = drop_regions(article)
    assert [u.text for u in kept] == ["Nerve Blocks", "Text."]
    assert dropped[0].reason == "heading with nothing under it"


def test_reply_links_after_a_comment_section_are_folded_into_its_line() -> None:
    region = Dropped("2 Comments", "comments", 3, seq=10, until=12)
    reply = Dropped("Reply", "comment form", 1, seq=13)
    unrelated = Dropped("Tags: x", "tag list", 1, seq=14)
    assert coalesce([region, reply, unrelated], kept_seqs=[1, 2]) == [
        Dropped("2 Comments", "comments", 4, 10, 13, ("2 Comments", "Reply")),
        unrelated,
    ]
