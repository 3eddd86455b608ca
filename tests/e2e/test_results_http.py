"""Click redirects and the results pages over HTTP, against a real `newsletter serve`.

The issue is really sent (fan-out and a drain into the mail catcher); the
links are read from the caught mail and followed with a client that never
follows redirects (the targets are not on this machine, and must not be fetched).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from newsletter.delivery.sender import drain
from newsletter.schedule.send_now import send_now
from tests.support.clicks import EXERCISE, READING, caught, click_links, results_project
from tests.support.console import ConsoleServer, login
from tests.support.sending import PEOPLE, add_people

VIEWER = "viewer@example.org"


def started(root: Path, mode: str | None) -> ConsoleServer:
    return ConsoleServer(results_project(root, mode))


@pytest.fixture
def counted(tmp_path: Path) -> Iterator[ConsoleServer]:
    """A server whose list counts clicks, with issue 1 sent to six people."""
    with started(tmp_path / "project", "counts") as running:
        running.add_staff(VIEWER, "viewer")
        with running.app() as app:
            add_people(app)
            send_now(app, "care", 1)
            drain(app)
        yield running


def links_of(server: ConsoleServer) -> list[str]:
    with server.app() as app:
        return click_links(caught(app)[0].html)


def number(page: str, result: str) -> int:
    found = re.search(rf'data-result="{result}"><strong class="num">(\d+)</strong>', page)
    assert found is not None, f"no {result} tile on the page"
    return int(found.group(1))


def test_a_counted_link_redirects_to_its_target_and_the_results_page_counts_it(
    counted: ConsoleServer,
) -> None:
    reading, exercise = links_of(counted)
    assert reading.startswith(counted.url + "/c/")
    with counted.client() as visitor:
        for _ in range(2):
            answer = visitor.get(reading.removeprefix(counted.url))
            assert answer.status_code == 302
            assert answer.headers["location"] == READING
            assert answer.headers["referrer-policy"] == "no-referrer"
        assert visitor.get(exercise.removeprefix(counted.url)).headers["location"] == EXERCISE
    with counted.client() as staff:
        login(staff, VIEWER)
        page = staff.get("/admin/results/care/1")
        assert page.status_code == 200
        assert number(page.text, "clicks") == 3
        assert number(page.text, "delivered") == len(PEOPLE)
        cell = rf'{re.escape(READING)}</td><td class="num" data-col="clicks">2<'
        assert re.search(cell, page.text)
        assert "mailto:" not in re.sub(r"<(?!td)[^>]*>", "", page.text.split("links-table")[1])
        series = staff.get("/admin/results/care")
        assert series.status_code == 200
        assert '<svg class="chart" id="series-chart" role="img"' in series.text
        assert re.search(r'data-col="clicks">3<', series.text)


def test_a_tampered_link_gets_the_not_found_page_and_goes_nowhere(
    counted: ConsoleServer,
) -> None:
    reading, _ = links_of(counted)
    token = reading.split("/c/")[1]
    with counted.client() as visitor:
        for bad in (token[:-3] + "abc", token.replace(".", ".x", 1), "nothing",
                    token + "/not-a-reader-token-of-ours"):
            answer = visitor.get(f"/c/{bad}")
            if bad.startswith(token + "/"):
                # A damaged reader part: still our link, counted without a name.
                assert answer.status_code == 302
                assert answer.headers["location"] == READING
                continue
            assert answer.status_code == 404, bad
            assert "location" not in answer.headers
            assert "Not found" in answer.text
        answer = visitor.get("/c/" + token, params={"url": "https://elsewhere.example"})
        assert answer.headers["location"] == READING  # never taken from the request


def test_with_click_tracking_off_by_default_the_mail_keeps_its_links(tmp_path: Path) -> None:
    with started(tmp_path / "project", None) as running:
        running.add_staff(VIEWER, "viewer")
        with running.app() as app:
            add_people(app)
            send_now(app, "care", 1)
            drain(app)
            messages = caught(app)
        assert len(messages) == len(PEOPLE)
        for message in messages:
            assert click_links(message.html) == []
            assert READING in message.text
        with running.client() as staff:
            login(staff, VIEWER)
            page = staff.get("/admin/results/care/1").text
            assert "Clicks are not counted for this list" in page
            assert 'data-result="clicks"' not in page


def test_a_list_asking_to_name_clickers_without_a_privacy_notice_stops_the_server(
    tmp_path: Path,
) -> None:
    root = results_project(tmp_path / "project", "counts")
    (root / "subscribers" / "lists.toml").write_text(
        '[[list]]\nslug = "clinic-news"\nname = "Riverside Clinic News"\n'
        'click_tracking = "people"\n', encoding="utf-8")
    with pytest.raises(AssertionError, match="privacy_notice_url") as refused, \
            ConsoleServer(root):
        pass
    assert "Traceback" not in str(refused.value)


def test_the_results_pages_need_a_login_and_answer_unknown_series_with_404(
    counted: ConsoleServer,
) -> None:
    with counted.client() as anonymous:
        assert anonymous.get("/admin/results/care/1").status_code == 303
    with counted.client() as staff:
        login(staff, VIEWER)
        assert staff.get("/admin/results").status_code == 200
        missing = staff.get("/admin/results/no-such-series")
        assert missing.status_code == 404
        assert "no series" in missing.text
        assert staff.get("/admin/results/care/99").status_code == 404
        assert staff.get("/admin/results/care/x").status_code == 400  # not a number


def test_a_redirect_link_for_a_list_that_names_people_records_the_reader(
    tmp_path: Path,
) -> None:
    with started(tmp_path / "project", "people") as running:
        with running.app() as app:
            add_people(app)
            send_now(app, "care", 1)
            drain(app)
            first = caught(app)[0]
        [reading, _] = click_links(first.html)
        assert reading.count("/") == 5  # /c/<link>/<reader>
        with httpx.Client(base_url=running.url, follow_redirects=False) as visitor:
            assert visitor.get(reading.removeprefix(running.url)).headers["location"] == READING
        running.add_staff(VIEWER, "viewer")
        with running.client() as staff:
            login(staff, VIEWER)
            page = staff.get("/admin/results/care/1").text
            assert "1 person clicked at least once" in page
