"""Staff accounts, sessions, throttling and the audit log on a real database (SQLite, PostgreSQL).

Time comes from the ManualClock: idle and absolute expiry and the throttling
window are checked by moving it, never by sleeping.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from newsletter.accounts import staff as accounts
from newsletter.accounts.audit import Actor, count_actions, recent_actions, record_action
from newsletter.accounts.roles import Role
from newsletter.accounts.sessions import (
    WRONG,
    LoginRefused,
    add_flash,
    current_session,
    log_in,
    log_out,
    take_flashes,
)
from newsletter.app import App
from newsletter.clock import ManualClock
from newsletter.db.models import AuditEntry, StaffAccount, StaffSession
from newsletter.errors import AccountError, NotFoundError

PASSWORD = "correct horse battery staple"
ME = Actor("test", "127.0.0.1")


def add(app: App, email: str, role: Role = Role.EDITOR) -> accounts.StaffInfo:
    return accounts.add_staff(app, email, role, PASSWORD, actor=ME)


def test_an_account_is_stored_lower_cased_with_a_hash_never_the_password(app: App) -> None:
    info = add(app, "  Lena@Clinic.Example ")
    assert info.email == "lena@clinic.example"
    with app.sessions() as session:
        row = session.scalar(select(StaffAccount))
    assert row is not None
    assert row.password_hash.startswith("$argon2id$")
    assert PASSWORD not in row.password_hash
    with pytest.raises(AccountError, match="already has a staff account"):
        add(app, "LENA@clinic.example")


def test_the_last_owner_can_be_neither_removed_nor_demoted(app: App) -> None:
    add(app, "boss@clinic.example", Role.OWNER)
    add(app, "ed@clinic.example")
    with pytest.raises(AccountError, match="only owner"):
        accounts.remove_staff(app, "boss@clinic.example", actor=ME)
    with pytest.raises(AccountError, match="only owner"):
        accounts.change_role(app, "boss@clinic.example", Role.EDITOR, actor=ME)
    accounts.change_role(app, "ed@clinic.example", Role.OWNER, actor=ME)
    accounts.change_role(app, "boss@clinic.example", Role.VIEWER, actor=ME)  # now allowed
    assert {a.email: a.role for a in accounts.list_staff(app)} == {
        "boss@clinic.example": Role.VIEWER, "ed@clinic.example": Role.OWNER}
    with pytest.raises(NotFoundError, match=r"no staff account for ghost@clinic\.example"):
        accounts.remove_staff(app, "ghost@clinic.example", actor=ME)


def test_a_login_opens_a_session_whose_token_is_stored_only_as_a_hash(app: App) -> None:
    add(app, "ed@clinic.example")
    started = log_in(app, "ED@clinic.example", PASSWORD, ip="10.0.0.1")
    view = current_session(app, started.token)
    assert view is not None
    assert view.email == "ed@clinic.example"
    assert view.role == Role.EDITOR
    with app.sessions() as session:
        stored = session.scalar(select(StaffSession))
    assert stored is not None
    assert started.token not in (stored.token_hash, stored.csrf_token)
    other = log_in(app, "ed@clinic.example", PASSWORD, ip="10.0.0.1")
    assert other.view.csrf_token != started.view.csrf_token  # one token per session
    assert current_session(app, "not-a-token") is None


def test_an_unknown_address_and_a_wrong_password_are_refused_alike(app: App) -> None:
    add(app, "ed@clinic.example")
    with pytest.raises(LoginRefused) as wrong:
        log_in(app, "ed@clinic.example", "a wrong password", ip="10.0.0.1")
    with pytest.raises(LoginRefused) as unknown:
        log_in(app, "nobody@clinic.example", "a wrong password", ip="10.0.0.1")
    assert str(wrong.value) == str(unknown.value) == WRONG
    assert wrong.value.retry_after == unknown.value.retry_after == 0


def test_a_session_ends_after_the_idle_time_but_use_keeps_it_alive(
    app: App, clock: ManualClock
) -> None:
    add(app, "ed@clinic.example")
    token = log_in(app, "ed@clinic.example", PASSWORD, ip="10.0.0.1").token
    idle = timedelta(minutes=app.settings.console_session_idle_minutes)
    for _ in range(3):  # used every 20 minutes: stays
        clock.advance(idle - timedelta(minutes=10))
        assert current_session(app, token) is not None
    clock.advance(idle)
    assert current_session(app, token) is None
    with app.sessions() as session:
        assert session.scalar(select(StaffSession)) is None  # the row is gone too


def test_a_session_ends_at_its_absolute_lifetime_however_busy(
    app: App, clock: ManualClock
) -> None:
    add(app, "ed@clinic.example")
    token = log_in(app, "ed@clinic.example", PASSWORD, ip="10.0.0.1").token
    lifetime = timedelta(hours=app.settings.console_session_max_hours)
    moved = timedelta()
    while moved + timedelta(minutes=20) < lifetime:
        clock.advance(timedelta(minutes=20))
        moved += timedelta(minutes=20)
        assert current_session(app, token) is not None
    clock.advance(lifetime - moved)
    assert current_session(app, token) is None


def test_logging_out_makes_the_old_token_useless(app: App) -> None:
    add(app, "ed@clinic.example")
    token = log_in(app, "ed@clinic.example", PASSWORD, ip="10.0.0.1").token
    assert log_out(app, token, ip="10.0.0.1")
    assert current_session(app, token) is None
    assert not log_out(app, token)


def test_a_new_password_or_a_removal_ends_every_session_of_the_account(app: App) -> None:
    add(app, "boss@clinic.example", Role.OWNER)
    add(app, "ed@clinic.example")
    first = log_in(app, "ed@clinic.example", PASSWORD, ip="10.0.0.1").token
    accounts.reset_password(app, "ed@clinic.example", "another long password", actor=ME)
    assert current_session(app, first) is None
    with pytest.raises(LoginRefused):
        log_in(app, "ed@clinic.example", PASSWORD, ip="10.0.0.1")
    second = log_in(app, "ed@clinic.example", "another long password", ip="10.0.0.1").token
    accounts.remove_staff(app, "ed@clinic.example", actor=ME)
    assert current_session(app, second) is None


def test_a_changed_role_counts_at_once_in_an_open_session(app: App) -> None:
    add(app, "boss@clinic.example", Role.OWNER)
    add(app, "ed@clinic.example")
    token = log_in(app, "ed@clinic.example", PASSWORD, ip="10.0.0.1").token
    accounts.change_role(app, "ed@clinic.example", Role.VIEWER, actor=ME)
    view = current_session(app, token)
    assert view is not None
    assert view.role == Role.VIEWER


def test_failed_logins_are_throttled_per_address_until_the_window_passes(
    app: App, clock: ManualClock
) -> None:
    add(app, "ed@clinic.example")
    limit = app.settings.console_login_failures_per_account
    for n in range(limit):
        with pytest.raises(LoginRefused, match="do not match"):
            log_in(app, "ed@clinic.example", "wrong password", ip=f"10.0.0.{n}")
    with pytest.raises(LoginRefused, match="too many failed logins") as refused:
        log_in(app, "ed@clinic.example", PASSWORD, ip="10.9.9.9")  # right password, other IP
    window = timedelta(minutes=app.settings.console_login_window_minutes)
    assert 0 < refused.value.retry_after <= window.total_seconds()
    clock.advance(window)
    assert log_in(app, "ed@clinic.example", PASSWORD, ip="10.9.9.9").token


def test_failed_logins_from_one_ip_are_throttled_across_addresses(app: App) -> None:
    add(app, "ed@clinic.example")
    for n in range(app.settings.console_login_failures_per_ip):
        with pytest.raises(LoginRefused, match="do not match"):
            log_in(app, f"guess{n}@clinic.example", "wrong password", ip="10.6.6.6")
    with pytest.raises(LoginRefused, match="too many"):
        log_in(app, "ed@clinic.example", PASSWORD, ip="10.6.6.6")
    assert log_in(app, "ed@clinic.example", PASSWORD, ip="10.7.7.7").token  # other IPs fine


def test_kept_messages_are_shown_once(app: App) -> None:
    add(app, "ed@clinic.example")
    started = log_in(app, "ed@clinic.example", PASSWORD, ip="10.0.0.1")
    add_flash(app, started.view.session_id, "Saved.")
    add_flash(app, started.view.session_id, "Careful.", "error")
    view = current_session(app, started.token)
    assert view is not None
    assert view.has_flashes
    assert take_flashes(app, view.session_id) == [("ok", "Saved."), ("error", "Careful.")]
    assert take_flashes(app, view.session_id) == []


def test_staff_changes_and_logins_are_written_to_the_audit_log(app: App) -> None:
    add(app, "boss@clinic.example", Role.OWNER)
    token = log_in(app, "boss@clinic.example", PASSWORD, ip="10.0.0.1").token
    log_out(app, token, ip="10.0.0.1")
    record_action(app, Actor("boss@clinic.example", "10.0.0.1"), "series.edit", "pain-care/1",
                  "title changed")
    lines = recent_actions(app)
    assert [(line.action, line.actor) for line in lines] == [
        ("series.edit", "boss@clinic.example"), ("logout", "boss@clinic.example"),
        ("login", "boss@clinic.example"), ("staff.add", "test"),
    ]
    assert lines[0].ip == "10.0.0.1"
    assert lines[0].at == app.clock.now()
    assert count_actions(app) == 4
    assert [line.action for line in recent_actions(app, before_id=lines[1].id)] == [
        "login", "staff.add"]


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET actor = 'someone else'",
                                       "DELETE FROM audit_log"])
def test_the_database_refuses_to_change_or_delete_audit_entries(app: App, statement: str) -> None:
    add(app, "boss@clinic.example", Role.OWNER)
    with pytest.raises(DBAPIError, match="append-only"), app.engine.begin() as connection:
        connection.execute(text(statement))
    with app.sessions() as session:
        assert [row.actor for row in session.scalars(select(AuditEntry))] == ["test"]


def test_a_hash_made_with_other_parameters_is_upgraded_at_the_next_login(app: App) -> None:
    add(app, "ed@clinic.example")
    with app.sessions() as session, session.begin():
        row = session.scalar(select(StaffAccount))
        assert row is not None
        row.password_hash = PasswordHasher(time_cost=3, memory_cost=65536,
                                           parallelism=4).hash(PASSWORD)
    log_in(app, "ed@clinic.example", PASSWORD, ip="10.0.0.1")
    with app.sessions() as session:
        stored = session.scalar(select(StaffAccount.password_hash))
    assert stored is not None
    assert "m=19456,t=2,p=1" in stored
    assert log_in(app, "ed@clinic.example", PASSWORD, ip="10.0.0.1").token
