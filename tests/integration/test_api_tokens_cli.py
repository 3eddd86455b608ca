"""`newsletter staff token create|list|revoke` on real databases: shown once, listed, revoked."""

from __future__ import annotations

from newsletter.accounts.api_tokens import authenticate
from newsletter.accounts.audit import recent_actions
from newsletter.app import App
from tests.support.cli import Cli


def test_create_prints_the_token_once_and_list_never_shows_it(app: App) -> None:
    cli = Cli(app.settings, app.clock, columns=160)
    made = cli.run("staff", "token", "create", "front-desk", "--role", "editor")
    assert made.exit_code == 0, made.output
    token = made.output.strip().splitlines()[-1]
    assert "shown once" in made.output
    found = authenticate(app, token)
    assert found is not None
    assert str(found.role) == "editor"
    listed = cli.run("staff", "token", "list")
    assert listed.exit_code == 0
    assert "front-desk" in listed.output
    assert found.prefix in listed.output
    # nlapi_<prefix>_<secret>: the secret itself may contain "_", so split after the prefix.
    secret = token.split("_", 2)[2]
    assert len(secret) == 43
    assert secret not in listed.output
    assert "active" in listed.output


def test_revoke_by_name_stops_the_token_and_is_audited_as_the_command_line(app: App) -> None:
    cli = Cli(app.settings, app.clock, columns=160)
    token = cli.run("staff", "token", "create", "old-crm", "--role", "viewer"
                    ).output.strip().splitlines()[-1]
    revoked = cli.run("staff", "token", "revoke", "old-crm")
    assert revoked.exit_code == 0, revoked.output
    assert authenticate(app, token) is None
    assert "revoked" in cli.run("staff", "token", "list").output
    assert [line.action for line in recent_actions(app)] == ["token.revoke", "token.create"]
    assert recent_actions(app)[0].actor.startswith("command line (")


def test_mistakes_are_one_line_messages_not_tracebacks(app: App) -> None:
    cli = Cli(app.settings, app.clock)
    cli.run("staff", "token", "create", "twice", "--role", "viewer")
    for args, message in (
        (("create", "twice", "--role", "viewer"), "already a token named 'twice'"),
        (("create", "42", "--role", "viewer"), "not a token name"),
        (("revoke", "nobody"), "no API token with the name or id 'nobody'"),
        (("create", "x", "--role", "admin"), "Invalid value for '--role'"),
    ):
        result = cli.invoke("staff", "token", *args)
        assert result.exit_code != 0
        assert message in result.output
        assert "Traceback" not in result.output
    assert "no API tokens yet" not in cli.run("staff", "token", "list").output
