"""Who we say we are on the wire: EHLO name, unsigned-mail warning, Message-ID retries."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from newsletter.app import create_app
from newsletter.clock import ManualClock
from newsletter.config import Settings, load_settings
from newsletter.db.engine import write_transaction
from newsletter.delivery import dkimkeys
from newsletter.delivery.outbox import fan_out
from newsletter.delivery.service import drain
from newsletter.delivery.signing import signer_from_settings, unsigned_warning
from newsletter.errors import ConfigError
from tests.support.audience import seed
from tests.support.smtpd import SMTPRecorder


@pytest.mark.parametrize(("ehlo", "expected"), [(None, "clinic.example.com"),
                                                ("mta1.clinic.example.com",
                                                 "mta1.clinic.example.com")])
def test_the_ehlo_name_is_the_setting_or_the_senders_domain_never_an_address_literal(
        project: Path, database_url: str, clock: ManualClock, ehlo: str | None,
        expected: str) -> None:
    with SMTPRecorder() as relay:
        settings = load_settings(project, environ={}, overrides={
            "database_url": database_url, "transport": "smtp", "smtp_port": relay.port,
            "secret_keys": ["k"], "sender": "Clinic <news@clinic.example.com>",
            "ehlo_name": ehlo})
        app = create_app(settings, clock=clock)
        try:
            seeded = seed(app, project, 2)
            with write_transaction(app.sessions) as session:
                fan_out(session, seeded.issue_id, seeded.list_id, clock.now())
            drain(app)
        finally:
            app.close()
        assert {message.helo for message in relay.wait_for(2)} == {expected}


def settings_for(project: Path, **overrides: object) -> Settings:
    return load_settings(project, environ={}, overrides={
        "secret_keys": ["k"], "transport": "smtp", "sender": "News <news@clinic.example.com>",
        **overrides})


def test_mail_to_a_relay_without_a_key_is_warned_about_until_dkim_init(project: Path) -> None:
    settings = settings_for(project)
    warning = unsigned_warning(settings)
    assert warning is not None
    assert "DKIM signing is OFF" in warning
    assert "newsletter dkim init" in warning
    assert unsigned_warning(settings_for(project, transport="catcher")) is None
    assert unsigned_warning(settings_for(project, dkim_signed_by_relay=True)) is None
    dkimkeys.generate(project / "var", "nl202612")
    assert unsigned_warning(settings) is None
    signer = signer_from_settings(settings)
    assert signer is not None
    assert (signer.domain, signer.selector) == ("clinic.example.com", "nl202612")


def test_a_key_path_without_a_selector_is_a_clear_error(project: Path) -> None:
    with pytest.raises(ConfigError, match="dkim_selector"):
        signer_from_settings(settings_for(project, dkim_private_key_path="k.pem"))


def test_newsletter_send_warns_loudly_on_stderr(project: Path, tmp_path: Path) -> None:
    env = {**os.environ, "NEWSLETTER_DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}",
           "NEWSLETTER_SECRET_KEYS": "k", "NEWSLETTER_TRANSPORT": "smtp",
           "NEWSLETTER_SMTP_PORT": "9", "NEWSLETTER_BASE_URL": "https://news.example.org"}
    result = subprocess.run([sys.executable, "-m", "newsletter", "send", "--dry-run"],
                            cwd=project, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "WARNING:" in result.stderr
    assert "DKIM signing is OFF" in " ".join(result.stderr.split())
