"""Benchmark: one issue to N personalised subscribers, SQLite → MIME → SMTP into smtp-sink.

Needs Postfix's ``smtp-sink`` (Debian: ``apt-get install postfix``; the
binary is /usr/sbin/smtp-sink). Everything stays on 127.0.0.1.

    .venv/bin/python benchmarks/bench_send.py              # N = 100,000 and 10,000
    .venv/bin/python benchmarks/bench_send.py -n 20000 --small-n 5000 --baseline-n 2000

For each N the database is seeded and the issue fanned out in this process;
the send itself runs in a fresh child process (``newsletter.delivery.sender.drain``
exactly as ``newsletter send`` calls it), which reports its wall time and
peak RSS (``VmHWM``). The naive baseline (one ``EmailMessage`` built and
sent per subscriber over one smtplib connection) runs in its own child, in
the same invocation, on the same content.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
SINK = "/usr/sbin/smtp-sink"


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def make_project(folder: Path) -> Path:
    """A project folder with the sample series and lists of this repository."""
    root = folder / "project"
    (root / "issues").mkdir(parents=True)
    shutil.copytree(REPO / "issues" / "pain-care", root / "issues" / "pain-care")
    shutil.copytree(REPO / "subscribers", root / "subscribers")
    return root


def overrides(root: Path, port: int, args: argparse.Namespace) -> dict[str, Any]:
    """Settings for the benchmark app."""
    return {
        "database_url": f"sqlite:///{root / 'bench.db'}",
        "transport": "smtp", "smtp_host": "127.0.0.1", "smtp_port": port,
        "smtp_pool_size": args.pool, "delivery_batch_size": args.batch,
        "secret_keys": ["benchmark-secret"], "base_url": "https://news.example.org",
    }


def seed(root: Path, port: int, count: int, args: argparse.Namespace) -> dict[str, float]:
    """Create ``count`` active subscribers and fan the issue out; returns timings."""
    from sqlalchemy import insert, select

    from newsletter.app import create_app
    from newsletter.catalog import sync_lists
    from newsletter.config import load_settings
    from newsletter.content.lists import read_lists
    from newsletter.db.engine import write_transaction
    from newsletter.db.models import MailingList, Subscriber, Subscription
    from newsletter.delivery.outbox import send_issue_now

    app = create_app(load_settings(root, environ={}, overrides=overrides(root, port, args)))
    now = datetime.now(UTC)
    started = time.perf_counter()
    with write_transaction(app.sessions) as session:
        sync_lists(session, read_lists(root / "subscribers"), now)
        list_id = session.scalar(select(MailingList.id).where(MailingList.slug == "clinic-news"))
        for chunk in range(0, count, 10_000):
            numbers = range(chunk, min(chunk + 10_000, count))
            session.execute(insert(Subscriber), [
                {"public_id": f"b{n:030d}", "email": f"reader{n}@example.org",
                 "name": f"Reader Nummer {n}", "created_at": now} for n in numbers])
        ids = session.scalars(select(Subscriber.id)).all()
        session.execute(insert(Subscription), [
            {"subscriber_id": i, "list_id": list_id, "status": "active", "created_at": now,
             "updated_at": now, "confirmed_at": now} for i in ids])
    seeded = time.perf_counter()
    _issue, added = send_issue_now(app, "pain-care", 1)
    fanned = time.perf_counter()
    app.close()
    assert added == count, (added, count)
    return {"seed_s": seeded - started, "fan_out_s": fanned - seeded}


def peak_rss_mb() -> float:
    """Peak RSS of this process image (VmHWM; ru_maxrss keeps the parent's pre-exec peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_send(root: Path, port: int, args: argparse.Namespace) -> None:
    """In the child: drain the outbox and print JSON figures."""
    from newsletter.app import create_app
    from newsletter.config import load_settings
    from newsletter.delivery.sender import drain

    app = create_app(load_settings(root, environ={}, overrides=overrides(root, port, args)))
    started = time.perf_counter()
    summary = drain(app)
    seconds = time.perf_counter() - started
    app.close()
    print(json.dumps({"counts": dict(summary.counts), "seconds": seconds,
                      "peak_rss_mb": peak_rss_mb()}))


def child_baseline(root: Path, port: int, args: argparse.Namespace) -> None:
    """In the child: the naive way, one EmailMessage per subscriber over one connection."""
    import smtplib
    from email.message import EmailMessage
    from email.utils import format_datetime, make_msgid

    from newsletter.config import load_settings
    from newsletter.content.issuefile import find_series
    from newsletter.render.compiled import PersonalFields
    from newsletter.render.renderer import Renderer

    settings = load_settings(root, environ={}, overrides=overrides(root, port, args))
    compiled = Renderer(settings).compile_issue(find_series(settings.issues_path, "pain-care"), 1)
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for n in range(args.baseline_n):
            address = f"reader{n}@example.org"
            url = f"https://news.example.org/unsubscribe/token{n}"
            rendered = compiled.personalize(PersonalFields(address, f"Reader Nummer {n}", url))
            message = EmailMessage()
            message["From"] = settings.sender
            message["To"] = f"Reader Nummer {n} <{address}>"
            message["Subject"] = rendered.subject
            message["Date"] = format_datetime(datetime.now(UTC))
            message["Message-ID"] = make_msgid(domain="clinic.example.com")
            message["List-Unsubscribe"] = f"<{url}>"
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
            message.set_content(rendered.text)
            message.add_alternative(rendered.html, subtype="html")
            smtp.send_message(message)
    seconds = time.perf_counter() - started
    print(json.dumps({"sent": args.baseline_n, "seconds": seconds,
                      "peak_rss_mb": peak_rss_mb()}))


def run_child(mode: str, root: Path, port: int, args: argparse.Namespace) -> dict[str, Any]:
    """Run this script in a child process in ``mode`` and return its JSON."""
    command = [sys.executable, __file__, mode, "--root", str(root), "--port", str(port),
               "--pool", str(args.pool), "--batch", str(args.batch),
               "--baseline-n", str(args.baseline_n)]
    output = subprocess.run(command, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(output.stdout.strip().splitlines()[-1])
    return result


def message_size(root: Path) -> int:
    """Bytes of one message as sent (for the report)."""
    from newsletter.app import create_app
    from newsletter.config import load_settings
    from newsletter.db.engine import write_transaction
    from newsletter.delivery.claims import claim
    from newsletter.delivery.compose import Composer

    app = create_app(load_settings(root, environ={}, overrides=overrides(root, 1, ARGS)))
    from datetime import timedelta
    with write_transaction(app.sessions) as session:
        rows = claim(session, now=datetime.now(UTC), lease=timedelta(seconds=1), limit=1)
        session.rollback()
    composer = Composer(app.settings, app.renderer, app.links)
    size = len(composer.compose(rows[0], datetime.now(UTC)))
    fast = composer.template(rows[0]).fast
    app.close()
    print(f"  one message: {size} bytes, fast splice path: {fast}")
    return size


def main() -> None:
    """Parse flags, run the rounds, print a report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100_000, help="subscribers (large round)")
    parser.add_argument("--small-n", type=int, default=10_000, help="subscribers (small round)")
    parser.add_argument("--baseline-n", type=int, default=5_000, help="naive baseline messages")
    parser.add_argument("--pool", type=int, default=4, help="SMTP connections")
    parser.add_argument("--batch", type=int, default=200, help="claim batch size")
    parser.add_argument("mode", nargs="?", default="bench",
                        choices=["bench", "child-send", "child-baseline"])
    parser.add_argument("--root", type=Path)
    parser.add_argument("--port", type=int)
    args = parser.parse_args()
    global ARGS
    ARGS = args
    if args.mode == "child-send":
        child_send(args.root, args.port, args)
        return
    if args.mode == "child-baseline":
        child_baseline(args.root, args.port, args)
        return
    port = free_port()
    sink = subprocess.Popen([SINK, "-u", "nobody", f"127.0.0.1:{port}", "1000"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        print(f"machine: nproc={os.cpu_count()}, python {platform.python_version()}, "
              f"{platform.platform()}")
        print(f"smtp-sink on 127.0.0.1:{port}; pool={args.pool}, batch={args.batch}")
        baseline: dict[str, Any] | None = None
        for count in (args.small_n, args.n):
            with tempfile.TemporaryDirectory() as folder:
                root = make_project(Path(folder))
                timings = seed(root, port, count, args)
                if count == args.n:
                    message_size(root)
                result = run_child("child-send", root, port, args)
                sent = result["counts"].get("sent", 0)
                rate = sent / result["seconds"]
                print(f"N={count:>7}: sent {sent} in {result['seconds']:.2f} s = {rate:,.0f} msg/s "
                      f"end to end; peak RSS {result['peak_rss_mb']:.1f} MB; "
                      f"(seed {timings['seed_s']:.1f} s, fan-out {timings['fan_out_s']:.2f} s)")
                if baseline is None:
                    baseline = run_child("child-baseline", root, port, args)
                    brate = baseline["sent"] / baseline["seconds"]
                    print(f"naive baseline: {baseline['sent']} in {baseline['seconds']:.2f} s = "
                          f"{brate:,.0f} msg/s; peak RSS {baseline['peak_rss_mb']:.1f} MB")
                else:
                    brate = baseline["sent"] / baseline["seconds"]
                    print(f"ratio (this N vs naive): {rate / brate:.1f}x")
    finally:
        sink.terminate()
        sink.wait()


ARGS: argparse.Namespace

if __name__ == "__main__":
    main()
