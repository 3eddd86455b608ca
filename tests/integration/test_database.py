"""The schema: migrations, SQLite pragmas, unique keys, aware timestamps, on every backend."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.exc import IntegrityError, OperationalError, StatementError

from newsletter.app import App
from newsletter.db.engine import (
    SQLITE_BUSY_TIMEOUT_MS,
    make_engine,
    make_sessionmaker,
    write_transaction,
)
from newsletter.db.migrate import current_revision, head_revision, upgrade
from newsletter.db.models import Base, Delivery, Issue, MailingList, Series, Subscriber
from newsletter.errors import DatabaseError
from newsletter.feedback.intake import sent_as

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def _issue_and_subscriber(app: App) -> tuple[int, int]:
    with app.sessions() as session:
        mailing_list = MailingList(slug="news", name="News", created_at=NOW)
        session.add(mailing_list)
        session.flush()
        series = Series(slug="s", title="S", list_id=mailing_list.id, mode="broadcast",
                        created_at=NOW, updated_at=NOW)
        session.add(series)
        session.flush()
        issue = Issue(series_id=series.id, position=1, slug="one", title="One", subject="One",
                      preheader="", source_path="x", content_hash="0" * 64,
                      created_at=NOW, updated_at=NOW)
        subscriber = Subscriber(public_id="p1", email="ana@example.com", created_at=NOW)
        session.add_all([issue, subscriber])
        session.commit()
        return issue.id, subscriber.id


def test_migrations_create_every_table_and_reach_head(app: App) -> None:
    tables = set(inspect(app.engine).get_table_names())
    expected = {"lists", "subscribers", "subscriptions", "consent_records", "suppressions",
                "series", "issues", "deliveries"}
    assert expected <= tables
    assert current_revision(app.engine) == head_revision()


def test_the_migrations_build_exactly_the_schema_of_the_models(app: App) -> None:
    with app.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == [], "models changed without a migration: scripts/new_migration.py"


def test_upgrading_twice_changes_nothing(app: App) -> None:
    before, after = upgrade(app.engine)
    assert before == after == head_revision()


def test_an_older_version_on_a_schema_a_newer_one_upgraded_stops_with_both_revisions_named(
        app: App) -> None:
    with app.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0099_from_later'"))
    with pytest.raises(DatabaseError) as raised:
        upgrade(app.engine)
    message = str(raised.value)
    assert "'0099_from_later'" in message
    assert repr(head_revision()) in message
    assert current_revision(app.engine) == "0099_from_later"  # nothing was touched


def test_a_bounce_finds_its_delivery_by_message_id_through_the_partial_index(app: App) -> None:
    issue_id, subscriber_id = _issue_and_subscriber(app)
    with app.sessions() as session:
        session.add_all([
            Delivery(issue_id=issue_id, subscriber_id=subscriber_id, status="sent",
                     message_id="<a.b@clinic.example>", queued_at=NOW, updated_at=NOW),
            Delivery(kind="confirmation", subscriber_id=subscriber_id, status="queued",
                     queued_at=NOW, updated_at=NOW)])
        session.commit()
    query = sent_as("<a.b@clinic.example>")
    sql = str(query.compile(dialect=app.engine.dialect, compile_kwargs={"literal_binds": True}))
    with app.engine.begin() as connection:
        if app.engine.dialect.name == "sqlite":
            explain = "EXPLAIN QUERY PLAN "
        else:  # a table this small would be scanned; the question is whether it can use the index
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            explain = "EXPLAIN "
        plan = " ".join(str(row[-1]) for row in connection.exec_driver_sql(explain + sql))
        found = connection.execute(query.with_only_columns(Delivery.status)).scalar_one()
    assert "ix_deliveries_message_id" in plan, plan
    assert found == "sent"


def test_the_same_issue_cannot_be_queued_twice_for_one_subscriber(app: App) -> None:
    issue_id, subscriber_id = _issue_and_subscriber(app)

    def row() -> Delivery:
        return Delivery(issue_id=issue_id, subscriber_id=subscriber_id, status="queued",
                        queued_at=NOW, updated_at=NOW)

    with app.sessions() as session:
        session.add(row())
        session.commit()
    with app.sessions() as session:
        session.add(row())
        with pytest.raises(IntegrityError):
            session.commit()


def test_timestamps_come_back_aware_and_in_utc(app: App) -> None:
    berlin = timezone(timedelta(hours=1))
    with app.sessions() as session:
        session.add(MailingList(slug="tz", name="TZ", created_at=datetime(2026, 1, 1, 10,
                                                                         tzinfo=berlin)))
        session.commit()
    with app.sessions() as session:
        stored = session.scalars(select(MailingList.created_at)).one()
    assert stored == datetime(2026, 1, 1, 9, tzinfo=UTC)
    assert stored.tzinfo is not None


def test_naive_timestamps_are_refused(app: App) -> None:
    with app.sessions() as session:
        session.add(MailingList(slug="naive", name="N", created_at=datetime(2026, 1, 1)))
        with pytest.raises(StatementError, match=r"naive datetime"):
            session.commit()


def test_sqlite_files_run_in_wal_mode_with_a_busy_timeout(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/wal.db")
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert (connection.execute(text("PRAGMA busy_timeout")).scalar() or 0) >= 5000
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        engine.dispose()


@pytest.fixture
def locked_file(tmp_path: Path) -> Iterator[tuple[Engine, sqlite3.Connection]]:
    """An engine on a SQLite file whose write lock another connection (another process) holds."""
    engine = make_engine(f"sqlite:///{tmp_path}/locked.db")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE notes (body TEXT)")
    other = sqlite3.connect(tmp_path / "locked.db", isolation_level=None,
                            check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO notes VALUES ('from the other process')")
    try:
        yield engine, other
    finally:
        other.close()
        engine.dispose()


def test_a_write_waits_for_another_process_to_release_the_sqlite_file_and_then_goes_ahead(
        locked_file: tuple[Engine, sqlite3.Connection]) -> None:
    engine, other = locked_file
    release = threading.Timer(0.05, other.commit)
    release.start()
    try:
        with write_transaction(make_sessionmaker(engine)) as session:
            # Began after the other process committed, so its row is there.
            seen = session.execute(text("SELECT body FROM notes")).scalars().all()
            session.execute(text("INSERT INTO notes VALUES ('ours')"))
    finally:
        release.join()
    assert seen == ["from the other process"]
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM notes")).scalar() == 2


def test_a_write_that_waited_its_limit_fails_with_sqlites_error_and_keeps_the_busy_timeout(
        locked_file: tuple[Engine, sqlite3.Connection]) -> None:
    engine, _other = locked_file
    with engine.connect() as connection:
        waiting = connection.execution_options(sqlite_begin="IMMEDIATE", sqlite_busy_ms=30)
        with pytest.raises(OperationalError, match="database is locked"):
            waiting.begin()
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == SQLITE_BUSY_TIMEOUT_MS


def test_the_issue13_migration_strips_invisible_characters_from_stored_names(
    database_url: str,
) -> None:
    from alembic import command

    from newsletter.db.migrate import alembic_config

    engine = make_engine(database_url)
    try:
        command.upgrade(alembic_config(engine), "0001")
        with engine.begin() as connection:
            stored = ["\u202eAna\u200b Lopez", "Zoë 🌿", "\u200b", "می\u200cخواهم"]
            for number, name in enumerate(stored):
                connection.execute(text(
                    "INSERT INTO subscribers (public_id, email, name, created_at) "
                    "VALUES (:p, :e, :n, :t)"), {"p": f"p{number}", "e": f"s{number}@example.com",
                                                "n": name, "t": NOW})
        upgrade(engine)
        with engine.connect() as connection:
            names = connection.execute(
                text("SELECT name FROM subscribers ORDER BY public_id")).scalars().all()
    finally:
        engine.dispose()
    assert names == ["Ana Lopez", "Zoë 🌿", None, "می\u200cخواهم"]
