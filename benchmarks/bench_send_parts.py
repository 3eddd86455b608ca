"""Benchmark: where one message's time goes on the send path, stage by stage, in one thread.

    .venv/bin/python benchmarks/bench_send_parts.py -n 5000
    .venv/bin/python benchmarks/bench_send_parts.py -n 5000 --postgres env

In one process, on the SQLite default (or a private PostgreSQL schema) of a
fresh project with N active readers
and an ``smtp-sink`` on loopback: the issue is fanned out, then each stage
runs over all N rows on its own, in the order a sending thread runs them, and
is timed (wall clock, and the process's CPU for the SMTP stage, whose wall time
is mostly waiting for the sink):

* claim: one claim of N rows (candidates, details, suppression check, UPDATE);
* compose: the message bytes (splice, tokens, Message-ID, headers), and within
  it the unsubscribe URL and the Message-ID alone; the VERP envelope sender;
* SMTP: one connection, pipelined envelope, body, final reply;
* result and record: what to write, then one transaction that records N results.

The composed messages are kept in memory to be sent in the next stage, which a
real send does not do (it sends each as soon as it is built).
Needs /usr/sbin/smtp-sink (Debian: postfix). Everything stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (
    SINK,
    cli_env,
    database,
    free_port,
    machine,
    make_project,
    postgres_url,
    prepare,
    seed_active,
    start_sink,
)

T = TypeVar("T")


def timed(label: str, count: int, work: Callable[[], T], table: list[tuple[str, float]]) -> T:
    """Run ``work`` once, add its wall time per row to ``table``, return its value."""
    started = time.perf_counter()
    value = work()
    table.append((label, (time.perf_counter() - started) / count * 1e6))
    return value


def main() -> int:
    """Seed, fan out, time each stage over N rows and print microseconds per message."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5000, help="readers (default 5,000)")
    parser.add_argument("--postgres", metavar="URL", default=None,
                        help="PostgreSQL server URL, or 'env' for NEWSLETTER_TEST_POSTGRES_URL")
    args = parser.parse_args()
    count: int = args.n
    pg = postgres_url(args.postgres)
    if args.postgres and pg is None:
        raise SystemExit("--postgres env: NEWSLETTER_TEST_POSTGRES_URL is not set")
    if not Path(SINK).exists():
        raise SystemExit(f"{SINK} is missing (Debian: apt-get install postfix)")
    print(f"machine: {machine()}", flush=True)
    port = free_port()
    sink = start_sink(port)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-send-parts-") as folder:
            project = make_project(Path(folder), smtp_port=port)
            with database(project, pg) as db:
                env = cli_env(db)
                prepare(project, env)
                seed_active(db, count)
                os.chdir(project)
                os.environ.update(env)  # the database URL, as the CLI would read it
                print(f"database: {db.kind}", flush=True)
                return measure(count)
    finally:
        sink.terminate()
        sink.wait()


def measure(count: int) -> int:
    """The stages, in the project folder (the working directory)."""
    from newsletter.app import create_app
    from newsletter.config import load_settings
    from newsletter.delivery.claims import Claimed, claim, record
    from newsletter.delivery.heartbeat import Registration
    from newsletter.delivery.pacing import SendPacer
    from newsletter.delivery.sender import SendRun
    from newsletter.schedule.send_now import send_now

    app = create_app(load_settings())
    send_now(app, "pain-care", 1)
    worker = Registration(app).start()
    transport = app.transport()
    run = SendRun(app, transport, None, None, SendPacer(0, 0), worker)
    table: list[tuple[str, float]] = []
    now = app.clock.now()

    def claim_all() -> list[Claimed]:
        with app.db.write("benchmark") as session:
            return claim(session, now=now, lease=timedelta(seconds=900), limit=count,
                         worker_id=worker.id)

    rows = timed("claim", count, claim_all, table)
    run.composer.compose(rows[0], now)  # the template is built once, outside the timing
    datas = timed("compose (all of it)", count,
                  lambda: [run.composer.compose(row, now) for row in rows], table)
    timed("  of which: unsubscribe URL", count,
          lambda: [run.composer.unsubscribe_url(row) for row in rows], table)
    timed("  of which: Message-ID", count,
          lambda: [run.composer.message_id(row) for row in rows], table)
    senders = timed("VERP envelope sender", count,
                    lambda: [run.mail_from(row) for row in rows], table)
    cpu = time.process_time()
    outcomes = timed("SMTP, wall (mostly waiting for the sink)", count, lambda: [
        transport.send(sender, row.email, data)
        for sender, row, data in zip(senders, rows, datas, strict=True)], table)
    table.append(("SMTP, CPU of this process", (time.process_time() - cpu) / count * 1e6))
    results = timed("result", count, lambda: [
        run.result(row, outcome, now) for row, outcome in zip(rows, outcomes, strict=True)],
        table)

    def record_all() -> None:
        with app.db.write("benchmark") as session:
            record(session, results, now)

    timed("record", count, record_all, table)
    transport.close()
    worker.close()
    sent = sum(1 for outcome in outcomes if outcome.verdict == "sent")
    print(f"{count:,} messages of {len(datas[0]):,} bytes; {sent:,} accepted by the sink\n")
    print("| stage | µs per message |\n|---|---|")
    for label, micros in table:
        print(f"| {label} | {micros:.1f} |")
    return 0 if sent == count else 1


if __name__ == "__main__":
    raise SystemExit(main())
