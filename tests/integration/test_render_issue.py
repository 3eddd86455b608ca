"""Rendering issues from files: content, footer, links, overrides, caching, archive."""

from __future__ import annotations

import html
from pathlib import Path

import pytest

from newsletter.errors import RenderError
from newsletter.render import PersonalFields, Renderer
from tests.support.series import write_series

UNSUBSCRIBE = "https://news.example.org/unsubscribe/tok-123?x=1&y=2"
ANA = PersonalFields("ana@example.com", "Ana", UNSUBSCRIBE)
ADDRESS = "Riverside Pain Clinic, 12 Harbour Road, Springfield 10001"


def test_every_issue_carries_unsubscribe_link_and_postal_address_in_both_parts(
    project: Path, renderer: Renderer
) -> None:
    series = write_series(project)
    for issue in series.issues:
        out = renderer.compile_issue(series, issue.position).personalize(ANA)
        assert f'href="{html.escape(UNSUBSCRIBE)}"' in out.html
        assert ADDRESS in out.html
        assert UNSUBSCRIBE in out.text
        assert ADDRESS in out.text


def test_subject_preheader_title_and_body_come_from_the_issue_file(
    project: Path, renderer: Renderer
) -> None:
    series = write_series(project)
    compiled = renderer.compile_issue(series, 1)
    out = compiled.personalize(ANA)
    assert out.subject == compiled.subject == "Part 1: What is chronic pain?"
    assert compiled.preheader == "Preview line for part 1"
    assert "Preview line for part 1" in out.html
    assert "What is chronic pain?" in out.html
    assert "<em>chronic</em>" in out.html
    assert "is called chronic. It is common," in out.text
    assert "Read the clinic’s guide\n(https://clinic.example.com/guide?part=1&lang=en)." in out.text


def test_the_preheader_sits_in_a_hidden_block_at_the_top_of_the_body(
    project: Path, renderer: Renderer
) -> None:
    out = renderer.compile_issue(write_series(project), 1).personalize(ANA)
    body = out.html.split("<body", 1)[1]
    hidden = body.split("Preview line for part 1", 1)[0]
    assert "display:none" in hidden
    assert "<h2" not in hidden


def test_position_previous_next_and_view_in_browser_links(
    project: Path, renderer: Renderer
) -> None:
    series = write_series(project)
    middle = renderer.compile_issue(series, 2).personalize(ANA)
    assert "Part 2 of 3" in middle.html
    assert "Part 2 of 3" in middle.text
    for part in (middle.html, middle.text):
        assert "https://news.example.org/archive/pain-care/1" in part
        assert "https://news.example.org/archive/pain-care/3" in part
        assert "https://news.example.org/archive/pain-care/2" in part
    first = renderer.compile_issue(series, 1).personalize(ANA)
    assert "Previous" not in first.text
    assert "Next, part 2: What causes it?" in first.text
    last = renderer.compile_issue(series, 3).personalize(ANA)
    assert "Next" not in last.text
    assert "Previous, part 2: What causes it?" in last.text


def test_why_you_get_this_names_the_list_and_the_address(
    project: Path, renderer: Renderer
) -> None:
    out = renderer.compile_issue(write_series(project), 1).personalize(ANA)
    assert "ana@example.com is subscribed to Riverside Pain Clinic News" in out.html
    assert "ana@example.com is subscribed\nto Riverside Pain Clinic News." in out.text


def test_an_undeclared_list_is_named_by_its_slug(project: Path, renderer: Renderer) -> None:
    series = write_series(project, config={"list": "other-list"})
    out = renderer.compile_issue(series, 1).personalize(ANA)
    assert "is subscribed to other-list" in out.html


def test_greeting_uses_the_name_or_reads_well_without_one(
    project: Path, renderer: Renderer
) -> None:
    compiled = renderer.compile_issue(write_series(project), 1)
    assert "Hello Ana," in compiled.personalize(ANA).text
    anonymous = compiled.personalize(PersonalFields("x@example.com", None, UNSUBSCRIBE))
    assert "\nHello,\n" in anonymous.text
    assert ">Hello,</p>" in anonymous.html


def test_hostile_names_are_data_in_the_rendered_issue(project: Path, renderer: Renderer) -> None:
    compiled = renderer.compile_issue(write_series(project), 1)
    out = compiled.personalize(
        PersonalFields("x@example.com", "{{ 7*7 }} <img src=x onerror=alert(1)>", UNSUBSCRIBE)
    )
    assert "Hello {{ 7*7 }} &lt;img src=x onerror=alert(1)&gt;," in out.html
    assert "<img src=x" not in out.html
    assert "49" not in out.text
    assert "Hello {{ 7*7 }} <img src=x onerror=alert(1)>," in out.text


def test_html_uses_columns_so_it_stacks_on_small_screens(
    project: Path, renderer: Renderer
) -> None:
    out = renderer.compile_issue(write_series(project), 2).personalize(ANA)
    assert 'name="viewport"' in out.html
    assert "mj-column-per-50" in out.html  # previous | next side by side on wide screens
    assert "@media only screen and (min-width:480px)" in out.html
    assert "fonts.googleapis.com" not in out.html  # no remote fonts: nothing to block


def test_repeated_compiles_come_from_the_cache_until_the_file_changes(
    project: Path, renderer: Renderer
) -> None:
    series = write_series(project)
    first = renderer.compile_issue(series, 1)
    assert renderer.compile_issue(series, 1) is first
    edited = write_series(project, bodies=["Entirely new words."])
    again = renderer.compile_issue(edited, 1)
    assert again is not first
    assert "Entirely new words." in again.personalize(ANA).text


def test_a_series_overrides_the_layout_with_its_own_template_folder(
    project: Path, renderer: Renderer
) -> None:
    series = write_series(project)
    package_layout = Path("newsletter/templates/email/_layout.mjml.j2").resolve()
    override = series.path / "templates" / "email" / "_layout.mjml.j2"
    override.parent.mkdir(parents=True)
    source = package_layout.read_text(encoding="utf-8")
    override.write_text(source.replace("#1f6f78", "#8a2be2"), encoding="utf-8")
    out = renderer.compile_issue(series, 1).personalize(ANA)
    assert "#8a2be2" in out.html
    other = write_series(project, "other-series")
    assert "#8a2be2" not in renderer.compile_issue(other, 1).personalize(ANA).html


def test_series_toml_picks_another_issue_template_and_greeting(
    project: Path, renderer: Renderer
) -> None:
    series = write_series(project, config={
        "template": "letter", "greeting": "Dear {name},", "greeting_anonymous": "Dear reader,",
    })
    folder = series.path / "templates" / "email"
    folder.mkdir(parents=True)
    (folder / "letter.mjml.j2").write_text(
        '{% extends "email/issue.mjml.j2" %}\n'
        '{% block masthead %}Letters: {{ series.title }}{% endblock %}\n',
        encoding="utf-8",
    )
    (folder / "letter.txt.j2").write_text(
        '{% extends "email/issue.txt.j2" %}\n', encoding="utf-8"
    )
    out = renderer.compile_issue(series, 1).personalize(ANA)
    assert "Letters: Living with chronic pain" in out.html
    assert "Dear Ana," in out.text


def test_a_series_template_without_an_unsubscribe_link_is_refused(
    project: Path, renderer: Renderer
) -> None:
    series = write_series(project)
    folder = series.path / "templates" / "email"
    folder.mkdir(parents=True)
    (folder / "issue.txt.j2").write_text(
        "{{ issue.title }}\n\n{{ body_text }}\n\n{{ postal_address }}\n", encoding="utf-8"
    )
    with pytest.raises(RenderError, match=r"issue\.txt\.j2: shows no unsubscribe link"):
        renderer.compile_issue(series, 1)


def test_the_archive_version_has_no_personal_data_and_links_to_the_series(
    project: Path, renderer: Renderer
) -> None:
    series = write_series(project, config={"signup_url": "https://clinic.example.com/news"})
    page = renderer.archive_html(series, 2)
    assert "@@nl" not in page
    assert "unsubscribe" not in page.lower()
    assert "Hello" not in page
    assert "View this email in your browser" not in page
    assert "https://news.example.org/archive/pain-care" in page
    assert "https://clinic.example.com/news" in page
    assert ADDRESS in page
    assert "What causes it?" in page
    assert renderer.archive_html(series, 2) is page


def test_transactional_email_compiles_from_its_template_with_the_context_subject(
    project: Path, renderer: Renderer
) -> None:
    # Project-level templates/ sit between a series' folder and the package.
    folder = project / "templates" / "email"
    folder.mkdir(parents=True)
    (folder / "probe.mjml.j2").write_text(
        '{% extends "email/_layout.mjml.j2" %}\n{% block content %}<mj-section>'
        '<mj-column><mj-text>Confirm: <a href="{{ confirm_url }}">here</a> '
        "{{ subscriber.email }}</mj-text></mj-column></mj-section>{% endblock %}\n",
        encoding="utf-8",
    )
    (folder / "probe.txt.j2").write_text(
        "Confirm: {{ confirm_url }} for {{ subscriber.email }}\n{{ postal_address }}\n",
        encoding="utf-8",
    )
    compiled = renderer.compile_email(
        "probe", {"subject": "Please confirm", "confirm_url": "https://x.org/c?a=1&b=2"}
    )
    out = compiled.personalize(PersonalFields("<b>@example.com", "Ana", ""))
    assert out.subject == "Please confirm"
    assert 'href="https://x.org/c?a=1&amp;b=2"' in out.html
    assert "&lt;b&gt;@example.com" in out.html
    assert out.text == f"Confirm: https://x.org/c?a=1&b=2 for <b>@example.com\n{ADDRESS}\n"
    assert ADDRESS in out.html


def test_transactional_email_needs_a_subject_and_a_plain_template_name(
    renderer: Renderer,
) -> None:
    with pytest.raises(RenderError, match="no 'subject'"):
        renderer.compile_email("confirmation", {})
    with pytest.raises(RenderError, match="must be lowercase"):
        renderer.compile_email("../secret", {"subject": "x"})
    with pytest.raises(RenderError, match="not found"):
        renderer.compile_email("no-such-email", {"subject": "x"})


def test_an_edited_template_is_not_served_from_the_cache(
    project: Path, renderer: Renderer
) -> None:
    series = write_series(project)
    before = renderer.compile_issue(series, 1)
    folder = project / "templates" / "email"
    folder.mkdir(parents=True)
    (folder / "issue.txt.j2").write_text(
        "Edited.\n{{ subscriber.unsubscribe_url }}\n{{ postal_address }}\n", encoding="utf-8"
    )
    after = renderer.compile_issue(series, 1)
    assert after is not before
    assert after.personalize(ANA).text.startswith("Edited.")
