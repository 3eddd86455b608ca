"""Staff commands on a real database: import, export, show --json, erase, add, form-snippet."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import func, select

from newsletter.app import App
from newsletter.audience.addresses import address_hash
from newsletter.audience.form import consent_text_hash
from newsletter.audience.signup import SignupOutcome, SignupRequest, subscribe
from newsletter.db.engine import write_transaction
from newsletter.db.models import (
    ConsentRecord,
    Signup,
    Subscriber,
    Subscription,
    Suppression,
)
from tests.support.cli import Cli
from tests.support.signup import CONSENT, LIST_SLUG, mail_of, outbox, state, write_lists


@pytest.fixture
def cli(project: Path, app: App) -> Cli:
    """The command on the test project and database, with the test's clock (app built first)."""
    write_lists(project, extra='[[list]]\nslug = "other"\nname = "Other"\n')
    return Cli(app.settings, app.clock)


def run(cli: Cli, *args: str) -> Result:
    return cli.run(*args)


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def unsubscribe(app: App, email: str) -> None:
    with write_transaction(app.sessions) as session:
        person = session.scalars(select(Subscriber).where(Subscriber.email == email)).one()
        session.scalars(
            select(Subscription).where(Subscription.subscriber_id == person.id)
        ).one().status = "unsubscribed"


def test_import_reports_bad_rows_by_line_dedupes_and_keeps_leavers_out(
    cli: Cli, app: App, project: Path
) -> None:
    run(cli, "subscribers", "add", "left@example.com", "--list", LIST_SLUG, "--confirmed")
    unsubscribe(app, "left@example.com")
    run(cli, "subscribers", "erase", "gone@example.com", "--yes")
    source = write_csv(project / "subscribers" / "people.csv", (
        "email,name,time_zone\n"
        "ana@example.com,Ana,Europe/Berlin\n"
        "not-an-address,Bob,\n"
        "ANA@Example.com,Ana again,\n"
        "left@example.com,Left,\n"
        "Gone@Example.com,Gone,\n"
        "cy@example.com,Cy,Mars/Olympus\n"
        "dee@example.com,\"Dee, the second\",America/New_York\n"
    ))
    result = run(cli, "subscribers", "import", str(source), "--list", LIST_SLUG)
    assert result.exit_code == 0, result.output
    assert "people.csv:3: not-an-address" in result.output
    assert "people.csv:7: cy@example.com: unknown time zone 'Mars/Olympus'" in result.output
    assert ("7 rows: 2 added, 0 already subscribed, 1 duplicate, 1 unsubscribed (kept out), "
            "1 suppressed (kept out), 0 bounced/complained (kept out), 2 bad") in result.output
    assert state(app, "ana@example.com")["statuses"] == ["active"]
    assert state(app, "ana@example.com")["events"] == ["import"]
    assert state(app, "left@example.com")["statuses"] == ["unsubscribed"]
    assert state(app, "gone@example.com") == {}
    with app.sessions() as session:
        record = session.scalars(
            select(ConsentRecord).where(ConsentRecord.email == "dee@example.com")
        ).one()
    assert (record.event, record.form) == ("import", "people.csv:8")
    assert outbox(app) == []  # no welcome mail for imported people


def test_import_of_a_file_without_an_email_column_fails_with_its_name(
    cli: Cli, project: Path
) -> None:
    source = write_csv(project / "bad.csv", "mail,name\nana@example.com,Ana\n")
    result = cli.invoke("subscribers", "import", str(source), "--list", LIST_SLUG)
    assert result.exit_code == 1
    assert "bad.csv:1: the header row has no 'email' column" in result.output


def test_export_guards_formulas_and_round_trips_through_import(
    cli: Cli, app: App, project: Path
) -> None:
    run(cli, "subscribers", "add", "ana@example.com", "--list", LIST_SLUG, "--confirmed",
        "--name", '=HYPERLINK("http://evil.example","click")')
    run(cli, "subscribers", "add", "--list", LIST_SLUG, "--confirmed", "--name", "@SUM(A1)",
        "--", "-bob@example.com")
    out = project / "export.csv"
    result = run(cli, "subscribers", "export", "--list", LIST_SLUG, "-o", str(out))
    assert result.exit_code == 0
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["email"] for r in rows] == ["'-bob@example.com", "ana@example.com"]
    assert rows[0]["name"] == "'@SUM(A1)"
    assert rows[1]["name"].startswith("'=HYPERLINK")
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@"))
    result = run(cli, "subscribers", "import", str(out), "--list", "other")
    assert "2 added" in result.output
    assert state(app, "-bob@example.com")["statuses"] == ["active", "active"]
    assert state(app, "ana@example.com")["subscriber"].name.startswith("=HYPERLINK")


def test_show_json_is_the_full_record_of_one_person(cli: Cli, app: App) -> None:
    subscribe(app, SignupRequest(email="ana@example.com", list_slug=LIST_SLUG, name="Ana"))
    result = run(cli, "subscribers", "show", "Ana@Example.com", "--json")
    data = json.loads(result.output)
    assert data["email"] == "ana@example.com"
    assert data["name"] is None  # the form's name waits for the confirmation (issue 13)
    assert data["subscriptions"][0]["status"] == "pending"
    assert [c["event"] for c in data["consent_records"]] == ["signup", "confirmation_sent"]
    assert data["consent_records"][0]["consent_text"] == CONSENT
    assert data["consent_records"][0]["consent_text_sha256"] == consent_text_hash(CONSENT)
    assert data["messages"][0]["kind"] == "confirmation"
    assert data["consent_records"][1]["delivery_id"] == data["messages"][0]["id"]


def test_erase_leaves_only_a_hash_that_blocks_every_way_back(cli: Cli, app: App) -> None:
    subscribe(app, SignupRequest(email="ana@example.com", list_slug=LIST_SLUG, name="Ana"))
    result = run(cli, "subscribers", "erase", "ana@example.com", "--yes")
    assert "erased" in result.output
    with app.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Subscriber)) == 0
        assert session.scalar(select(func.count()).select_from(ConsentRecord)) == 0
        assert session.scalar(select(func.count()).select_from(Signup)) == 0  # the pending record
        [kept] = session.scalars(select(Suppression)).all()
    assert kept.email_hash == address_hash("ana@example.com")
    assert outbox(app) == []
    shown = json.loads(run(cli, "subscribers", "show", "ana@example.com", "--json").output)
    assert shown["suppression"]["reason"] == "erased"
    assert "ana" not in json.dumps(shown).replace("ana@example.com", "")
    outcome = subscribe(app, SignupRequest(email="ANA@example.com", list_slug=LIST_SLUG))
    assert outcome is SignupOutcome.SUPPRESSED
    refused = cli.invoke("subscribers", "add", "ana@example.com", "--list", LIST_SLUG,
                         "--confirmed")
    assert refused.exit_code == 1
    assert "cannot resubscribe" in refused.output


def test_add_sends_a_confirmation_unless_staff_confirm(cli: Cli, app: App) -> None:
    result = run(cli, "subscribers", "add", "ana@example.com", "--list", LIST_SLUG)
    assert "confirmation email queued" in result.output
    assert state(app, "ana@example.com")["statuses"] == ["pending"]
    result = run(cli, "subscribers", "add", "bob@example.com", "--list", LIST_SLUG,
                 "--confirmed", "--time-zone", "Asia/Tokyo")
    assert "subscribed" in result.output
    assert state(app, "bob@example.com")["statuses"] == ["active"]
    listing = run(cli, "subscribers", "list", "--status", "active")
    assert "bob@example.com" in listing.output
    assert "ana@example.com" not in listing.output


def test_a_bad_address_from_staff_is_a_one_line_error(cli: Cli) -> None:
    result = cli.invoke("subscribers", "add", "ana@@example", "--list", LIST_SLUG)
    assert result.exit_code == 1
    assert "Error: that email address is not valid" in result.output
    assert "Traceback" not in result.output


def test_form_snippet_prints_a_plain_form_with_the_consent_text_and_a_hidden_honeypot(
    cli: Cli,
) -> None:
    result = run(cli, "form-snippet", "--list", LIST_SLUG)
    html = result.output
    assert 'action="http://127.0.0.1:8000/subscribe"' in html
    assert 'method="post"' in html
    assert 'name="list" value="clinic-news"' in html
    assert "Yes, email me the clinic&#x27;s articles." in html
    assert f'name="consent" value="{consent_text_hash(CONSENT)}"' in html
    assert 'name="website" tabindex="-1"' in html
    assert "left:-10000px" in html
    assert "resolvedOptions().timeZone" in html
    plain = run(cli, "form-snippet", "--list", LIST_SLUG, "--no-script").output
    assert "<script>" not in plain
    missing = cli.invoke("form-snippet", "--list", "nope")
    assert missing.exit_code == 1
    assert "no list 'nope'" in missing.output


def test_lists_sync_prints_the_declared_lists(cli: Cli) -> None:
    result = run(cli, "lists", "sync")
    assert "clinic-news: Riverside Clinic News (double opt-in)" in result.output
    assert io.StringIO(result.output).read().count("\n") == 2


# --- issue 13: CSV dialects, the export guard, staff wording, SMTPUTF8 ------------------------


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("semicolon.csv", b"E-mail;Name;Telefon\r\nana@example.com;Ana;123\r\n"
                          b"bo@example.com;\"Bo; the second\";\r\n"),
        ("tab.tsv", b"email\tname\nana@example.com\tAna\nbo@example.com\tBo\n"),
        ("bom.csv", "\ufeffEmail,Name\nana@example.com,Ana\nbo@example.com,Bo\n".encode()),
        ("unicode.txt", "email\tname\nana@example.com\tAna\nbo@example.com\tBo\n"
                        .encode("utf-16")),
    ],
)
def test_import_reads_semicolon_tab_bom_and_utf16_files(
    cli: Cli, app: App, project: Path, name: str, data: bytes
) -> None:
    source = project / name
    source.write_bytes(data)
    result = run(cli, "subscribers", "import", str(source), "--list", LIST_SLUG)
    assert result.exit_code == 0, result.output
    assert "2 rows: 2 added" in result.output
    assert state(app, "ana@example.com")["subscriber"].name == "Ana"
    assert state(app, "bo@example.com")["statuses"] == ["active"]


def test_a_file_without_an_email_column_says_which_columns_it_found(
    cli: Cli, project: Path
) -> None:
    source = write_csv(project / "bad.csv", "Mail;Name\nana@example.com;Ana\n")
    result = cli.invoke("subscribers", "import", str(source), "--list", LIST_SLUG)
    assert result.exit_code == 1
    assert "bad.csv:1: the header row has no 'email' column (it has 'Mail', 'Name';" in (
        result.output)


def test_export_guards_a_formula_hidden_behind_an_invisible_character(
    cli: Cli, app: App, project: Path
) -> None:
    # Names are cleaned on the way in now; a row stored before that still must not get out.
    run(cli, "subscribers", "add", "ana@example.com", "--list", LIST_SLUG, "--confirmed")
    with write_transaction(app.sessions) as session:
        person = session.scalars(select(Subscriber)).one()
        person.name = '\u200b=HYPERLINK("http://evil.example","x")'
    out = project / "export.csv"
    run(cli, "subscribers", "export", "-o", str(out))
    with out.open(encoding="utf-8", newline="") as handle:
        [row] = list(csv.DictReader(handle))
    assert row["name"] == "'\u200b=HYPERLINK(\"http://evil.example\",\"x\")"


def test_a_person_added_by_staff_is_not_told_they_used_the_signup_form(
    cli: Cli, app: App
) -> None:
    run(cli, "subscribers", "add", "ana@example.com", "--list", LIST_SLUG)
    [row] = outbox(app, "confirmation")
    mail = mail_of(row)
    for part in (mail.text, mail.html):
        assert "signup form" not in part
        assert "our staff added" in part.lower()
    assert "One click" not in mail.html


def test_a_visitor_confirmation_names_the_form_and_promises_no_single_click(
    cli: Cli, app: App
) -> None:
    subscribe(app, SignupRequest(email="ana@example.com", list_slug=LIST_SLUG))
    mail = mail_of(outbox(app, "confirmation")[0])
    assert "entered in our signup form" in mail.text
    assert "One click" not in mail.html
    assert "pressing the button" in mail.text


def test_staff_cannot_add_or_import_an_address_that_could_never_be_mailed(
    cli: Cli, app: App, project: Path
) -> None:
    added = cli.invoke("subscribers", "add", "zoë@example.com", "--list", LIST_SLUG,
                       "--confirmed")
    assert added.exit_code == 1
    assert "before the @" in added.output
    source = write_csv(project / "people.csv", "email\nzoë@example.com\nana@example.com\n")
    imported = run(cli, "subscribers", "import", str(source), "--list", LIST_SLUG)
    assert "people.csv:2: zoë@example.com:" in imported.output
    assert "1 added" in imported.output
    assert state(app, "zoë@example.com") == {}
