"""Personalising a compiled email: values are data, escaped in HTML, inserted cheaply."""

from __future__ import annotations

import pytest

from newsletter.errors import RenderError
from newsletter.render.compiled import (
    CompiledEmail,
    Greeting,
    Markers,
    PersonalFields,
)


def _compiled(markers: Markers, html: str, text: str, greeting: Greeting | None = None) -> (
    CompiledEmail
):
    return CompiledEmail(
        subject="Subject",
        preheader="Pre",
        html_segments=markers.split(html, "t.mjml.j2"),
        text_segments=markers.split(text, "t.txt.j2"),
        greeting=greeting,
    )


@pytest.fixture
def markers() -> Markers:
    return Markers()


def test_subscriber_values_are_escaped_in_html_and_plain_in_text(markers: Markers) -> None:
    m = markers.marker
    email = _compiled(
        markers,
        f"<p>{m('greeting')}</p><a href=\"{m('unsubscribe_url')}\">x</a>",
        f"{m('greeting')}\n{m('unsubscribe_url')}",
    )
    out = email.personalize(
        PersonalFields("ana@example.com", "<script>alert(1)</script>", "https://x.org/u?a=1&b=2")
    )
    assert "<script>" not in out.html
    assert "Hello &lt;script&gt;alert(1)&lt;/script&gt;," in out.html
    assert 'href="https://x.org/u?a=1&amp;b=2"' in out.html
    assert out.text == "Hello <script>alert(1)</script>,\nhttps://x.org/u?a=1&b=2"


def test_a_name_that_looks_like_a_template_is_shown_literally(markers: Markers) -> None:
    email = _compiled(markers, markers.marker("name"), markers.marker("name"))
    out = email.personalize(PersonalFields("a@example.com", "{{ 7*7 }}", "u"))
    assert out.html == "{{ 7*7 }}"
    assert out.text == "{{ 7*7 }}"


def test_a_missing_or_blank_name_reads_as_a_plain_greeting(markers: Markers) -> None:
    email = _compiled(markers, markers.marker("greeting"), markers.marker("greeting"))
    assert email.personalize(PersonalFields("a@example.com", None, "u")).text == "Hello,"
    assert email.personalize(PersonalFields("a@example.com", "  ", "u")).text == "Hello,"
    assert email.personalize(PersonalFields("a@example.com", "Ana", "u")).text == "Hello Ana,"


def test_line_breaks_in_a_name_collapse_so_it_cannot_add_lines(markers: Markers) -> None:
    email = _compiled(markers, markers.marker("greeting"), markers.marker("greeting"))
    out = email.personalize(PersonalFields("a@example.com", "Ana\r\nBcc: x@evil.test", "u"))
    assert out.text == "Hello Ana Bcc: x@evil.test,"


def test_a_series_can_word_its_own_greeting(markers: Markers) -> None:
    email = _compiled(markers, markers.marker("greeting"), markers.marker("greeting"),
                      Greeting(named="Dear {name},", anonymous="Dear reader,"))
    assert email.personalize(PersonalFields("a@example.com", "Ana", "u")).text == "Dear Ana,"
    assert email.personalize(PersonalFields("a@example.com", None, "u")).text == "Dear reader,"


def test_a_greeting_without_a_name_slot_is_refused() -> None:
    with pytest.raises(RenderError, match=r"\{name\}"):
        Greeting(named="Hello there,")


def test_marker_shaped_text_from_another_compile_is_not_a_field(markers: Markers) -> None:
    stranger = Markers().marker("email")
    email = _compiled(markers, f"{stranger} {markers.marker('email')}", "")
    out = email.personalize(PersonalFields("a@example.com", None, "u"))
    assert out.html == f"{stranger} a@example.com"


def test_html_size_counts_the_compiled_bytes_without_subscriber_values(markers: Markers) -> None:
    email = _compiled(markers, f"é{markers.marker('email')}abc", "")
    assert email.html_size == len("éabc".encode())
    assert email.fields == frozenset({"email"})


def test_personalize_leaves_the_compiled_email_unchanged(markers: Markers) -> None:
    email = _compiled(markers, f"[{markers.marker('email')}]", f"<{markers.marker('email')}>")
    first = email.personalize(PersonalFields("one@example.com", None, "u"))
    second = email.personalize(PersonalFields("two@example.com", None, "u"))
    assert (first.html, second.html) == ("[one@example.com]", "[two@example.com]")
    assert (first.text, second.text) == ("<one@example.com>", "<two@example.com>")
    assert first.subject == second.subject == "Subject"
