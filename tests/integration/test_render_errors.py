"""Broken templates and missing fields fail at preview time, naming the template and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.content.issuefile import SeriesDoc
from newsletter.errors import RenderError
from newsletter.render import Renderer
from tests.support.series import write_series

PACKAGE_ISSUE = Path("newsletter/templates/email/issue.mjml.j2").resolve()


def _override(series: SeriesDoc, name: str, text: str) -> str:
    path = series.path / "templates" / "email" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return f"issues/{series.config.slug}/templates/email/{name}"


def _with_line(line_number: int, line: str) -> str:
    """The package issue template with ``line`` inserted as line ``line_number``."""
    lines = PACKAGE_ISSUE.read_text(encoding="utf-8").split("\n")
    lines.insert(line_number - 1, line)
    return "\n".join(lines)


def test_a_syntax_error_names_the_template_file_and_line(
    project: Path, renderer: Renderer
) -> None:
    series = write_series(project)
    where = _override(series, "issue.mjml.j2", _with_line(9, "{% if %}"))
    with pytest.raises(RenderError) as caught:
        renderer.compile_issue(series, 1)
    assert str(caught.value).startswith(f"{where}:9: template syntax error")
    assert (caught.value.template, caught.value.line) == (where, 9)


def test_an_undefined_variable_names_the_template_file_and_line(
    project: Path, renderer: Renderer
) -> None:
    series = write_series(project)
    where = _override(series, "issue.mjml.j2", _with_line(
        25, "<mj-text>{{ clinic_phone }}</mj-text>"
    ))
    with pytest.raises(RenderError) as caught:
        renderer.compile_issue(series, 1)
    assert str(caught.value).startswith(f"{where}:25: 'clinic_phone' is undefined")
    assert caught.value.line == 25


def test_an_error_in_an_overridden_layout_names_the_layout_not_the_child(
    project: Path, renderer: Renderer
) -> None:
    series = write_series(project)
    layout = Path("newsletter/templates/email/_layout.mjml.j2").read_text(encoding="utf-8")
    lines = layout.split("\n")
    after_head = next(n for n, line in enumerate(lines) if "<mj-head>" in line) + 1
    lines.insert(after_head, "    <mj-title>{{ page_title_typo }}</mj-title>")
    where = _override(series, "_layout.mjml.j2", "\n".join(lines))
    line_number = after_head + 1
    with pytest.raises(RenderError,
                       match=rf"^{where}:{line_number}: 'page_title_typo' is undefined"):
        renderer.compile_issue(series, 1)


def test_a_front_matter_field_the_template_needs_but_the_file_lacks_names_both(
    project: Path, renderer: Renderer
) -> None:
    series = write_series(project, front={1: {"author": "Dr. Ana Reyes"}})
    where = _override(series, "issue.mjml.j2", _with_line(
        25, "<mj-text>Written by {{ issue.author }}</mj-text>"
    ))
    assert "Written by Dr. Ana Reyes" in renderer.compile_issue(series, 1).literal_html()
    with pytest.raises(RenderError) as caught:
        renderer.compile_issue(series, 2)
    message = str(caught.value)
    assert message.startswith(f"{where}:25: ")
    assert "'author'" in message
    assert "issues/pain-care/02-part-2.md" in message


def test_a_template_that_mjml_cannot_compile_names_the_template_and_line(
    project: Path, renderer: Renderer
) -> None:
    series = write_series(project)
    where = _override(series, "issue.mjml.j2", _with_line(
        25, "<mj-text>An unclosed <span>tag</mj-text>"
    ))
    with pytest.raises(RenderError) as caught:
        renderer.compile_issue(series, 1)
    message = str(caught.value)
    assert message.startswith(f"{where}:25: MJML could not compile it")
    assert "<span>" in message


def test_the_archive_version_fails_loudly_if_a_template_shows_subscriber_data_there(
    project: Path, renderer: Renderer
) -> None:
    series = write_series(project)
    where = _override(series, "issue.mjml.j2", _with_line(
        25, "<mj-text>{{ subscriber.email }}</mj-text>"
    ))
    renderer.compile_issue(series, 1)  # fine in the email
    with pytest.raises(RenderError, match=rf"^{where}:25: .*'email'"):
        renderer.archive_html(series, 1)


def test_an_unknown_template_name_in_series_toml_is_a_clear_error(
    project: Path, renderer: Renderer
) -> None:
    series = write_series(project, config={"template": "newsletter-v2"})
    with pytest.raises(RenderError, match=r"template 'email/newsletter-v2\.mjml\.j2' not found"):
        renderer.compile_issue(series, 1)
    bad = write_series(project, "bad", config={"template": "../../etc/passwd"})
    with pytest.raises(RenderError, match=r"bad/series\.toml: template"):
        renderer.compile_issue(bad, 1)
