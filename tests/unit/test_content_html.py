"""HTML pages: furniture removed, title from <h1> or <title>, links and emphasis kept."""

from __future__ import annotations

from newsletter.content.html_source import parse_html

PAGE = """<!doctype html>
<html><head><title>Clinic | Pain</title><style>p{color:red}</style></head>
<body>
<header><a href="/">Riverside</a><nav><a href="/a">About</a></nav></header>
<main>
  <h1>Living With Chronic Pain</h1>
  <p>An <em>intro</em> with a <a href="https://clinic.example.com/x">link</a>.</p>
  <h2>What Is Chronic Pain?</h2>
  <p>Pain that <strong>lasts</strong>.</p>
  <h3>Signs</h3>
  <ul><li>Poor sleep</li><li>Low mood</li></ul>
  <h2>Nerve Blocks</h2>
  <div>Loose text in a div.</div>
  <script>alert(1)</script>
  <aside><p>Related: other posts</p></aside>
  <p>news via inbox</p>
  <form><input name="email"><button>Mail us for latest news and updates</button></form>
</main>
<footer><p>Copyright</p></footer>
</body></html>
"""


def test_title_comes_from_the_h1_and_sections_from_the_h2s() -> None:
    article = parse_html(PAGE)
    assert article.title == "Living With Chronic Pain"
    assert [s.heading for s in article.sections] == ["What Is Chronic Pain?", "Nerve Blocks"]


def test_paragraphs_become_markdown_keeping_links_and_emphasis() -> None:
    article = parse_html(PAGE)
    assert article.intro == ["An *intro* with a [link](https://clinic.example.com/x)."]
    assert article.sections[0].blocks == [
        "Pain that **lasts**.",
        "### Signs",
        "- Poor sleep\n- Low mood",
    ]


def test_scripts_navigation_asides_forms_and_the_trailing_call_to_action_are_gone() -> None:
    article = parse_html(PAGE)
    assert article.sections[1].blocks == ["Loose text in a div."]
    assert article.dropped == ["news via inbox"]
    everything = " ".join(article.content_blocks())
    for furniture in ("alert", "About", "Related", "Copyright", "Mail us"):
        assert furniture not in everything


def test_the_page_title_is_used_when_there_is_no_h1() -> None:
    article = parse_html("<html><head><title>Only Title</title></head><body><p>Text.</p></body>")
    assert article.title == "Only Title"
    assert article.intro == ["Text."]


def test_sections_split_at_the_highest_level_present() -> None:
    article = parse_html("<h1>T</h1><h3>A</h3><p>a.</p><h3>B</h3><p>b.</p>")
    assert [s.heading for s in article.sections] == ["A", "B"]
