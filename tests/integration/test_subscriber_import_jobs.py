"""The console's CSV import as a service: stored upload, dry run, import job, on a real database."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from newsletter.accounts.audit import Actor, recent_actions
from newsletter.app import App
from newsletter.audience import import_jobs
from newsletter.audience.csv_files import import_csv
from newsletter.audience.staff import add_subscriber, erase_subscriber
from newsletter.clock import ManualClock
from newsletter.db.engine import write_transaction
from newsletter.db.models import (
    ConsentRecord,
    ImportJob,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)
from newsletter.errors import ContentError, NotFoundError
from tests.support.signup import LIST_SLUG, outbox, state, write_lists

ED = Actor("ed@clinic.example", "127.0.0.1")
TWO_BAD = (
    "email,name,time_zone\n"
    "ana@example.com,Ana,Europe/Berlin\n"
    "not-an-address,Bob,\n"
    "bo@example.com,Bo,\n"
    "cy@example.com,Cy,Mars/Olympus\n"
    "dee@example.com,Dee,\n"
)


@pytest.fixture(autouse=True)
def lists(project: Path, app: App) -> None:
    write_lists(project)


def people_count(app: App) -> int:
    with app.sessions() as session:
        return int(session.scalar(select(func.count(Subscriber.id))) or 0)


def consent_count(app: App) -> int:
    with app.sessions() as session:
        return int(session.scalar(select(func.count(ConsentRecord.id))) or 0)


def set_status(app: App, email: str, status: SubscriptionStatus) -> None:
    with write_transaction(app.sessions) as session:
        person = session.scalars(select(Subscriber).where(Subscriber.email == email)).one()
        session.scalars(
            select(Subscription).where(Subscription.subscriber_id == person.id)
        ).one().status = status


def check(app: App, text: str | bytes, name: str = "people.csv",
          basis: str = "") -> import_jobs.JobView:
    data = text.encode() if isinstance(text, str) else text
    return import_jobs.check_upload(app, file_name=name, data=data, list_slug=LIST_SLUG,
                                    basis=basis, actor=ED)


def imported(app: App, job: import_jobs.JobView) -> import_jobs.JobView:
    assert import_jobs.claim(app, job.token)
    return import_jobs.run_import(app, job.token)


def stored_files(app: App) -> list[Path]:
    folder = import_jobs.upload_dir(app)
    return sorted(folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize(("name", "data"), [
    ("comma.csv", b"email,name\nana@example.com,Ana\nbo@example.com,\"Bo, the second\"\n"),
    ("semicolon.csv", b"email;name\r\nana@example.com;Ana\r\nbo@example.com;Bo\r\n"),
    ("tab.tsv", b"email\tname\nana@example.com\tAna\nbo@example.com\tBo\n"),
    ("bom.csv", "\ufeffEmail,Name\nana@example.com,Ana\nbo@example.com,Bo\n".encode()),
])
def test_the_dry_run_reads_commas_semicolons_tabs_and_a_byte_order_mark(
    app: App, name: str, data: bytes
) -> None:
    job = check(app, data, name)
    assert (job.state, job.checked.added, job.checked.refused, job.total) == ("checked", 2, 0, 2)
    done = imported(app, job)
    assert done.result is not None
    assert done.result.added == 2
    assert state(app, "ana@example.com")["subscriber"].name == "Ana"
    assert state(app, "bo@example.com")["statuses"] == ["active"]


def test_the_dry_run_reports_refused_rows_by_line_and_writes_no_subscriber(app: App) -> None:
    job = check(app, TWO_BAD)
    assert [line for line, _why in job.checked.bad] == [3, 5]
    assert job.checked.bad[0][1].startswith("not-an-address: ")
    assert job.checked.bad[1][1] == "cy@example.com: unknown time zone 'Mars/Olympus'"
    assert (job.checked.added, job.checked.refused, job.checked.rows) == (3, 2, 5)
    assert people_count(app) == 0
    assert consent_count(app) == 0
    assert [path.name for path in stored_files(app)] == [f"{job.token}.csv"]


def test_the_dry_run_names_the_people_who_left_bounced_or_were_erased(app: App) -> None:
    for email in ("left@example.com", "bounced@example.com", "here@example.com"):
        add_subscriber(app, email, LIST_SLUG, confirmed=True)
    set_status(app, "left@example.com", SubscriptionStatus.UNSUBSCRIBED)
    set_status(app, "bounced@example.com", SubscriptionStatus.BOUNCED)
    add_subscriber(app, "gone@example.com", LIST_SLUG, confirmed=True)
    erase_subscriber(app, "gone@example.com")
    job = check(app, "email\nleft@example.com\nbounced@example.com\nGone@Example.com\n"
                     "here@example.com\nnew@example.com\n")
    report = job.checked
    assert (report.added, report.existing, report.unsubscribed, report.blocked,
            report.suppressed) == (1, 1, 1, 1, 1)
    assert report.kept_out == [
        (2, "left@example.com", "unsubscribed from this list"),
        (3, "bounced@example.com", "bounced or complained"),
        (4, "gone@example.com", "erased or suppressed"),
    ]
    done = imported(app, job)
    assert done.result is not None
    assert (done.result.added, done.result.left_out) == (1, 3)
    assert state(app, "left@example.com")["statuses"] == ["unsubscribed"]
    assert state(app, "bounced@example.com")["statuses"] == ["bounced"]
    assert state(app, "gone@example.com") == {}


def test_a_person_erased_after_the_dry_run_is_not_brought_back_by_the_import(app: App) -> None:
    add_subscriber(app, "gone@example.com", LIST_SLUG, confirmed=True)
    job = check(app, "email\ngone@example.com\n")
    assert job.checked.existing == 1
    erase_subscriber(app, "gone@example.com")
    done = imported(app, job)
    assert done.result is not None
    assert (done.result.added, done.result.suppressed) == (0, 1)
    assert state(app, "gone@example.com") == {}


def test_importing_the_same_file_twice_adds_nobody_twice(app: App) -> None:
    first = imported(app, check(app, TWO_BAD))
    assert first.result is not None
    assert first.result.added == 3
    consents = consent_count(app)
    second = imported(app, check(app, TWO_BAD))
    assert second.result is not None
    assert (second.result.added, second.result.existing) == (0, 3)
    assert people_count(app) == 3
    assert consent_count(app) == consents
    assert outbox(app) == []  # imported people get no mail


def test_the_import_keeps_the_stated_basis_and_the_file_and_line_in_the_consent_record(
    app: App,
) -> None:
    imported(app, check(app, TWO_BAD, "front-desk.csv", basis="  paper form, spring 2026 "))
    with app.sessions() as session:
        record = session.scalars(
            select(ConsentRecord).where(ConsentRecord.email == "dee@example.com")).one()
    assert (record.event, record.form, record.consent_text) == (
        "import", "front-desk.csv:6", "paper form, spring 2026")


def test_a_big_file_is_imported_in_batches_and_the_job_counts_them(app: App) -> None:
    rows = "".join(f"person{number}@example.com\n" for number in range(1250))
    job = check(app, "email\n" + rows)
    seen: list[tuple[int, int]] = []
    assert import_jobs.claim(app, job.token)
    path = import_jobs.upload_dir(app) / f"{job.token}.csv"
    import_csv(app, path, LIST_SLUG, progress=lambda done, total: seen.append((done, total)),
               dry_run=True)
    assert seen == [(500, 1250), (1000, 1250), (1250, 1250)]
    done = import_jobs.run_import(app, job.token)
    assert (done.state, done.done, done.total, done.percent) == ("done", 1250, 1250, 100)
    assert people_count(app) == 1250
    assert stored_files(app) == []  # the upload is deleted once imported


def test_the_import_records_its_count_in_the_job_after_every_batch(app: App) -> None:
    job = check(app, "email\n" + "".join(f"p{number}@example.com\n" for number in range(1100)))
    assert import_jobs.claim(app, job.token)
    seen: list[tuple[str, int, int]] = []
    import_jobs.run_import(app, job.token, after_batch=lambda view: seen.append(
        (view.state, view.done, view.total)))
    assert seen == [("running", 500, 1100), ("running", 1000, 1100), ("running", 1100, 1100)]


@pytest.mark.parametrize(("data", "words"), [
    (b"email,name\n\xff\xfeana@example.com,\xe9\n", "not UTF-8 text"),
    ("email,name\nana@example.com,Ana\n".encode("latin-1") + b"caf\xe9@example.com,\xe9\n",
     "not UTF-8 text"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "not UTF-8 text"),
    (b"mail;name\nana@example.com;Ana\n", "header row has no 'email' column"),
    (b"   \n", "the file is empty"),
])
def test_a_file_that_is_not_a_readable_csv_is_refused_with_its_name_and_nothing_kept(
    app: App, data: bytes, words: str
) -> None:
    with pytest.raises(ContentError) as caught:
        check(app, data, "export.csv")
    assert str(caught.value).startswith("export.csv")
    assert words in str(caught.value)
    assert stored_files(app) == []
    with app.sessions() as session:
        assert session.scalar(select(func.count(ImportJob.id))) == 0


def test_a_file_over_the_limit_or_for_an_unknown_list_is_refused(app: App) -> None:
    big = b"email\n" + b"x" * app.settings.console_import_max_bytes
    with pytest.raises(ContentError, match="up to 20 MB"):
        check(app, big)
    with pytest.raises(NotFoundError, match="no list 'nope'"):
        import_jobs.check_upload(app, file_name="a.csv", data=b"email\na@example.com\n",
                                 list_slug="nope", basis="", actor=ED)
    assert stored_files(app) == []


def test_a_job_is_claimed_once_and_an_interrupted_one_may_be_claimed_again(
    app: App, clock: ManualClock
) -> None:
    job = check(app, TWO_BAD)
    assert import_jobs.claim(app, job.token)
    assert not import_jobs.claim(app, job.token)  # a second press while it runs
    clock.advance(import_jobs.STALE_AFTER - timedelta(seconds=1))
    assert not import_jobs.get_job(app, job.token).interrupted
    assert not import_jobs.claim(app, job.token)
    clock.advance(timedelta(seconds=2))  # the heartbeat stopped: the server died mid-import
    assert import_jobs.get_job(app, job.token).interrupted
    assert import_jobs.claim(app, job.token)
    done = import_jobs.run_import(app, job.token)
    assert done.state == "done"
    assert not done.interrupted
    assert not import_jobs.claim(app, job.token)  # finished jobs stay finished


def test_an_import_whose_database_write_fails_ends_failed_and_may_run_again(app: App) -> None:
    job = check(app, TWO_BAD)
    assert import_jobs.claim(app, job.token)
    # The list vanishes between the check and the import: the job says so and keeps the file.
    (app.settings.subscribers_path / "lists.toml").write_text("", encoding="utf-8")
    failed = import_jobs.run_import(app, job.token)
    assert failed.state == "failed"
    assert "clinic-news" in failed.error
    assert len(stored_files(app)) == 1
    write_lists(app.settings.subscribers_path.parent)
    assert import_jobs.claim(app, job.token)
    assert import_jobs.run_import(app, job.token).state == "done"


def test_uploads_left_for_a_day_are_deleted_by_the_next_upload(
    app: App, clock: ManualClock
) -> None:
    old = check(app, TWO_BAD, "old.csv")
    clock.advance(import_jobs.KEEP_UPLOAD + timedelta(minutes=1))
    new = check(app, TWO_BAD, "new.csv")
    assert import_jobs.get_job(app, old.token).state == "expired"
    assert [path.name for path in stored_files(app)] == [f"{new.token}.csv"]
    assert not import_jobs.claim(app, old.token)


def test_a_discarded_upload_is_deleted_and_audited(app: App) -> None:
    job = check(app, TWO_BAD)
    assert import_jobs.discard(app, job.token, ED).state == "discarded"
    assert stored_files(app) == []
    assert recent_actions(app)[0].action == "subscribers.import_discarded"


def test_the_check_and_the_import_are_written_to_the_audit_log(app: App) -> None:
    job = check(app, TWO_BAD, "spring.csv")
    imported(app, job)
    entries = [(entry.action, entry.actor, entry.target, entry.detail)
               for entry in reversed(recent_actions(app))]
    assert entries == [
        ("subscribers.import_checked", ED.name, LIST_SLUG,
         "spring.csv: 5 rows: would add 3, 0 already subscribed, 0 left out (unsubscribed, "
         "bounced, complained or erased), 0 duplicates, 2 refused"),
        ("subscribers.import", ED.name, LIST_SLUG,
         "spring.csv: 5 rows: added 3, 0 already subscribed, 0 left out (unsubscribed, "
         "bounced, complained or erased), 0 duplicates, 2 refused"),
    ]


def test_an_unknown_or_malformed_job_address_is_not_found(app: App) -> None:
    for token in ("", "nope", "../../etc/passwd", "x" * 44):
        with pytest.raises(NotFoundError):
            import_jobs.get_job(app, token)


def test_a_running_job_is_not_claimed_when_its_file_is_gone(app: App) -> None:
    job = check(app, TWO_BAD)
    with write_transaction(app.sessions) as session:
        session.execute(update(ImportJob).values(state="failed"))
    (import_jobs.upload_dir(app) / f"{job.token}.csv").unlink()
    assert not import_jobs.claim(app, job.token)


def test_a_pending_person_and_a_person_of_another_list_are_made_active_by_the_import(
    app: App, project: Path
) -> None:
    write_lists(project, extra='[[list]]\nslug = "other"\nname = "Other"\n')
    add_subscriber(app, "pending@example.com", LIST_SLUG)  # waits for their confirmation
    add_subscriber(app, "elsewhere@example.com", "other", confirmed=True)
    job = check(app, "email,name\npending@example.com,Pat\nelsewhere@example.com,Els\n"
                     "new@example.com,Nu\n")
    assert job.checked.added == 3
    done = imported(app, job)
    assert done.result is not None
    assert (done.result.added, done.result.existing) == (3, 0)
    assert state(app, "pending@example.com")["statuses"] == ["active"]
    assert sorted(state(app, "elsewhere@example.com")["statuses"]) == ["active", "active"]
    with app.sessions() as session:
        forms = sorted(session.scalars(select(ConsentRecord.form).where(
            ConsentRecord.event == "import")))
    assert forms == ["people.csv:2", "people.csv:3", "people.csv:4"]
