"""Benchmark: bounces through the inbound SMTP listener (`newsletter bounces serve`).

    .venv/bin/python benchmarks/bench_bounces.py -n 2000 -m 500
    .venv/bin/python benchmarks/bench_bounces.py -n 2000 -m 500 --postgres env

An issue is sent to N seeded readers with the built-in catcher (``transport =
"catcher"``: every message is a file whose Return-Path is its VERP address).
Then `newsletter bounces serve` runs as its own process and M DSNs (one per
reader, a 5.1.1 for each) are sent to it over one SMTP connection, each
answered only once recorded and acted on. Reported: DSNs per second and the
per-message latency (send → 250) percentiles, and the check that exactly M
addresses are suppressed afterwards. Sent once more, every DSN is a duplicate
and changes nothing.
"""

from __future__ import annotations

import argparse
import smtplib
import subprocess
import sys
import tempfile
import time
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.parser import HeaderParser
from email.policy import compat32
from pathlib import Path

from sqlalchemy import text

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.harness import (  # noqa: E402
    cli_env,
    database,
    free_port,
    machine,
    make_project,
    newsletter_bin,
    percentile,
    postgres_url,
    prepare,
    run_cli,
    seed_active,
    wait_port,
)

WIRE = compat32.clone(linesep="\r\n")


def dsn(envelope: str, recipient: str, n: int) -> bytes:
    """A Postfix-shaped 5.1.1 DSN for ``recipient``, sent to its VERP ``envelope``."""
    report = MIMEMultipart("report", report_type="delivery-status")
    report["From"] = "MAILER-DAEMON@mx.receiver.example"
    report["To"] = envelope
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report["Message-ID"] = f"<bench-{n}@mx.receiver.example>"
    report.attach(MIMEText("Your message could not be delivered.\n"))
    fields = MIMEBase("message", "delivery-status")
    fields.set_payload([
        HeaderParser().parsestr("Reporting-MTA: dns; mx.receiver.example\n"),
        HeaderParser().parsestr(f"Final-Recipient: rfc822; {recipient}\nAction: failed\n"
                                "Status: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 no such user\n")])
    report.attach(fields)
    return report.as_bytes(policy=WIRE)


def envelopes(project: Path) -> list[tuple[str, str]]:
    """(Return-Path, recipient) of every caught message."""
    found = []
    for path in sorted((project / "var" / "mailcatcher").glob("*.eml")):
        with path.open("rb") as handle:
            first, second = handle.readline(), handle.readline()
        found.append((first.decode().strip()[len("Return-Path: <"):-1],
                      second.decode().strip()[len("X-Envelope-To: <"):-1]))
    return found


def blast(port: int, messages: list[tuple[str, bytes]]) -> list[float]:
    """Send every (rcpt, DSN) over one connection; the seconds each took to be answered."""
    times = []
    with smtplib.SMTP("127.0.0.1", port, timeout=120) as client:
        for rcpt, data in messages:
            started = time.perf_counter()
            client.sendmail("", [rcpt], data)
            times.append(time.perf_counter() - started)
    return times


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000, help="readers the issue goes to")
    parser.add_argument("-m", type=int, default=500, help="DSNs sent to the listener")
    parser.add_argument("--postgres", default=None,
                        help="PostgreSQL URL, or 'env' for NEWSLETTER_TEST_POSTGRES_URL")
    args = parser.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory() as folder:
        project = make_project(Path(folder), extra={"transport": "catcher",
                                                    "secret_keys": "bench-bounces"})
        with database(project, postgres_url(args.postgres)) as db:
            env = cli_env(db)
            prepare(project, env)
            seed_active(db, args.n)
            run_cli(project, env, "send", "--issue", "pain-care/1")
            sent = envelopes(project)
            assert len(sent) == args.n, len(sent)
            messages = [(envelope, dsn(envelope, rcpt, n))
                        for n, (envelope, rcpt) in enumerate(sent[:args.m])]
            port = free_port()
            server = subprocess.Popen([newsletter_bin(), "bounces", "serve", "--port", str(port)],
                                      cwd=project, env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE)
            try:
                wait_port("127.0.0.1", port, timeout=30)
                started = time.perf_counter()
                first = blast(port, messages)
                wall = time.perf_counter() - started
                again = blast(port, messages)
            finally:
                server.terminate()
                server.wait(timeout=30)
                if server.stderr is not None:
                    server.stderr.close()
            with db.engine.connect() as connection:
                suppressed = connection.execute(text("SELECT count(*) FROM suppressions")).scalar()
                events = connection.execute(text("SELECT count(*) FROM feedback_events")).scalar()
    print(f"database {db.kind}; N={args.n} sent, M={args.m} DSNs through the listener")
    print(f"first pass: {args.m / wall:.0f} DSNs/s ({wall:.2f} s); latency p50 "
          f"{percentile(first, 0.5) * 1000:.1f} ms, p95 {percentile(first, 0.95) * 1000:.1f} ms, "
          f"max {max(first) * 1000:.1f} ms")
    print(f"second pass (all duplicates): p50 {percentile(again, 0.5) * 1000:.1f} ms")
    print(f"suppressed {suppressed}, feedback events {events} (expected {args.m} and {args.m})")
    if suppressed != args.m or events != args.m:
        raise SystemExit("the counts do not add up")


if __name__ == "__main__":
    main()
