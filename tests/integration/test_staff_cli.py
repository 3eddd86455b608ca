"""`newsletter staff add|list|remove|reset-password`: console accounts from the command line."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from newsletter.accounts.audit import recent_actions
from newsletter.accounts.sessions import LoginRefused, current_session, log_in
from newsletter.app import App
from newsletter.cli.first_owner import FirstOwner, ensure_first_owner
from newsletter.clock import ManualClock
from newsletter.config import Settings
from tests.support.cli import Cli

PASSWORD = "correct horse battery staple"


@pytest.fixture
def cli(settings: Settings, clock: ManualClock) -> Cli:
    return Cli(settings, clock, columns=120)


def test_staff_add_reads_the_password_from_stdin_and_list_shows_the_account(
    cli: Cli, app: App
) -> None:
    added = cli.run("staff", "add", "Lena@Clinic.example", "--role", "editor", "--password-stdin",
                    input=PASSWORD + "\n")
    assert added.exit_code == 0
    assert added.output.strip() == "added lena@clinic.example as editor"
    assert PASSWORD not in added.output
    listed = cli.run("staff", "list")
    assert re.search(r"lena@clinic\.example\s+editor\s+never", listed.output)
    assert log_in(app, "lena@clinic.example", PASSWORD, ip="127.0.0.1").token
    assert recent_actions(app)[-1].actor.startswith("command line (")


def test_staff_add_asks_twice_at_the_prompt(cli: Cli, app: App) -> None:
    result = cli.run("staff", "add", "boss@clinic.example", "--role", "owner",
                     input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0
    assert "added boss@clinic.example as owner" in result.output
    assert PASSWORD not in result.output  # the prompt hides what is typed
    assert log_in(app, "boss@clinic.example", PASSWORD, ip="127.0.0.1").token


def test_a_generated_password_is_printed_once_and_works(cli: Cli, app: App) -> None:
    result = cli.run("staff", "add", "boss@clinic.example", "--role", "owner", "--generate")
    shown = re.search(r"password \(shown once\): (\S+)", result.output)
    assert shown
    assert log_in(app, "boss@clinic.example", shown.group(1), ip="127.0.0.1").token


def test_reset_password_ends_the_sessions_and_the_old_password(cli: Cli, app: App) -> None:
    cli.run("staff", "add", "boss@clinic.example", "--role", "owner", "--password-stdin",
            input=PASSWORD + "\n")
    token = log_in(app, "boss@clinic.example", PASSWORD, ip="127.0.0.1").token
    result = cli.run("staff", "reset-password", "boss@clinic.example", "--password-stdin",
                     input="a different long password\n")
    assert "their sessions have ended" in result.output
    assert current_session(app, token) is None
    with pytest.raises(LoginRefused):
        log_in(app, "boss@clinic.example", PASSWORD, ip="127.0.0.1")


def test_remove_refuses_the_last_owner_with_a_message_not_a_traceback(cli: Cli) -> None:
    cli.run("staff", "add", "boss@clinic.example", "--role", "owner", "--password-stdin",
            input=PASSWORD + "\n")
    result = cli.invoke("staff", "remove", "boss@clinic.example", "--yes")
    assert result.exit_code == 1
    assert "boss@clinic.example is the only owner" in result.output
    assert "Traceback" not in result.output


def test_remove_takes_the_login_away(cli: Cli, app: App) -> None:
    for email, role in (("boss@clinic.example", "owner"), ("ed@clinic.example", "editor")):
        cli.run("staff", "add", email, "--role", role, "--password-stdin", input=PASSWORD + "\n")
    result = cli.run("staff", "remove", "ed@clinic.example", "--yes")
    assert result.output.strip() == "removed ed@clinic.example"
    with pytest.raises(LoginRefused):
        log_in(app, "ed@clinic.example", PASSWORD, ip="127.0.0.1")
    assert "ed@clinic.example" not in cli.run("staff", "list").output


@pytest.mark.parametrize(("args", "message"), [
    (["staff", "add", "x@clinic.example", "--role", "admin", "--generate"],
     "'admin' is not one of"),
    (["staff", "add", "not-an-address", "--role", "editor", "--generate"],
     "'not-an-address' is not an email address"),
    (["staff", "remove", "ghost@clinic.example", "--yes"], "no staff account for ghost"),
])
def test_bad_input_gets_a_clear_message(cli: Cli, args: list[str], message: str) -> None:
    result = cli.invoke(*args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_short_password_is_refused_and_nothing_is_added(cli: Cli) -> None:
    result = cli.invoke("staff", "add", "ed@clinic.example", "--role", "editor",
                        "--password-stdin", input="short\n")
    assert result.exit_code == 1
    assert "at least 12 characters" in result.output
    assert "no staff accounts yet" in cli.run("staff", "list").output


def test_the_first_run_asks_at_a_terminal_for_the_owner_and_keeps_a_typed_password(
    app: App,
) -> None:
    answers = f"me@clinic.example\n{PASSWORD}\n{PASSWORD}\n"
    with CliRunner().isolation(input=answers):
        made = ensure_first_owner(app, interactive=True)
    assert made == FirstOwner("me@clinic.example", None)  # typed: nothing to print
    assert log_in(app, "me@clinic.example", PASSWORD, ip="127.0.0.1").token
    assert ensure_first_owner(app, interactive=True) is None  # once only, asks nothing


def test_the_first_run_without_a_terminal_generates_the_owner(app: App) -> None:
    made = ensure_first_owner(app, interactive=False)
    assert made is not None
    assert made.email == "owner@clinic.example.com"
    assert made.password
    assert log_in(app, made.email, made.password, ip="127.0.0.1").token
