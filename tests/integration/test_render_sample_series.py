"""Every issue of the sample content shipped in issues/ renders, with the legal footer."""

from __future__ import annotations

import html
from pathlib import Path

import pytest

from newsletter.content.issuefile import list_series, read_series
from newsletter.render import PersonalFields, Renderer
from tests.support.series import render_settings

REPO = Path(__file__).resolve().parents[2]
SAMPLES = [
    (slug, issue.position)
    for slug in list_series(REPO / "issues")
    for issue in read_series(REPO / "issues" / slug).issues
]
UNSUBSCRIBE = "https://news.example.org/unsubscribe/sample-token?a=1&b=2"


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    # The repository itself is the project: its issues/ and subscribers/ folders.
    return Renderer(render_settings(REPO))


def test_the_repository_ships_sample_issues() -> None:
    assert len(SAMPLES) >= 4


@pytest.mark.parametrize(("slug", "position"), SAMPLES)
def test_every_sample_issue_renders_with_unsubscribe_link_and_postal_address(
    renderer: Renderer, slug: str, position: int
) -> None:
    series = read_series(REPO / "issues" / slug)
    settings = render_settings(REPO)
    out = renderer.compile_issue(series, position).personalize(
        PersonalFields("ada@example.com", "Ada Example", UNSUBSCRIBE)
    )
    issue = series.issue(position)
    assert out.subject == series.subject_line(issue)  # staff text + "(part N of M)"
    for part, link, address in (
        (out.html, f'href="{html.escape(UNSUBSCRIBE)}"', html.escape(settings.postal_address)),
        (out.text, UNSUBSCRIBE, settings.postal_address),
    ):
        assert link in part
        assert address in part
        assert f"{settings.base_url}/archive/{slug}/{position}" in part
    assert "Hello Ada Example," in out.text
    assert "@@nl" not in out.html + out.text
    assert max(len(line) for line in out.text.splitlines()) <= 100  # wrapped, URLs aside
    assert "Riverside Pain Clinic News" in out.text  # the list's name from lists.toml


@pytest.mark.parametrize(("slug", "position"), SAMPLES)
def test_every_sample_issue_has_an_archive_version_without_personal_data(
    renderer: Renderer, slug: str, position: int
) -> None:
    page = renderer.archive_html(read_series(REPO / "issues" / slug), position)
    assert "@@nl" not in page
    assert "/unsubscribe/" not in page
