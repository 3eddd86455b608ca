"""Lists from lists.toml and series folders are mirrored into the database."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from newsletter.app import App
from newsletter.catalog import sync_lists, sync_series
from newsletter.clock import ManualClock
from newsletter.content.issuefile import format_issue, read_series, write_series_config
from newsletter.content.lists import read_lists
from newsletter.db.models import Issue, MailingList, Series
from newsletter.errors import ContentError, NotFoundError
from newsletter.schedule.tick import run_due
from tests.support.schedule import sync_lists_now, write_project

LISTS = """
[[list]]
slug = "clinic-news"
name = "Clinic News"
description = "Articles"

[[list]]
slug = "staff"
name = "Staff"
double_opt_in = false
"""


def _series(root: Path) -> Path:
    folder = root / "issues" / "pain"
    folder.mkdir(parents=True)
    write_series_config(folder, {"title": "Pain", "list": "clinic-news"})
    for n, title in enumerate(["One", "Two"], start=1):
        text = format_issue({"title": title, "subject": title, "preheader": "", "position": n},
                            f"Body {n}")
        (folder / f"{n:02d}-{title.lower()}.md").write_text(text)
    return folder


def test_lists_are_created_then_updated_in_place(app: App, project: Path) -> None:
    (project / "subscribers" / "lists.toml").write_text(LISTS)
    configs = read_lists(project / "subscribers")
    with app.sessions() as session:
        sync_lists(session, configs, app.clock.now())
        session.commit()
    (project / "subscribers" / "lists.toml").write_text(LISTS.replace("Clinic News", "Renamed"))
    with app.sessions() as session:
        sync_lists(session, read_lists(project / "subscribers"), app.clock.now())
        session.commit()
        rows = {row.slug: row for row in session.scalars(select(MailingList))}
    assert set(rows) == {"clinic-news", "staff"}
    assert rows["clinic-news"].name == "Renamed"
    assert rows["staff"].double_opt_in is False


def test_a_list_declared_twice_is_refused_by_name(project: Path) -> None:
    (project / "subscribers" / "lists.toml").write_text(LISTS + LISTS)
    with pytest.raises(ContentError, match="'clinic-news' is declared twice"):
        read_lists(project / "subscribers")


def test_a_bad_list_slug_is_refused_with_its_entry(project: Path) -> None:
    (project / "subscribers" / "lists.toml").write_text('[[list]]\nslug = "Bad Slug"\nname="x"\n')
    with pytest.raises(ContentError, match="list #1: slug 'Bad Slug'"):
        read_lists(project / "subscribers")


def test_syncing_a_series_mirrors_its_issues_and_tracks_edits(app: App, project: Path) -> None:
    (project / "subscribers" / "lists.toml").write_text(LISTS)
    folder = _series(project)
    with app.sessions() as session:
        sync_lists(session, read_lists(project / "subscribers"), app.clock.now())
        sync_series(session, read_series(folder), app.clock.now())
        session.commit()
        first = {i.position: i.content_hash for i in session.scalars(select(Issue))}
    edited = folder / "02-two.md"
    edited.write_text(edited.read_text().replace("Body 2", "Body 2, edited"))
    with app.sessions() as session:
        sync_series(session, read_series(folder), app.clock.now())
        session.commit()
        second = {i.position: i.content_hash for i in session.scalars(select(Issue))}
    assert sorted(first) == [1, 2]
    assert first[1] == second[1]
    assert first[2] != second[2]


def test_a_series_on_an_undeclared_list_is_refused_by_name(app: App, project: Path) -> None:
    folder = _series(project)
    with app.sessions() as session, pytest.raises(NotFoundError, match="'clinic-news'"):
        sync_series(session, read_series(folder), app.clock.now())


def test_the_scheduler_tick_rewrites_a_series_only_when_its_files_changed(
    app: App, project: Path, clock: ManualClock
) -> None:
    folder = write_project(project, issues=2)
    sync_lists_now(app)

    def mirrored() -> tuple[datetime, dict[int, str]]:
        with app.sessions() as session:
            series = session.scalars(select(Series)).one()
            hashes = {i.position: i.content_hash for i in session.scalars(select(Issue))}
            return series.updated_at, hashes

    first_tick = clock.now()
    run_due(app, first_tick, drain=False)
    assert mirrored()[0] == first_tick
    clock.advance(timedelta(hours=1))
    run_due(app, clock.now(), drain=False)  # nothing changed on disk: no write
    assert mirrored()[0] == first_tick
    before = mirrored()[1]
    edited = folder / "02-part-2.md"
    edited.write_text(edited.read_text(encoding="utf-8") + "\nAn edit.\n", encoding="utf-8")
    clock.advance(timedelta(hours=1))
    run_due(app, clock.now(), drain=False)
    updated_at, after = mirrored()
    assert updated_at == clock.now()
    assert after[1] == before[1]
    assert after[2] != before[2]
