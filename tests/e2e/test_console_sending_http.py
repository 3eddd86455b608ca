"""Scheduling, test sends and sends in the console, over HTTP against `newsletter serve`.

Each action is checked where it lands: the broadcasts table, series.toml, the
mail catcher, the outbox, and the audit log. Roles: a viewer reads, an editor
schedules and sends tests, only an owner sends to the whole list now.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from newsletter.accounts.audit import recent_actions
from newsletter.delivery.catcher import CATCHER_DIR, MailStore
from newsletter.delivery.records import issue_sends
from newsletter.delivery.sender import drain
from newsletter.schedule import broadcasts_admin
from newsletter.schedule.agenda import agenda
from newsletter.schedule.send_now import send_now
from newsletter.schedule.tick import run_due
from tests.support.console import ConsoleServer, csrf_token, login, with_csrf
from tests.support.sending import PEOPLE, add_people, sending_project

OWNER, EDITOR, VIEWER = "owner@example.org", "editor@example.org", "viewer@example.org"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ConsoleServer]:
    """A server on a project with two series, six readers and one account per role."""
    with ConsoleServer(sending_project(tmp_path / "project")) as running:
        for email, role in ((OWNER, "owner"), (EDITOR, "editor"), (VIEWER, "viewer")):
            running.add_staff(email, role)
        with running.app() as app:
            add_people(app)
        yield running


@pytest.fixture
def client_for(server: ConsoleServer) -> Iterator[Callable[[str], httpx.Client]]:
    """Logged-in clients by address (closed after the test)."""
    made: list[httpx.Client] = []

    def make(email: str) -> httpx.Client:
        client = server.client()
        made.append(client)
        login(client, email)
        return client

    yield make
    for client in made:
        client.close()


def later(days: int = 3) -> str:
    return f"{datetime.now(UTC) + timedelta(days=days):%Y-%m-%d}T08:00"


def flashes(client: httpx.Client, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200
    return " ".join(re.findall(r'<p class="flash[^"]*"[^>]*>(.*?)</p>', page.text, re.S))


def actions(server: ConsoleServer) -> list[tuple[str, str, str]]:
    with server.app() as app:
        return [(a.actor, a.action, a.target) for a in recent_actions(app)]


def test_an_editor_schedules_moves_and_cancels_a_broadcast_and_each_step_is_audited(
    server: ConsoleServer, client_for: Callable[[str], httpx.Client],
) -> None:
    editor = client_for(EDITOR)
    path = "/admin/series/care/schedule"
    first, second = later(3), later(4)
    answer = editor.post(path + "/1", data=with_csrf(editor, {"at": first, "tz": ""}, path))
    assert answer.status_code == 303
    assert answer.headers["location"] == path
    assert "care #1 scheduled for" in flashes(editor, path)
    moved = editor.post(path + "/1", data=with_csrf(
        editor, {"at": second, "tz": "Europe/Berlin", "action": "move"}, path))
    assert moved.status_code == 303
    with server.app() as app:
        [view] = broadcasts_admin.list_broadcasts(app)
    assert (view.local_time, view.time_zone, view.status) == (
        second.replace("T", " "), "Europe/Berlin", "scheduled")
    page = editor.get(path).text
    assert view.local_time in page
    assert 'value="move"' in page
    cancelled = editor.post(path + "/1/cancel", data=with_csrf(editor, {}, path))
    assert cancelled.status_code == 303
    with server.app() as app:
        assert [v.status for v in broadcasts_admin.list_broadcasts(app)] == ["cancelled"]
    assert [a for a in actions(server) if a[0] == EDITOR and a[1].startswith("schedule")] == [
        (EDITOR, "schedule.cancel", "care/1"), (EDITOR, "schedule.move", "care/1"),
        (EDITOR, "schedule.add", "care/1")]


def test_an_issue_that_already_went_out_is_refused_by_the_console_and_nothing_changes(
    server: ConsoleServer, client_for: Callable[[str], httpx.Client],
) -> None:
    with server.app() as app:
        send_now(app, "care", 2)
    editor = client_for(EDITOR)
    path = "/admin/series/care/schedule"
    assert "already sent" in editor.get(path).text  # no form offered for it
    answer = editor.post(path + "/2", data=with_csrf(editor, {"at": later()}, path))
    assert answer.status_code == 303
    message = flashes(editor, path)
    assert "already went out" in message
    assert "cannot be scheduled again" in message
    with server.app() as app:
        [view] = broadcasts_admin.list_broadcasts(app)
    assert (view.position, view.status) == (2, "fanned_out")
    assert not [a for a in actions(server) if a[1] == "schedule.add"]


def test_a_bad_time_is_a_clear_message_not_an_error_page(
    server: ConsoleServer, client_for: Callable[[str], httpx.Client],
) -> None:
    editor = client_for(EDITOR)
    path = "/admin/series/care/schedule"
    for at, expected in (("2020-01-01T09:00", "is in the past"),
                         ("next tuesday", "is not a date and time"),
                         ("", "is not a date and time")):
        answer = editor.post(path + "/1", data=with_csrf(editor, {"at": at}, path))
        assert answer.status_code == 303
        assert expected in flashes(editor, path)
    answer = editor.post(path + "/1", data=with_csrf(editor, {"at": later(), "tz": "Mars/Base"},
                                                     path))
    assert "not a known IANA zone" in flashes(editor, path)
    assert editor.get("/admin/series/nope/schedule").status_code == 404


def test_the_calendar_shows_a_broadcast_in_both_zones_and_warns_of_two_series_one_morning(
    server: ConsoleServer, client_for: Callable[[str], httpx.Client],
) -> None:
    viewer = client_for(VIEWER)
    with server.app() as app:
        run_due(app, app.clock.now(), drain=False)  # the drip plans its first issues
        drip_day = agenda(app).lists[0].days[-1]  # a drip day in a week or more
        broadcasts_admin.schedule_issue(app, "care", 1, f"{drip_day.day:%Y-%m-%d} 08:00")
    page = viewer.get("/admin/calendar", params={"tz": "America/New_York"}).text
    assert "Riverside Clinic News" in page
    assert f"{drip_day.day:%a %Y-%m-%d} 08:00 CET" in page
    assert f"{drip_day.day:%a %Y-%m-%d} 02:00 EST" in page
    assert "2 series reach Riverside Clinic News the same morning" in page
    assert f"{len(PEOPLE)} issues" in page  # the drip, counted per day


def test_settings_saved_in_the_console_land_in_series_toml_and_a_stale_form_is_refused(
    server: ConsoleServer, client_for: Callable[[str], httpx.Client],
) -> None:
    editor = client_for(EDITOR)
    path = "/admin/series/sleep/schedule"
    page = editor.get(path).text
    file_hash = re.search(r'name="file_hash" value="([0-9a-f]+)"', page)
    assert file_hash
    form = {"file_hash": file_hash.group(1), "mode": "drip", "time_zone": "Europe/Berlin",
            "send_time": "07:15", "cadence_days": "3", "late_joiners": "start",
            "max_late_hours": "12", "day_tue": "1", "day_thu": "1"}
    assert editor.post(path + "/settings", data=with_csrf(editor, form, path)).status_code == 303
    text = (server.root / "issues" / "sleep" / "series.toml").read_text()
    assert 'send_time = "07:15"' in text
    assert 'send_weekdays = [\n    "tue",\n    "thu",\n]' in text or '"tue", "thu"' in text
    again = editor.post(path + "/settings", data=with_csrf(editor, {**form, "cadence_days": "9"},
                                                           path))
    assert again.status_code == 303
    assert "changed on disk" in flashes(editor, path)
    assert "cadence_days = 3" in (server.root / "issues" / "sleep" / "series.toml").read_text()


def test_a_test_send_goes_to_a_staff_address_only_and_touches_no_delivery(
    server: ConsoleServer, client_for: Callable[[str], httpx.Client],
) -> None:
    editor = client_for(EDITOR)
    path = "/admin/sends/care/1"
    assert editor.post(path + "/test", data=with_csrf(editor, {"to": OWNER}, path)
                       ).status_code == 303
    assert "Test sent to owner@example.org" in flashes(editor, path)
    refused = editor.post(path + "/test", data=with_csrf(editor, {"to": PEOPLE[0]}, path))
    assert refused.status_code == 303
    assert "staff addresses only" in flashes(editor, path)
    with server.app() as app:
        caught = MailStore(app.settings.var_path / CATCHER_DIR, app.clock).list()
        assert issue_sends(app, "care", 1).total == 0
    assert [str(m.message()["To"]) for m in caught] == [OWNER]
    assert str(caught[0].message()["Subject"]).startswith("[TEST] ")
    assert (EDITOR, "send.test", "care/1") in actions(server)


def test_roles_a_viewer_reads_an_editor_cannot_send_now_an_owner_can_after_the_count(
    server: ConsoleServer, client_for: Callable[[str], httpx.Client],
) -> None:
    viewer = client_for(VIEWER)
    path = "/admin/sends/care/1"
    for page in ("/admin/calendar", "/admin/sends", path, "/admin/series/care/schedule"):
        assert viewer.get(page).status_code == 200
    token = csrf_token(viewer, path)
    for post in (path + "/test", "/admin/series/care/schedule/1", path + "/send-now"):
        assert viewer.post(post, data={"csrf_token": token, "at": later()}).status_code == 403
    editor = client_for(EDITOR)
    assert editor.get(path + "/send-now").status_code == 403
    assert editor.post(path + "/send-now", data=with_csrf(editor, {"confirm": "yes"}, path)
                       ).status_code == 403
    owner = client_for(OWNER)
    confirm = owner.get(path + "/send-now")
    assert confirm.status_code == 200
    assert f"{len(PEOPLE)} people" in confirm.text
    unconfirmed = owner.post(path + "/send-now", data=with_csrf(owner, {}, path))
    assert unconfirmed.status_code == 303
    with server.app() as app:
        assert issue_sends(app, "care", 1).total == 0
    sent = owner.post(path + "/send-now", data=with_csrf(owner, {"confirm": "yes"}, path))
    assert sent.status_code == 303
    with server.app() as app:
        assert issue_sends(app, "care", 1).counts["queued"] == len(PEOPLE)
    assert (OWNER, "send.now", "care/1") in actions(server)
    assert "already sent" in owner.get("/admin/series/care/schedule").text


def test_the_counts_fragment_and_the_recipient_search(
    server: ConsoleServer, client_for: Callable[[str], httpx.Client],
) -> None:
    with server.app() as app:
        send_now(app, "care", 1)
        drain(app)
    viewer = client_for(VIEWER)
    fragment = viewer.get("/admin/sends/care/1/counts")
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert re.search(r'data-state="sent"><strong class="num">6<', fragment.text)
    assert "hx-trigger" not in fragment.text  # finished: no more polling
    found = viewer.get("/admin/sends", params={"email": PEOPLE[0].upper()}).text
    assert "care/1 Part 1" in found
    assert re.search(r'<code class="msgid">&lt;[^<]+@[^<]+&gt;</code>', found)
    missing = viewer.get("/admin/sends", params={"email": "nobody@example.org"}).text
    assert "Nobody with the address nobody@example.org" in missing
