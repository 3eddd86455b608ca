"""Who we say we are on the wire: EHLO name, unsigned-mail warning, Message-ID retries."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from newsletter.app import create_app
from newsletter.clock import ManualClock
from newsletter.config import Settings, load_settings
from newsletter.delivery import dkimkeys
from newsletter.delivery.outbox import fan_out
from newsletter.delivery.sender import drain
from newsletter.delivery.signing import SignerSource, signer_from_settings, unsigned_warning
from newsletter.errors import ConfigError
from tests.support.audience import seed
from tests.support.cli import Cli
from tests.support.smtpd import SMTPRecorder

WARNING = "DKIM signing is OFF"


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
            with app.db.write() as session:
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
    assert WARNING in warning
    assert "newsletter dkim init" in warning
    assert unsigned_warning(settings_for(project, transport="catcher")) is None
    assert unsigned_warning(settings_for(project, dkim_signed_by_relay=True)) is None
    dkimkeys.generate(project / "var", "nl202612")
    assert unsigned_warning(settings) is None
    signer = signer_from_settings(settings)
    assert signer is not None
    assert (signer.domain, signer.selector) == ("clinic.example.com", "nl202612")


def test_the_apps_signer_is_read_once_and_again_only_when_dkim_init_changes_the_key(
        project: Path) -> None:
    settings = settings_for(project)
    source = SignerSource(settings)
    assert source.current() is None
    dkimkeys.generate(settings.var_path, "nl202611")
    first = source.current()
    assert first is not None
    assert first.selector == "nl202611"
    assert source.current() is first  # the same files: not read again
    dkimkeys.generate(settings.var_path, "nl202612")  # a rotation while the worker runs
    rotated = source.current()
    assert rotated is not None
    assert rotated.selector == "nl202612"
    dkimkeys.private_path(settings.var_path, "nl202612").unlink()
    with pytest.raises(ConfigError, match="nl202612"):
        source.current()  # a broken key is an error on every drain, never the old key


def test_a_key_path_without_a_selector_is_a_clear_error(project: Path) -> None:
    with pytest.raises(ConfigError, match="dkim_selector"):
        signer_from_settings(settings_for(project, dkim_private_key_path="k.pem"))


@pytest.mark.parametrize("command", [("send", "--dry-run"), ("run", "--prepare-only")])
def test_send_and_run_warn_loudly_on_stderr_until_a_key_exists(
        project: Path, database_url: str, clock: ManualClock, command: tuple[str, ...]) -> None:
    settings = settings_for(project, database_url=database_url, smtp_port=9,
                            base_url="https://news.example.org")
    cli = Cli(settings, clock)
    warned = cli.run(*command)
    assert warned.exit_code == 0, warned.output
    assert "WARNING:" in warned.stderr
    assert WARNING in " ".join(warned.stderr.split())
    assert WARNING not in warned.stdout
    dkimkeys.generate(settings.var_path, "nl202611")
    signed = cli.run(*command)
    assert signed.exit_code == 0, signed.output
    assert "WARNING:" not in signed.stderr


def test_the_worker_process_warns_loudly_on_stderr(project: Path, tmp_path: Path) -> None:
    env = {**os.environ, "NEWSLETTER_DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}",
           "NEWSLETTER_SECRET_KEYS": "k", "NEWSLETTER_TRANSPORT": "smtp",
           "NEWSLETTER_SMTP_PORT": "9", "NEWSLETTER_BASE_URL": "https://news.example.org"}
    worker = subprocess.Popen([sys.executable, "-m", "newsletter", "worker", "--idle", "0.2"],
                              cwd=project, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        assert worker.stdout is not None
        started = worker.stdout.readline()  # printed after the signal handlers are set
    finally:
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=60)
    assert "Worker sending through smtp" in started, started + out + err
    assert worker.returncode == 0, err
    assert "WARNING:" in err
    assert WARNING in " ".join(err.split())
