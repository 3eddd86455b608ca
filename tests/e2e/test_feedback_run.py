"""``newsletter run`` listens for bounces too: a DSN sent to its listener is recorded."""

from __future__ import annotations

import queue
import smtplib
import threading
from pathlib import Path

from sqlalchemy import select

from newsletter.app import create_app
from newsletter.cli.run import serve
from newsletter.cli.serving import listen
from newsletter.clock import ManualClock
from newsletter.config import load_settings
from newsletter.db.models import FeedbackEvent, Subscription
from newsletter.delivery.outbox import send_issue_now
from newsletter.delivery.sender import drain
from tests.support.audience import address, seed
from tests.support.bounces import dsn
from tests.support.net import free_port


def test_the_running_service_records_a_bounce_sent_to_its_smtp_listener(
        project: Path, database_url: str, clock: ManualClock) -> None:
    bounce_port = free_port()
    settings = load_settings(project, environ={}, overrides={
        "database_url": database_url, "secret_keys": ["run-secret"],
        "smtp_port": free_port(), "bounce_listen_port": bounce_port})
    app = create_app(settings, clock=clock)
    try:
        seed(app, project, 2)
        send_issue_now(app, "pain-care", 1)
        drain(app)  # to the catcher's files: the envelope is in their Return-Path
        caught = sorted((settings.var_path / "mailcatcher").glob("*.eml"))
        original = next(p.read_bytes() for p in caught if address(1).encode() in p.read_bytes())
        envelope = original.split(b"\r\n", 1)[0].decode().removeprefix("Return-Path: <")[:-1]
        lines: queue.Queue[str] = queue.Queue()
        stop = threading.Event()
        sock = listen("127.0.0.1", free_port())
        service = threading.Thread(target=serve, args=(app,), kwargs={
            "sock": sock, "stop": stop, "out": lines.put,
            "scheduler_interval": 3600.0}, daemon=True)
        service.start()
        try:
            while "bounce listener" not in (line := lines.get(timeout=20)):
                pass
            assert line == f"bounce listener: smtp://127.0.0.1:{bounce_port}"
            with smtplib.SMTP("127.0.0.1", bounce_port, timeout=10) as client:
                client.sendmail("", [envelope], dsn(to=envelope, recipient=address(1),
                                                    original=original))
        finally:
            stop.set()
            service.join(timeout=60)
            sock.close()
        assert not service.is_alive()
        with app.sessions() as session:
            assert session.scalar(select(FeedbackEvent.source)) == "smtp"
            assert sorted(session.scalars(select(Subscription.status))) == ["active", "bounced"]
    finally:
        app.close()
