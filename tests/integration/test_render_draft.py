"""A draft from the console's editor rendered for the sample subscriber, the file untouched."""

from __future__ import annotations

from pathlib import Path

from newsletter.app import make_links
from newsletter.content.issue_edit import Draft, check_draft, load_issue
from newsletter.render import Renderer
from newsletter.render.site import render_for_sample
from newsletter.web.admin.editor import PreviewStore
from tests.support.series import render_settings, write_series


def test_a_draft_takes_the_issue_s_place_with_its_part_number_and_neighbours(
    project: Path, renderer: Renderer,
) -> None:
    series = write_series(project)
    loaded = load_issue(series.issue(2).path)
    draft = Draft("Why it hurts", "Why it hurts", "A short answer", "It is *complicated*.")
    rendered = render_for_sample(renderer, make_links(render_settings(project)), series,
                                 check_draft(draft, 2, loaded.doc.path))
    assert rendered.subject == "Why it hurts (part 2 of 3)"
    assert "<em>complicated</em>" in rendered.html
    assert "What is chronic pain?" in rendered.text  # the previous part's link
    assert "Nerve blocks" in rendered.text  # and the next one's
    assert "ada@example.com" in rendered.text
    assert series.issue(2).path.read_text(encoding="utf-8") == loaded.text


def test_a_preview_is_only_given_to_the_staff_member_who_asked_for_it() -> None:
    store = PreviewStore(size=2)
    key = store.put(1, "<p>one</p>")
    assert store.get(1, key) == "<p>one</p>"
    assert store.get(2, key) is None
    store.put(1, "<p>two</p>")
    store.put(1, "<p>three</p>")
    assert store.get(1, key) is None  # the oldest went when a third came
