"""Settings: file, environment, defaults, and errors that name the key and the value."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.config import load_settings
from newsletter.db.engine import make_engine
from newsletter.errors import ConfigError


def test_defaults_work_with_nothing_configured(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, environ={})
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'var' / 'newsletter.db'}"
    assert settings.transport == "catcher"
    assert settings.issues_path == tmp_path / "issues"


def test_the_environment_wins_over_the_file(tmp_path: Path) -> None:
    (tmp_path / "newsletter.toml").write_text('smtp_host = "relay.file"\nsmtp_port = 587\n')
    settings = load_settings(tmp_path, environ={"NEWSLETTER_SMTP_HOST": "relay.env"})
    assert settings.smtp_host == "relay.env"
    assert settings.smtp_port == 587


def test_a_bad_environment_value_is_named_with_its_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path, environ={"NEWSLETTER_SMTP_PORT": "lots"})
    assert "NEWSLETTER_SMTP_PORT='lots'" in str(caught.value)


def test_a_bad_file_value_is_named_with_its_key(tmp_path: Path) -> None:
    (tmp_path / "newsletter.toml").write_text('smtp_security = "maybe"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path, environ={})
    assert "newsletter.toml:smtp_security='maybe'" in str(caught.value)


def test_an_unknown_key_in_the_file_is_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / "newsletter.toml").write_text('smtp_hots = "typo"\n')
    with pytest.raises(ConfigError, match=r"unknown setting 'smtp_hots'"):
        load_settings(tmp_path, environ={})


def test_a_broken_file_is_reported_as_such(tmp_path: Path) -> None:
    (tmp_path / "newsletter.toml").write_text("smtp_host = \n")
    with pytest.raises(ConfigError, match=r"not valid TOML"):
        load_settings(tmp_path, environ={})


def test_an_unknown_time_zone_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"NEWSLETTER_TIME_ZONE='Mars/Olympus'"):
        load_settings(tmp_path, environ={"NEWSLETTER_TIME_ZONE": "Mars/Olympus"})


def test_secrets_are_hidden_from_repr_and_from_errors(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, environ={"NEWSLETTER_SMTP_PASSWORD": "hunter2"})
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in str(settings)
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path, environ={"NEWSLETTER_SMTP_PASSWORD": "hunter2",
                                         "NEWSLETTER_SMTP_PORT": "0"})
    assert "hunter2" not in str(caught.value)


def test_a_secret_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = load_settings(tmp_path, environ={}).secret_keys
    second = load_settings(tmp_path, environ={}).secret_keys
    assert first[0].get_secret_value() == second[0].get_secret_value()
    key_file = tmp_path / "var" / "secret_key"
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_comma_separated_lists_come_from_the_environment(tmp_path: Path) -> None:
    settings = load_settings(
        tmp_path,
        environ={"NEWSLETTER_ALLOWED_ORIGINS": "https://a.example, https://b.example",
                 "NEWSLETTER_SECRET_KEYS": "old,new"},
    )
    assert settings.allowed_origins == ["https://a.example", "https://b.example"]
    assert [k.get_secret_value() for k in settings.secret_keys] == ["old", "new"]


def test_a_base_url_without_scheme_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"NEWSLETTER_BASE_URL='clinic\.example'"):
        load_settings(tmp_path, environ={"NEWSLETTER_BASE_URL": "clinic.example"})


def test_a_relay_needs_https_links_for_one_click_unsubscribe(tmp_path: Path) -> None:
    environ = {"NEWSLETTER_TRANSPORT": "smtp", "NEWSLETTER_BASE_URL": "http://news.example.org"}
    with pytest.raises(ConfigError, match=r"base_url='http://news\.example\.org' must start"):
        load_settings(tmp_path, environ=environ)


def test_plain_http_links_are_fine_while_they_point_at_this_machine(tmp_path: Path) -> None:
    environ = {"NEWSLETTER_TRANSPORT": "smtp", "NEWSLETTER_BASE_URL": "http://127.0.0.1:8000"}
    assert load_settings(tmp_path, environ=environ).transport == "smtp"


def test_a_bad_database_url_is_named_without_its_password() -> None:
    with pytest.raises(ConfigError) as caught:
        make_engine("nosuchscheme://ana:s3cret@db.example.org/news")
    message = str(caught.value)
    assert message.startswith("database_url='nosuchscheme://ana:***@db.example.org/news'")
    assert "s3cret" not in message


def test_the_organisation_name_is_the_senders_display_name_else_its_address(
    tmp_path: Path,
) -> None:
    named = load_settings(tmp_path, environ={}, overrides={"sender": "Clinic <news@c.example>"})
    bare = load_settings(tmp_path, environ={}, overrides={"sender": "news@c.example"})
    assert (named.org_name, bare.org_name) == ("Clinic", "news@c.example")
