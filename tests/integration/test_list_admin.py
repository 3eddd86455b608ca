"""Lists edited from the console: lists.toml written and read back, consent text versions, origins.

Issue 10 item 2. Real SQLite file (and PostgreSQL when configured); the
services are those the console pages call; time is the manual clock.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from newsletter.app import App
from newsletter.audience.consent import RequestInfo
from newsletter.audience.ingest import process_signups
from newsletter.audience.intake import SignupRequest, signup_row, store_signups
from newsletter.audience.list_admin import list_detail, list_summaries, save_list
from newsletter.audience.origins import (
    AllowedOrigins,
    OriginError,
    add_origin,
    console_origins,
    normalise_origin,
    remove_origin,
)
from newsletter.audience.signup import confirm
from newsletter.audience.staff import person_export
from newsletter.clock import ManualClock
from newsletter.config import load_settings
from newsletter.content.lists import consent_text_hash, read_lists
from newsletter.content.lists_edit import ListChanged, ListDraft, ListFormInvalid, fingerprint
from newsletter.db.models import ConsentRecord, ConsentVersion
from newsletter.errors import NotFoundError
from tests.support.cli import Cli
from tests.support.signup import CONSENT, LIST_SLUG, confirm_path, mail_of, outbox, write_lists

STAFF = "ed@clinic.example"
COMMENTED = """# Our lists. Keep the consent text short.
[[list]]
slug = "clinic-news"   # used in the form: never rename
name = "Riverside Clinic News"
description = "Articles on living with chronic pain"
double_opt_in = true
time_zone = "Europe/Berlin"
consent_text = "Yes, email me the clinic's articles. I can leave with one click at any time."
"""


@pytest.fixture(autouse=True)
def lists(project: Path) -> None:
    write_lists(project)


def draft(**changes: object) -> ListDraft:
    base = {"slug": LIST_SLUG, "name": "Riverside Clinic News",
            "description": "Articles on living with chronic pain", "consent_text": CONSENT,
            "double_opt_in": True, "thank_you_url": ""}
    return ListDraft(**{**base, **changes})  # type: ignore[arg-type]


def versions(app: App) -> list[tuple[int, str, str | None]]:
    with app.sessions() as session:
        rows = session.scalars(select(ConsentVersion).order_by(ConsentVersion.version))
        return [(row.version, row.text, row.created_by) for row in rows]


def sign_up(app: App, email: str, consent_hash: str | None = None) -> None:
    row = signup_row(app, SignupRequest(
        email=email, list_slug=LIST_SLUG, consent_hash=consent_hash,
        source=RequestInfo(form="snippet-v1")), app.clock.now())
    store_signups(app, [row])
    process_signups(app)


def records_of(app: App, email: str) -> list[tuple[str, int | None, str | None]]:
    with app.sessions() as session:
        rows = session.scalars(select(ConsentRecord).where(ConsentRecord.email == email)
                               .order_by(ConsentRecord.id))
        return [(row.event, row.consent_version_id, row.consent_text) for row in rows]


def version_id(app: App, number: int) -> int:
    with app.sessions() as session:
        found = session.scalar(select(ConsentVersion.id).where(ConsentVersion.version == number))
        assert found is not None
        return found


def test_saving_a_list_keeps_the_comments_and_keys_the_form_does_not_show(
    app: App, project: Path
) -> None:
    path = project / "subscribers" / "lists.toml"
    path.write_text(COMMENTED, encoding="utf-8")
    loaded = fingerprint(read_lists(path.parent)[0])
    save_list(app, draft(name="Riverside News", thank_you_url="https://clinic.example/thanks"),
              creating=False, by=STAFF, loaded=loaded)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Our lists. Keep the consent text short.\n")
    assert 'slug = "clinic-news"   # used in the form: never rename' in text
    assert 'time_zone = "Europe/Berlin"' in text
    config = read_lists(path.parent)[0]
    assert (config.name, config.thank_you_url, config.time_zone) == (
        "Riverside News", "https://clinic.example/thanks", "Europe/Berlin")


def test_a_created_list_is_in_the_file_and_in_the_database_at_once(
    app: App, project: Path
) -> None:
    saved = save_list(app, draft(slug="pain-school", name="Pain School",
                                 consent_text="Send me the Pain School lessons."),
                      creating=True, by=STAFF)
    assert saved.new_version == 1
    assert [c.slug for c in read_lists(project / "subscribers")] == [LIST_SLUG, "pain-school"]
    assert "pain-school" in app.catalog.lists()
    fresh = App(**{**vars(app), "settings": load_settings(project, environ={}, overrides={
        "database_url": app.settings.database_url})})
    assert [s.config.slug for s in list_summaries(fresh)] == [LIST_SLUG, "pain-school"]


def test_every_bad_field_is_named_and_nothing_is_written(app: App, project: Path) -> None:
    path = project / "subscribers" / "lists.toml"
    before = path.read_bytes()
    with pytest.raises(ListFormInvalid) as caught:
        save_list(app, draft(slug="Pain School", name="", consent_text="  ",
                             thank_you_url="javascript:alert(1)"), creating=True, by=STAFF)
    assert set(caught.value.errors) == {"slug", "name", "consent_text", "thank_you_url"}
    with pytest.raises(ListFormInvalid) as duplicate:
        save_list(app, draft(), creating=True, by=STAFF)
    assert duplicate.value.errors == {"slug": f"a list called {LIST_SLUG!r} already exists"}
    assert path.read_bytes() == before


def test_an_edit_of_a_list_changed_since_the_form_opened_is_refused(
    app: App, project: Path
) -> None:
    loaded = fingerprint(read_lists(project / "subscribers")[0])
    save_list(app, draft(name="First save"), creating=False, by=STAFF, loaded=loaded)
    with pytest.raises(ListChanged):
        save_list(app, draft(name="Second save"), creating=False, by=STAFF, loaded=loaded)
    assert read_lists(project / "subscribers")[0].name == "First save"


def test_a_changed_consent_text_is_a_new_version_and_other_changes_are_not(
    app: App, clock: ManualClock
) -> None:
    app.catalog.lists()
    assert versions(app) == [(1, CONSENT, None)]
    save_list(app, draft(name="Renamed", double_opt_in=False), creating=False, by=STAFF)
    assert len(versions(app)) == 1
    clock.advance(timedelta(days=1))
    saved = save_list(app, draft(consent_text="New wording."), creating=False, by=STAFF)
    assert saved.new_version == 2
    assert versions(app) == [(1, CONSENT, None), (2, "New wording.", STAFF)]
    save_list(app, draft(consent_text=CONSENT), creating=False, by=STAFF)
    assert [v[0] for v in versions(app)] == [1, 2, 3]  # back to the first wording: a new version


def test_a_consent_text_changed_by_hand_in_the_file_is_versioned_too(
    app: App, project: Path, clock: ManualClock
) -> None:
    app.catalog.lists()
    clock.advance(timedelta(hours=1))
    path = project / "subscribers" / "lists.toml"
    path.write_text(path.read_text().replace(CONSENT, "Edited in the file."), encoding="utf-8")
    app.catalog.reload_lists()
    assert versions(app) == [(1, CONSENT, None), (2, "Edited in the file.", None)]


def test_a_consent_record_keeps_the_version_it_agreed_to_after_the_text_changes(
    app: App, clock: ManualClock
) -> None:
    sign_up(app, "ana@example.com")
    first = version_id(app, 1)
    assert records_of(app, "ana@example.com") == [("signup", first, CONSENT),
                                                 ("confirmation_sent", first, None)]
    clock.advance(timedelta(minutes=5))
    save_list(app, draft(consent_text="New wording."), creating=False, by=STAFF)
    # Ana confirms after the change: she agreed to the text her form showed.
    confirm(app, confirm_path(mail_of(outbox(app, "confirmation")[0]).text).rsplit("/", 1)[1])
    assert [r[1] for r in records_of(app, "ana@example.com")] == [first, first, first]
    sign_up(app, "ben@example.com")
    assert records_of(app, "ben@example.com")[0] == ("signup", version_id(app, 2), "New wording.")
    # A page still showing the old form sends the old hash: that version, with its text.
    sign_up(app, "cy@example.com", consent_text_hash(CONSENT))
    assert records_of(app, "cy@example.com")[0] == ("signup", first, CONSENT)
    detail = list_detail(app, LIST_SLUG)
    assert [(v.version, v.agreements) for v in detail.versions] == [(2, 1), (1, 2)]
    exported = person_export(app, "ana@example.com")["consent_records"]
    assert [(r["event"], r["consent_version"]) for r in exported] == [
        ("signup", 1), ("confirmation_sent", 1), ("confirmed", 1)]
    assert detail.versions[0].created_by == STAFF


@pytest.mark.parametrize(("typed", "origin"), [
    ("https://www.clinic.example", "https://www.clinic.example"),
    ("HTTPS://WWW.Clinic.Example/", "https://www.clinic.example"),
    ("https://www.clinic.example:443", "https://www.clinic.example"),
    ("http://127.0.0.1:8123", "http://127.0.0.1:8123"),
    ("https://bücher.example", "https://xn--bcher-kva.example"),
    ("http://[::1]:8080", "http://[::1]:8080"),
])
def test_an_origin_is_kept_as_browsers_send_it(typed: str, origin: str) -> None:
    assert normalise_origin(typed) == origin


@pytest.mark.parametrize("typed", [
    "", "www.clinic.example", "ftp://clinic.example", "https://clinic.example/signup",
    "https://clinic.example/?a=1", "https://clinic.example/#top", "https://user:pw@clinic.example",
    "https://clinic.example:99999", "https://clinic example", "https://", "javascript:alert(1)",
    "https://clinic.example\n.evil",
])
def test_anything_but_an_origin_is_refused_with_a_reason(typed: str) -> None:
    with pytest.raises(OriginError):
        normalise_origin(typed)


def test_a_console_origin_joins_the_allowed_set_until_it_is_removed(app: App) -> None:
    assert add_origin(app, "https://www.clinic.example/", by=STAFF) == "https://www.clinic.example"
    assert "https://www.clinic.example" in app.origins.allowed()
    assert [o.origin for o in console_origins(app)] == ["https://www.clinic.example"]
    with pytest.raises(OriginError, match="already allowed"):
        add_origin(app, "https://WWW.clinic.example", by=STAFF)
    remove_origin(app, "https://www.clinic.example")
    assert "https://www.clinic.example" not in app.origins.allowed()
    with pytest.raises(NotFoundError):
        remove_origin(app, "https://www.clinic.example")


def test_another_process_sees_a_new_origin_once_its_cache_expires(app: App, project: Path) -> None:
    ticks = [0.0]
    other = AllowedOrigins(app.settings, app.db, ttl=5.0, monotonic=lambda: ticks[0])
    assert other.allowed() == frozenset()
    add_origin(app, "https://www.clinic.example", by=STAFF)
    assert other.allowed() == frozenset()  # cached
    ticks[0] = 5.0
    assert other.allowed() == frozenset({"https://www.clinic.example"})


def test_the_setting_and_the_console_origins_are_one_set(project: Path, app: App) -> None:
    settings = app.settings.model_copy(update={"allowed_origins": ["https://Blog.Clinic.example/"]})
    union = AllowedOrigins(settings, app.db)
    add_origin(app, "https://www.clinic.example", by=STAFF)
    assert union.allowed() == frozenset({"https://blog.clinic.example",
                                         "https://www.clinic.example"})


def test_form_snippet_takes_the_field_choices_and_counts_console_origins(app: App) -> None:
    cli = Cli(app.settings, app.clock)
    plain = cli.run("form-snippet", "--list", LIST_SLUG, "--no-name", "--no-time-zone")
    assert 'name="name"' not in plain.stdout
    assert 'name="time_zone"' not in plain.stdout
    assert "no allowed_origins" in plain.stderr
    add_origin(app, "https://www.clinic.example", by=STAFF)
    allowed = cli.run("form-snippet", "--list", LIST_SLUG)
    assert 'name="name"' in allowed.stdout
    assert "no allowed_origins" not in allowed.stderr


def test_a_lists_file_written_as_an_inline_array_is_rewritten_as_tables(
    app: App, project: Path
) -> None:
    path = project / "subscribers" / "lists.toml"
    path.write_text('# kept\nlist = [\n  { slug = "clinic-news", name = "News" },\n]\n',
                    encoding="utf-8")
    save_list(app, draft(slug="second", name="Second"), creating=True, by=STAFF)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# kept\n")
    assert text.count("[[list]]") == 2
    assert [c.slug for c in read_lists(path.parent)] == [LIST_SLUG, "second"]
