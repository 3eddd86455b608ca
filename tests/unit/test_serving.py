"""What ``serve`` and ``run`` derive from --host/--port before starting (issue 13, items 1, 10)."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.cli.serving import refuse_public_catcher, with_local_base_url
from newsletter.config import load_settings
from newsletter.errors import ConfigError


def test_an_unset_base_url_follows_host_and_port_and_a_configured_one_stays(
        tmp_path: Path) -> None:
    unset = load_settings(tmp_path, environ={}, overrides={"secret_keys": ["k"]})
    chosen = load_settings(tmp_path, environ={"NEWSLETTER_BASE_URL": "https://news.example.org"},
                           overrides={"secret_keys": ["k"]})

    assert with_local_base_url(unset, "127.0.0.1", 8090).base_url == "http://127.0.0.1:8090"
    assert with_local_base_url(unset, "::1", 8090).base_url == "http://[::1]:8090"
    assert with_local_base_url(unset, "localhost", 81).base_url == "http://localhost:81"
    assert with_local_base_url(chosen, "127.0.0.1", 8090).base_url == "https://news.example.org"
    assert with_local_base_url(unset, "127.0.0.1", 8090).secret_keys == unset.secret_keys


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "::", "news.example.org"])  # noqa: S104
def test_the_catcher_is_refused_on_any_interface_but_loopback(tmp_path: Path, host: str) -> None:
    settings = load_settings(tmp_path, environ={}, overrides={"secret_keys": ["k"]})
    with pytest.raises(ConfigError, match="mail catcher"):
        refuse_public_catcher(settings, host)
    for local in ("127.0.0.1", "::1", "localhost"):
        refuse_public_catcher(settings, local)
    relay = settings.model_copy(update={"transport": "smtp"})
    refuse_public_catcher(relay, host)
