"""Benchmark: SIGKILL `newsletter send` at random moments; how soon is everyone delivered?

    .venv/bin/python benchmarks/bench_crash_recovery.py                  # SQLite default
    .venv/bin/python benchmarks/bench_crash_recovery.py --postgres env --timeout 300

One issue goes to ``--audience`` (2,000) seeded subscribers through a local
recording SMTP server (aiosmtpd on 127.0.0.1, counting copies per recipient
and Message-ID). ``newsletter send --issue pain-care/1`` is started as a user
starts it; a random moment after its first output line (the fan-out is done
and sending has begun) it gets SIGKILL, and it is started again at once, until
``--kills`` (20) kills have landed on a running process. The project's
``newsletter.toml`` names the relay and one non-default setting,
``smtp_rate_per_second`` (``--rate``, 200), so that twenty kills land while
mail is still going out (unthrottled, the whole send takes about a second).

After the last kill, ``send`` is restarted at once. If that run leaves anyone
undelivered, ``newsletter worker`` (the continuous sender a deployment runs)
takes over until everyone is delivered or ``--timeout`` seconds have passed.
The report says: whether everyone got the issue, the time from the last restart
until the last recipient's first copy arrived and until the database recorded
everyone as sent, duplicates (extra copies with the same Message-ID, and
recipients who got two different Message-IDs, which must be none), and what
was stuck when the timeout hit (rows still ``sending``, their leases, and how
many of them had in fact been delivered).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (
    ISSUE,
    Database,
    Recorder,
    cli_env,
    database,
    duplicates,
    machine,
    make_project,
    newsletter_bin,
    postgres_url,
    prepare,
    recipients,
    seed_active,
    status_counts,
)
from sqlalchemy import text


def start(project: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    """Start a `newsletter` process whose output is read line by line."""
    return subprocess.Popen([newsletter_bin(), *args], cwd=project, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def first_line(process: subprocess.Popen[str], timeout: float = 60.0) -> str | None:
    """The first non-empty output line (None if the process ends first or times out)."""
    found: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if line.strip():
                found.append(line.strip())
                ready.set()
                break
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    ready.wait(timeout)
    return found[0] if found else None


def drain_output(process: subprocess.Popen[str]) -> str:
    """The rest of a process's output, after it ended."""
    assert process.stdout is not None
    rest = process.stdout.read()
    process.stdout.close()
    return rest


def stuck_rows(db: Database) -> list[tuple[str, datetime | None]]:
    """(email, lease_until) of issue deliveries still ``sending``."""
    with db.engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT s.email, d.lease_until FROM deliveries d JOIN subscribers s "
            "ON s.id = d.subscriber_id WHERE d.kind = 'issue' AND d.status = 'sending'"))
        out = []
        for email, lease in rows:
            if isinstance(lease, str):  # SQLite hands back text for an untyped query
                lease = datetime.fromisoformat(lease)
            out.append((str(email).lower(), lease))
        return out


def main() -> int:
    """Kill, restart, wait; print what happened."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--audience", type=int, default=2_000)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--rate", type=float, default=200.0,
                        help="smtp_rate_per_second for the sends (0: unthrottled)")
    parser.add_argument("--kill-after", type=float, nargs=2, default=(0.1, 0.8),
                        metavar=("MIN", "MAX"),
                        help="kill a uniform random number of seconds after the first line")
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="seconds to wait after the last restart before giving up")
    parser.add_argument("--seed", type=int, default=8058, help="random seed for kill moments")
    parser.add_argument("--postgres", metavar="URL", default=None,
                        help="PostgreSQL server URL, or 'env' for NEWSLETTER_TEST_POSTGRES_URL")
    args = parser.parse_args()
    pg = postgres_url(args.postgres)
    if args.postgres and pg is None:
        raise SystemExit("--postgres env: NEWSLETTER_TEST_POSTGRES_URL is not set")
    chance = random.Random(args.seed)
    print(f"machine: {machine()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-crash-") as folder, Recorder() as recorder:
        extra = {"smtp_rate_per_second": args.rate} if args.rate else {}
        project = make_project(Path(folder), smtp_port=recorder.port, extra=extra)
        with database(project, pg) as db:
            env = cli_env(db)
            prepare(project, env)
            seed_active(db, args.audience)
            everyone = {f"reader{n}@example.org" for n in range(args.audience)}
            print(f"{args.audience} subscribers on {db.kind}; recorder on 127.0.0.1:"
                  f"{recorder.port}; rate {args.rate or 'unlimited'}/s; kill "
                  f"{args.kill_after[0]}-{args.kill_after[1]} s after the first line", flush=True)
            kills = ended = idle = kills_with_work = 0
            # Stop early when three runs in a row end by themselves: nothing is left for a
            # restarted send to do (on today's code: every row is leased to a dead process).
            while kills < args.kills and idle < 3:
                # Mail still waiting to be claimed: this run has something to send.
                work = kills + ended == 0 or status_counts(db).get("queued", 0) > 0
                process = start(project, env, "send", "--issue", ISSUE)
                line = first_line(process)
                time.sleep(chance.uniform(*args.kill_after))
                if process.poll() is None:
                    os.kill(process.pid, signal.SIGKILL)
                    process.wait()
                    kills += 1
                    kills_with_work += work
                    idle = 0
                else:
                    ended += 1
                    idle += 1
                    if process.returncode != 0:
                        print(f"  a send failed ({process.returncode}): {line} "
                              f"{drain_output(process)}")
                        continue
                drain_output(process)
                got = len(recipients(recorder.snapshot()))
                print(f"  run {kills + ended}: {'killed' if process.returncode < 0 else 'ended'}"
                      f"; {got} of {args.audience} have it; db {status_counts(db)}", flush=True)
            at_last_kill = status_counts(db)
            restarted = time.monotonic()
            received_at = recorded_at = None
            final = start(project, env, "send", "--issue", ISSUE)
            worker: subprocess.Popen[str] | None = None
            deadline = restarted + args.timeout
            next_db_check = 0.0
            while time.monotonic() < deadline:
                now = time.monotonic()
                if received_at is None and recipients(recorder.snapshot()) >= everyone:
                    received_at = now - restarted
                if now >= next_db_check:
                    next_db_check = now + 0.5
                    if recorded_at is None and status_counts(db) == {"sent": args.audience}:
                        recorded_at = now - restarted
                if received_at is not None and recorded_at is not None:
                    break
                if final.poll() is not None and worker is None:
                    # The restarted send is done; a continuous worker carries on from here.
                    worker = start(project, env, "worker", "--idle", "1")
                time.sleep(0.1)
            for process in (final, worker):
                if process is not None and process.poll() is None:
                    process.send_signal(signal.SIGTERM)
                    try:
                        process.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        process.kill()
                        process.wait()
            final_output = drain_output(final).strip().splitlines()
            copies = recorder.snapshot()
            counts = status_counts(db)
            stuck = stuck_rows(db)
    got = recipients(copies)
    same_id, two_ids = duplicates(copies)
    now = datetime.now(UTC).replace(tzinfo=None)
    print(f"\nkills that landed on a running send: {kills} ({kills_with_work} while mail was "
          f"still queued, {kills - kills_with_work} on a send that found nothing to claim); "
          f"runs that ended by themselves: {ended}")
    print(f"database at the last kill: {at_last_kill}")
    print(f"the restarted send said: {' | '.join(final_output[-2:])}")
    print(f"everyone delivered: {'yes' if got >= everyone else 'NO'} "
          f"({len(got & everyone)} of {args.audience} recipients have the issue)")
    print("time from the last restart until every recipient had it: "
          + (f"{received_at:.1f} s" if received_at is not None
             else f"not within {args.timeout:.0f} s"))
    print("time from the last restart until the database recorded everyone as sent: "
          + (f"{recorded_at:.1f} s" if recorded_at is not None
             else f"not within {args.timeout:.0f} s"))
    print(f"database now: {counts}")
    print(f"messages received: {sum(copies.values())}; duplicates with the same Message-ID: "
          f"{same_id}; recipients with two different Message-IDs: {two_ids}")
    if stuck:
        leases = [lease for _email, lease in stuck if lease is not None]
        delivered = sum(1 for email, _lease in stuck if email in got)
        ahead = sorted((lease - now).total_seconds() for lease in leases)
        print(f"stuck in 'sending': {len(stuck)} rows, {delivered} of them in fact delivered"
              + (f"; their leases end in {ahead[0] / 60:.1f} to {ahead[-1] / 60:.1f} min"
                 if ahead else ""))
    ok = got >= everyone and two_ids == 0
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
