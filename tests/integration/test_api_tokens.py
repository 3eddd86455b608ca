"""API tokens and the per-token rate limit as services, on real databases (SQLite, PostgreSQL).

The secret is stored only as its SHA-256; a revoked token stops at once; names
are unique for good; every create and revoke is in the audit log; the rate
limit admits a burst, refuses the next request with the seconds to wait, and
admits again once the clock has moved on.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from newsletter.accounts.api_rate import Rate, take
from newsletter.accounts.api_tokens import (
    authenticate,
    create_token,
    list_tokens,
    revoke_token,
)
from newsletter.accounts.audit import Actor, recent_actions
from newsletter.accounts.roles import Role
from newsletter.app import App
from newsletter.clock import ManualClock
from newsletter.db.models import ApiToken
from newsletter.errors import AccountError, NotFoundError

OWNER = Actor("owner@clinic.example", "192.0.2.7")


def stored_rows(app: App) -> list[ApiToken]:
    with app.sessions() as session:
        return list(session.scalars(select(ApiToken)))


def test_only_the_sha256_of_the_secret_is_stored_and_the_token_works(app: App) -> None:
    made = create_token(app, "website", Role.EDITOR, actor=OWNER)
    scheme, prefix, secret = made.token.split("_", 2)
    assert (scheme, prefix) == ("nlapi", made.info.prefix)
    assert len(secret) == 43  # 32 random bytes, base64url
    [row] = stored_rows(app)
    assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in (row.secret_hash, row.prefix, row.name)
    found = authenticate(app, made.token)
    assert found is not None
    assert found.name == "website"
    assert found.role is Role.EDITOR


def test_a_token_with_a_wrong_secret_or_a_mangled_shape_is_not_accepted(app: App) -> None:
    made = create_token(app, "crm", Role.VIEWER, actor=OWNER)
    last = made.token[-1]
    wrong = made.token[:-1] + ("A" if last != "A" else "B")
    for presented in (wrong, made.token + "x", made.token.replace("nlapi_", "other_"), "",
                      "Bearer " + made.token, made.token[:20]):
        assert authenticate(app, presented) is None, presented


def test_a_revoked_token_is_refused_at_once_and_stays_listed(app: App) -> None:
    made = create_token(app, "old-site", Role.OWNER, actor=OWNER)
    revoked = revoke_token(app, "old-site", actor=OWNER)
    assert revoked.revoked_at is not None
    assert not revoked.active
    assert authenticate(app, made.token) is None
    [listed] = list_tokens(app)
    assert listed.name == "old-site"
    assert not listed.active
    with pytest.raises(AccountError, match="already revoked"):
        revoke_token(app, str(made.info.id), actor=OWNER)


def test_a_token_can_be_revoked_by_its_id(app: App) -> None:
    made = create_token(app, "by-id", Role.VIEWER, actor=OWNER)
    assert revoke_token(app, str(made.info.id), actor=OWNER).name == "by-id"
    with pytest.raises(NotFoundError, match="'999'"):
        revoke_token(app, "999", actor=OWNER)


def test_a_name_is_never_reused_and_a_name_of_digits_only_is_refused(app: App) -> None:
    create_token(app, "shop", Role.VIEWER, actor=OWNER)
    revoke_token(app, "shop", actor=OWNER)
    with pytest.raises(AccountError, match="already a token named 'shop'"):
        create_token(app, "shop", Role.VIEWER, actor=OWNER)
    for bad in ("123", "", "has space", "-leading", "x" * 65, "naïve"):
        with pytest.raises(AccountError, match="not a token name"):
            create_token(app, bad, Role.VIEWER, actor=OWNER)
    assert [t.name for t in list_tokens(app)] == ["shop"]


def test_creating_and_revoking_are_written_to_the_audit_log(app: App) -> None:
    create_token(app, "newsdesk", Role.EDITOR, actor=OWNER)
    revoke_token(app, "newsdesk", actor=Actor("command line (ops)"))
    lines = recent_actions(app)
    assert [(line.action, line.actor, line.target) for line in lines] == [
        ("token.revoke", "command line (ops)", "API token newsdesk"),
        ("token.create", "owner@clinic.example", "API token newsdesk"),
    ]
    assert lines[1].ip == "192.0.2.7"
    assert "role editor" in lines[1].detail


def test_the_rate_limit_admits_a_burst_then_says_how_long_to_wait(
    app: App, clock: ManualClock
) -> None:
    token = create_token(app, "busy", Role.VIEWER, actor=OWNER).info
    rate = Rate(per_minute=6, burst=3)  # one request every 10 s, three at once
    assert [take(app, token.id, rate) for _ in range(3)] == [0, 0, 0]
    assert take(app, token.id, rate) == 10
    clock.advance(timedelta(seconds=4))
    assert take(app, token.id, rate) == 6
    clock.advance(timedelta(seconds=6))
    assert take(app, token.id, rate) == 0
    assert take(app, token.id, rate) == 10


def test_each_token_has_its_own_budget_and_a_refused_request_costs_nothing(
    app: App, clock: ManualClock
) -> None:
    first = create_token(app, "first", Role.VIEWER, actor=OWNER).info
    second = create_token(app, "second", Role.VIEWER, actor=OWNER).info
    rate = Rate(per_minute=60, burst=1)
    assert take(app, first.id, rate) == 0
    for _ in range(5):  # refused requests do not push the next admission later
        assert take(app, first.id, rate) == 1
    assert take(app, second.id, rate) == 0
    clock.advance(timedelta(seconds=1))
    assert take(app, first.id, rate) == 0


def test_an_admitted_request_records_when_the_token_was_last_used(
    app: App, clock: ManualClock
) -> None:
    token = create_token(app, "seen", Role.VIEWER, actor=OWNER).info
    assert token.last_used_at is None
    take(app, token.id, Rate(per_minute=60, burst=5))
    [listed] = list_tokens(app)
    assert listed.last_used_at == clock.now()
