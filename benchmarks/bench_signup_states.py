"""Benchmark: does POST /subscribe answer in similar time whatever state the address is in?

RELIABILITY #25 asks for the identical answer (status, body, headers) and
similar latency for new, pending, active, unsubscribed, bounced and
suppressed addresses, so response times do not reveal who is subscribed. The
test suite checks the identical answer; this measures the time, which a test
cannot assert reliably on a shared machine.

It prepares one address (all of the same length) in each state on a SQLite
file, serves the web app with uvicorn on 127.0.0.1 in this process, runs the
signup processor beside it (a thread, as ``newsletter run`` does, so the
stored signups really become pending, stay active, stay suppressed), and posts
each address in turn for ``--rounds`` rounds (round 1 is warm-up). It prints
the median per state, the spread (slowest median minus fastest) and the ratio
slowest / fastest: compare the ratio between runs, not the milliseconds.
``benchmarks/bench_signup.py`` measures the same against `newsletter serve`
with more samples and bootstrap intervals.

Usage: .venv/bin/python benchmarks/bench_signup_states.py --rounds 41
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import select

from newsletter.app import App, create_app
from newsletter.audience.addresses import address_hash
from newsletter.audience.ingest import run_signup_ingest
from newsletter.audience.signup import SignupRequest, confirm, subscribe
from newsletter.config import load_settings
from newsletter.db.models import Delivery, Subscriber, Subscription, Suppression
from newsletter.delivery.outbox import TransactionalMail
from newsletter.web.app import create_web_app

LIST = "clinic-news"
LISTS = f"""[[list]]
slug = "{LIST}"
name = "Riverside Clinic News"
consent_text = "Yes, email me the clinic's articles."
"""
ADDRESSES = {
    "new": "new01@example.com",
    "pending": "pend1@example.com",
    "active": "actv1@example.com",
    "unsubscribed": "unsb1@example.com",
    "bounced": "bnce1@example.com",
    "suppressed": "supp1@example.com",
}


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def prepare(app: App) -> None:
    """Put one address in each state (through the real signup and confirm where there is one)."""
    for key in ("pending", "active", "unsubscribed", "bounced"):
        subscribe(app, SignupRequest(email=ADDRESSES[key], list_slug=LIST))
    with app.sessions() as session:
        rows = session.execute(
            select(Subscriber.email, Delivery.payload)
            .join(Delivery, Delivery.subscriber_id == Subscriber.id)
            .where(Delivery.kind == "confirmation")
        ).all()
    for email, payload in rows:
        if email != ADDRESSES["pending"]:
            text = TransactionalMail.from_payload(payload).text
            token = text.split("/confirm/", 1)[1].split()[0]
            confirm(app, token)
    with app.db.write() as session:
        for key in ("unsubscribed", "bounced"):
            subscription = session.scalars(
                select(Subscription).join(Subscriber).where(Subscriber.email == ADDRESSES[key])
            ).one()
            subscription.status = key
        session.add(Suppression(email_hash=address_hash(ADDRESSES["suppressed"]),
                                reason="erased", created_at=app.clock.now()))


def serve(app: App, port: int) -> tuple[uvicorn.Server, threading.Thread]:
    """The web app on 127.0.0.1:``port`` in a thread."""
    server = uvicorn.Server(uvicorn.Config(create_web_app(app), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise SystemExit("uvicorn did not start")
        time.sleep(0.01)
    return server, thread


def main() -> int:
    """Run the measurement and print the figures; exit 1 if the answers differ."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=41)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-signup-states-"))
    (folder / "subscribers").mkdir()
    (folder / "issues").mkdir()
    (folder / "subscribers" / "lists.toml").write_text(LISTS, encoding="utf-8")
    port = free_port()
    settings = load_settings(folder, environ={}, overrides={
        "base_url": f"http://127.0.0.1:{port}", "signup_rate_limit": 0,
        "confirm_cooldown_seconds": 3600,
    })
    app = create_app(settings)
    prepare(app)
    stop = threading.Event()
    processor = threading.Thread(target=run_signup_ingest, args=(app,), kwargs={"stop": stop},
                                 daemon=True)
    processor.start()
    server, thread = serve(app, port)
    timings: dict[str, list[float]] = {key: [] for key in ADDRESSES}
    answers: dict[str, str] = {}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            for _round in range(args.rounds):
                for key, email in ADDRESSES.items():
                    started = time.perf_counter()
                    response = client.post("/subscribe", data={"email": email, "list": LIST})
                    timings[key].append(time.perf_counter() - started)
                    headers = sorted((k, v) for k, v in response.headers.items() if k != "date")
                    answers[key] = repr((response.status_code, response.text, headers))
    finally:
        server.should_exit = True
        thread.join(10)
        stop.set()
        processor.join(30)
        app.close()
    medians = {key: statistics.median(values[1:]) for key, values in timings.items()}
    spread = max(medians.values()) - min(medians.values())
    print(f"machine: {os.cpu_count()} CPUs (nproc), Python {platform.python_version()}, "
          f"{platform.system()} {platform.machine()}; load average {os.getloadavg()[0]:.2f}")
    print(f"{args.rounds - 1} measured rounds of {len(ADDRESSES)} posts (round 1 is warm-up)")
    for key, median in medians.items():
        print(f"  {key:<13} median {median * 1000:7.2f} ms")
    print(f"spread {spread * 1000:.2f} ms; slowest / fastest median "
          f"{max(medians.values()) / min(medians.values()):.2f}")
    identical = len(set(answers.values())) == 1
    print("identical answers for every state" if identical else "ANSWERS DIFFER")
    shutil.rmtree(folder, ignore_errors=True)
    return 0 if identical else 1


if __name__ == "__main__":
    raise SystemExit(main())
