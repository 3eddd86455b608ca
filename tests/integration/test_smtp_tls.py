"""TLS on the submission hop is required when configured (RELIABILITY #18)."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from newsletter.app import App, create_app
from newsletter.clock import ManualClock
from newsletter.config import load_settings
from newsletter.db.engine import write_transaction
from newsletter.db.models import SendPause
from newsletter.delivery.outbox import fan_out
from newsletter.delivery.sender import drain
from newsletter.delivery.transport import SMTPTransport, smtp_config
from tests.support.audience import counts, seed
from tests.support.smtpd import SMTPRecorder


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


def make_app(project: Path, database_url: str, clock: ManualClock, port: int) -> App:
    settings = load_settings(project, environ={}, overrides={
        "database_url": database_url, "transport": "smtp", "smtp_port": port,
        "smtp_security": "starttls", "secret_keys": ["k"], "smtp_timeout": 5,
    })
    app = create_app(settings, clock=clock)
    seeded = seed(app, project, 3)
    with write_transaction(app.sessions) as session:
        fan_out(session, seeded.issue_id, seeded.list_id, clock.now())
    return app


@pytest.fixture
def mail_calls() -> list[str]:
    return []


def run_against(server: SMTPRecorder, project: Path, database_url: str, clock: ManualClock,
                mail_calls: list[str], transport: SMTPTransport | None = None) -> Iterator[App]:
    server.faults.mail = lambda address: mail_calls.append(address) or None  # type: ignore[func-returns-value]
    app = make_app(project, database_url, clock, server.port)
    try:
        yield app
    finally:
        app.close()


def test_missing_starttls_pauses_everything_before_any_mail_command(
        project: Path, database_url: str, clock: ManualClock, mail_calls: list[str]) -> None:
    with SMTPRecorder() as server:
        for app in run_against(server, project, database_url, clock, mail_calls):
            summary = drain(app)
            assert summary.stopped
            assert "STARTTLS required" in summary.stopped
            assert mail_calls == []
            assert server.messages == []
            with app.sessions() as session:
                assert session.scalar(select(SendPause.reason))
            assert counts(app, 1).get("failed", 0) == 0


def test_a_self_signed_certificate_is_refused(
        project: Path, database_url: str, clock: ManualClock, mail_calls: list[str],
        certificate: tuple[Path, Path]) -> None:
    with SMTPRecorder(tls_context=server_context(certificate)) as server:
        for app in run_against(server, project, database_url, clock, mail_calls):
            summary = drain(app)
            assert summary.stopped
            assert "TLS failed" in summary.stopped
            assert mail_calls == []
            assert server.messages == []


def test_a_trusted_certificate_sends_over_starttls(
        project: Path, database_url: str, clock: ManualClock, mail_calls: list[str],
        certificate: tuple[Path, Path]) -> None:
    trusted = ssl.create_default_context(cafile=str(certificate[0]))
    with SMTPRecorder(tls_context=server_context(certificate)) as server:
        for app in run_against(server, project, database_url, clock, mail_calls):
            transport = SMTPTransport(smtp_config(app.settings, tls_context=trusted), 1)
            try:
                summary = drain(app, transport=transport)
            finally:
                transport.close()
            assert summary.counts["sent"] == 3
            assert len(server.messages) == 3
