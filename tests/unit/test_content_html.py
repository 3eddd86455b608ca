"""Saved web pages: the extractor finds the article, the rest is reported; links, images kept."""

from __future__ import annotations

import pytest

from newsletter.content.article import Dropped
from newsletter.content.html_source import parse_html
from newsletter.content.proposal import ImportProposal, propose

PAGE = """<!doctype html>
<html><head><title>Clinic | Pain</title><style>p{color:red}</style>
<link rel="canonical" href="https://clinic.example.com/blog/living-with-pain/"></head>
<body>
<header><a href="/">Riverside</a><nav><a href="/a">About</a> <a href="/b">Blog</a></nav></header>
<main>
  <h1>Living With Chronic Pain</h1>
  <p class="entry-meta">Posted on March 3, 2026 by Dr. Lee</p>
  <p>An <em>intro</em> with a <a href="https://other.example/x">link</a> and enough words to be
  a real paragraph of the article that a reader would want to keep.</p>
  <h2>What Is Chronic Pain?</h2>
  <p>Pain that <strong>lasts</strong> longer than the time an injury takes to heal, often for
  months, and that deserves care in its own right.</p>
  <h3>Signs</h3>
  <ul><li>Poor sleep</li><li>Low mood</li></ul>
  <div class="share-buttons"><a href="https://facebook.example/share">Facebook</a></div>
  <h2>Nerve Blocks</h2>
  <p>A nerve block is an injection of local anaesthetic close to a nerve that carries pain
  signals. Our <a href="/treatments/nerve-blocks">treatment page</a> explains more.</p>
  <figure><img src="/img/needle.png" alt="Ultrasound image of a needle near a nerve">
  <figcaption>Guided by ultrasound.</figcaption></figure>
  <p>Short.</p>
  <p>Most people go home the same day, and the numbness wears off within a few hours.</p>
  <script>alert(1)</script>
</main>
<aside class="sidebar"><h2>Recent Posts</h2><p>Related: other posts</p></aside>
<footer><p>Copyright Riverside</p></footer>
</body></html>
"""


def proposal_of(page: str, **options: str) -> ImportProposal:
    return propose(parse_html(page, **options))


def test_title_comes_from_the_h1_and_issues_from_the_h2s() -> None:
    proposal = proposal_of(PAGE)
    assert proposal.title == "Living With Chronic Pain"
    assert [i.title for i in proposal.issues] == ["What Is Chronic Pain?", "Nerve Blocks"]


def test_relative_links_and_images_are_made_absolute_against_the_canonical_address() -> None:
    proposal = proposal_of(PAGE)
    body = proposal.body(2)
    assert "[treatment page](https://clinic.example.com/treatments/nerve-blocks)" in body
    assert ("![Ultrasound image of a needle near a nerve]"
            "(https://clinic.example.com/img/needle.png)") in body
    assert (proposal.base_url, proposal.base_from) == (
        "https://clinic.example.com/blog/living-with-pain/", "canonical link")
    assert proposal.warnings == ()


def test_the_source_url_given_by_staff_wins_over_the_canonical_link() -> None:
    proposal = proposal_of(PAGE, source_url="https://www.riverside.example/pain/")
    assert "(https://www.riverside.example/treatments/nerve-blocks)" in proposal.body(2)
    assert proposal.base_from == "--source-url"


def test_without_any_address_relative_links_stay_and_each_is_reported() -> None:
    page = PAGE.replace(
        '<link rel="canonical" href="https://clinic.example.com/blog/living-with-pain/">', "")
    proposal = proposal_of(page)
    kinds = [(w.kind, proposal.issue_number_at(w.seq)) for w in proposal.warnings]
    assert kinds == [("relative link", 2), ("relative image", 2)]
    assert "/treatments/nerve-blocks" in proposal.warnings[0].message


def test_paragraphs_keep_emphasis_lists_and_the_figure_caption() -> None:
    proposal = proposal_of(PAGE)
    assert [b.markdown for b in proposal.body_blocks(1)][1:] == [
        "Pain that **lasts** longer than the time an injury takes to heal, often for months, "
        "and that deserves care in its own right.",
        "### Signs",
        "- Poor sleep\n- Low mood",
    ]
    blocks = [b.markdown for b in proposal.body_blocks(2)]
    assert "*Guided by ultrasound.*" in blocks
    assert "Short." in blocks  # extractors drop short paragraphs; inside the article we keep them


def test_everything_left_out_is_reported_with_where_it_was_on_the_page() -> None:
    proposal = proposal_of(PAGE)
    report = [(proposal.place(d.seq), d.reason, d.text) for d in proposal.dropped]
    assert report == [
        ("top of the page", "page header", "Riverside"),
        ("top of the page", "navigation", "About Blog"),
        ("top of the page", "byline", "Posted on March 3, 2026 by Dr. Lee"),
        ("issue 1", "share bar", "Facebook"),
        ("end of the page", "sidebar", "Recent Posts"),
        ("end of the page", "page footer", "Copyright Riverside"),
    ]
    everything = " ".join(b.markdown for b in proposal.blocks)
    for furniture in ("alert", "About", "Related", "Copyright", "Posted on"):
        assert furniture not in everything


def test_an_embedded_video_is_reported_because_an_email_cannot_show_it() -> None:
    page = PAGE.replace("<p>Short.</p>", '<p><iframe src="https://video.example/1"></iframe></p>')
    dropped = proposal_of(page).dropped
    assert Dropped("embedded iframe https://video.example/1",
                   "embedded media (cannot be shown in an email)", 1) in [
        Dropped(d.text, d.reason, d.count) for d in dropped]


def test_a_lazy_loaded_image_uses_its_real_address_not_the_placeholder() -> None:
    page = PAGE.replace(
        '<img src="/img/needle.png"',
        '<img src="data:image/gif;base64,R0lGOD" data-src="/img/needle.png"',
    )
    assert "(https://clinic.example.com/img/needle.png)" in proposal_of(page).body(2)


def test_an_image_without_alt_text_is_kept_and_reported() -> None:
    page = PAGE.replace(' alt="Ultrasound image of a needle near a nerve"', "")
    proposal = proposal_of(page)
    assert "![](https://clinic.example.com/img/needle.png)" in proposal.body(2)
    assert [w.kind for w in proposal.warnings] == ["image without alt text"]


def test_the_page_title_is_used_when_there_is_no_h1() -> None:
    proposal = proposal_of(
        "<html><head><title>Only Title | Riverside Clinic</title></head>"
        "<body><p>Text of a page long enough to be read as an article by anyone.</p></body>"
    )
    assert proposal.title == "Only Title"
    assert proposal.body(1) == "Text of a page long enough to be read as an article by anyone."


def test_headings_the_extractor_leaves_out_around_kept_paragraphs_are_kept() -> None:
    # trafilatura keeps only the two paragraphs of this small page.
    proposal = propose(parse_html("<h1>T</h1><h3>Ice</h3><p>Ice.</p><h3>Heat</h3><p>Heat.</p>"))
    assert [(i.title, proposal.body(i.number)) for i in proposal.issues] == [
        ("Ice", "Ice."), ("Heat", "Heat.")]


def test_when_the_extractor_finds_nothing_the_article_element_decides_and_a_note_says_so() -> None:
    parsed = parse_html("<p>x</p>")  # trafilatura returns nothing for a page this small
    assert parsed.notes == ["trafilatura could not tell the article from the rest of this page; "
                            "used the page's <article>/<main>"]
    assert propose(parsed).body(1) == "x"


def test_a_page_header_the_extractor_kept_is_still_dropped_because_the_page_names_it() -> None:
    proposal = propose(parse_html("<html><body><header>Clinic</header><main><p>x</p></main>"
                                  "</body></html>"))
    assert proposal.body(1) == "x"
    assert [(d.reason, d.text) for d in proposal.dropped] == [("page header", "Clinic")]


@pytest.mark.parametrize("extractor", ["trafilatura", "readability", "landmarks"])
def test_every_extractor_keeps_the_article_of_the_sample_page(extractor: str) -> None:
    proposal = proposal_of(PAGE, extractor=extractor)
    assert [i.title for i in proposal.issues] == ["What Is Chronic Pain?", "Nerve Blocks"]
    assert "Copyright" not in " ".join(b.markdown for b in proposal.blocks)
