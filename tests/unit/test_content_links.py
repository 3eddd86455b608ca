"""Links and images in imported Markdown: resolved against the article's address, else reported."""

from __future__ import annotations

from newsletter.content.links import absolutize_markdown, choose_base, link_warnings

BASE = "https://clinic.example/blog/pacing/"


def test_relative_links_images_and_references_are_resolved_as_a_browser_would() -> None:
    text = ("See [the group](/groups/pacing) and ![Chart](img/chart.png \"Weekly\") or "
            "[![Logo](logo.png)](../) and [top](#top) but not [mail](mailto:a@b.example).\n\n"
            "[ref]: notes.html")
    assert absolutize_markdown(text, BASE) == (
        "See [the group](https://clinic.example/groups/pacing) and "
        "![Chart](https://clinic.example/blog/pacing/img/chart.png \"Weekly\") or "
        "[![Logo](https://clinic.example/blog/pacing/logo.png)](https://clinic.example/blog/) and "
        "[top](https://clinic.example/blog/pacing/#top) but not [mail](mailto:a@b.example).\n\n"
        "[ref]: https://clinic.example/blog/pacing/notes.html")


def test_without_an_address_nothing_is_rewritten() -> None:
    assert absolutize_markdown("[a](/x)", "") == "[a](/x)"


def test_what_cannot_work_in_an_email_is_reported() -> None:
    kinds = [w.kind for w in link_warnings(
        "[a](/x) [b](#top) ![](https://x.example/a.png) ![chart.png](https://x.example/c.png) "
        "![Chart](pics/c.png) ![Map](data:image/png;base64,AAAA) [ok](https://x.example/)"
    )]
    assert kinds == ["relative link", "in-page link", "image without alt text",
                     "image without alt text", "relative image", "embedded image"]


def test_the_base_comes_from_base_href_then_source_url_then_the_page() -> None:
    assert choose_base("https://given.example/a", "https://base.example/", "https://c.example/",
                       "canonical link") == ("https://base.example/", "<base href>")
    given = choose_base("https://given.example/a/", "sub/", "https://c.example/", "canonical link")
    assert given == ("https://given.example/a/sub/", "--source-url")
    assert choose_base("", "", "https://c.example/p", "og:url") == ("https://c.example/p", "og:url")
    assert choose_base("", "", "/relative", "canonical link") == ("", "")
