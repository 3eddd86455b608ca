"""When the database cannot take a bounce, the sender keeps it and tries again; nothing is lost.

The inbound listener answers 451 (the relay keeps the message), ``bounces
process`` exits 75 (EX_TEMPFAIL: Postfix's pipe defers it), and the mailbox
poller leaves the message in the folder.
"""

from __future__ import annotations

import smtplib
from pathlib import Path

import pytest

from newsletter.app import App, create_app
from newsletter.clock import ManualClock
from newsletter.config import load_settings
from newsletter.feedback.inbound import BounceListener
from tests.support.bounces import auto_reply
from tests.support.cli import Cli
from tests.support.net import free_port

VERP_LIKE = "bounces+1-aaaaaaaaaaaaaaaa@clinic.example.com"


@pytest.fixture
def broken_app(project: Path, clock: ManualClock) -> App:
    """An App whose database server is not there (nothing listens on its port)."""
    settings = load_settings(project, environ={}, overrides={
        "database_url": f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/gone",
        "secret_keys": ["s"], "bounce_listen_port": free_port()})
    return create_app(settings, clock=clock, migrate=False)


def test_the_listener_answers_451_when_the_database_is_unavailable(broken_app: App) -> None:
    message = auto_reply(to=VERP_LIKE, sender="reader@example.org")
    with (BounceListener(broken_app) as listener,
          smtplib.SMTP(listener.host, listener.port, timeout=10) as client,
          pytest.raises(smtplib.SMTPDataError) as refused):
        client.sendmail("", [VERP_LIKE], message)
    assert refused.value.smtp_code == 451
    broken_app.close()


def test_bounces_process_exits_75_so_the_mta_retries(broken_app: App, tmp_path: Path) -> None:
    bounce = tmp_path / "reply.eml"
    bounce.write_bytes(auto_reply(to=VERP_LIKE, sender="reader@example.org"))
    result = Cli(broken_app.settings).invoke("bounces", "process", str(bounce))
    assert result.exit_code == 75
    assert "Connection refused" in result.output
    broken_app.close()
