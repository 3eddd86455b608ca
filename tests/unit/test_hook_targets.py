"""Which webhook URLs are refused (server-side request forgery), with the setting off and on."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from newsletter.hooks.events import parse_events
from newsletter.hooks.retry import RetryPolicy
from newsletter.hooks.signature import new_secret, sign
from newsletter.hooks.targets import TargetRefused, check_target


@pytest.mark.parametrize(("url", "why"), [
    ("http://127.0.0.1/hook", "loopback"),
    ("http://127.8.9.10:8080/hook", "loopback"),
    ("https://10.1.2.3/hook", "private"),
    ("https://192.168.0.10/hook", "private"),
    ("https://172.16.5.5/hook", "private"),
    ("http://[::1]:9000/hook", "loopback"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://[fe80::1]/hook", "link-local"),
    ("http://[fd00::5]/hook", "private"),
    ("http://224.0.0.1/hook", "multicast"),
    ("http://0.0.0.0/hook", "unspecified"),
    ("http://240.0.0.1/hook", "reserved"),
    ("http://100.64.1.1/hook", "shared or special-purpose"),
    ("http://[::ffff:127.0.0.1]/hook", "loopback"),
    ("http://localhost:8000/hook", "loopback"),  # a name, resolved by the system resolver
])
def test_an_internal_address_is_refused_while_the_setting_is_off(url: str, why: str) -> None:
    with pytest.raises(TargetRefused, match=why):
        check_target(url, allow_private=False)


def test_a_name_is_refused_when_any_one_of_its_addresses_is_internal() -> None:
    def mixed(host: str, port: int) -> list[str]:
        return ["93.184.215.14", "10.0.0.7"]

    with pytest.raises(TargetRefused,
                       match=r"hooks\.example\.org \(10\.0\.0\.7\) is not a public address"):
        check_target("https://hooks.example.org/in", allow_private=False, resolve=mixed)


def test_a_public_address_is_accepted_and_internal_ones_only_with_the_setting_on() -> None:
    public = check_target("https://93.184.215.14/in", allow_private=False)
    assert public.addresses == ("93.184.215.14",)
    assert public.port == 443
    assert check_target("http://127.0.0.1:9/in", allow_private=True).addresses == ("127.0.0.1",)


@pytest.mark.parametrize(("url", "why"), [
    ("ftp://93.184.215.14/in", "only http:// and https://"),
    ("file:///etc/passwd", "only http:// and https://"),
    ("gopher://93.184.215.14/", "only http:// and https://"),
    ("https://user:pw@93.184.215.14/in", "user name or password"),
    ("https:///in", "no host"),
    ("", "empty"),
    ("https://93.184.215.14/a b", "spaces"),
    ("https://93.184.215.14:99999/", "not a valid URL"),
    ("https://" + "a" * 2000 + ".example/", "longer than"),
    ("https://no-such-host.invalid/in", "does not resolve"),
])
def test_a_url_that_is_not_a_usable_web_address_is_refused_even_with_the_setting_on(
        url: str, why: str) -> None:
    with pytest.raises(TargetRefused, match=why):
        check_target(url, allow_private=True)


def test_the_signature_matches_the_standard_webhooks_specification_example() -> None:
    # The example of the Standard Webhooks specification (spec/standard-webhooks.md).
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = '{"test": 2432232314}'
    assert sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == (
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    assert new_secret() != new_secret()
    assert new_secret().startswith("whsec_")


def test_retries_wait_longer_each_time_with_jitter_and_stop_at_the_give_up_age() -> None:
    policy = RetryPolicy(base=30, cap=3600, give_up=86400)
    rng = random.Random(3)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    waits = [policy.delay(n, rng) for n in range(1, 12)]
    for n, wait in enumerate(waits, start=1):
        full = min(30 * 2 ** (n - 1), 3600)
        assert timedelta(seconds=full / 2) <= wait <= timedelta(seconds=full)
    assert policy.next_attempt(3, start, start + timedelta(hours=23), rng) is not None
    assert policy.next_attempt(3, start, start + timedelta(hours=24), rng) is None


def test_an_endpoint_must_ask_for_known_events() -> None:
    assert parse_events(["issue.sent", "subscriber.subscribed"]) == [
        "subscriber.subscribed", "issue.sent"]
    with pytest.raises(ValueError, match="at least one"):
        parse_events([])
    with pytest.raises(ValueError, match=r"unknown event type 'subscriber\.deleted'"):
        parse_events(["subscriber.deleted"])
