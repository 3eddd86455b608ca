"""Benchmark: `newsletter send --issue` end to end vs Postfix's smtp-source, into one smtp-sink.

    .venv/bin/python benchmarks/bench_vs_postfix.py -n 10000
    .venv/bin/python benchmarks/bench_vs_postfix.py -n 10000 -n 100000 --postgres env
    .venv/bin/python benchmarks/bench_vs_postfix.py -n 1000000 --source-rounds 1

What is measured, per N, in one run and into one ``smtp-sink`` on a free
loopback port:

* ``newsletter send --issue pain-care/1`` started as a user starts it, in a
  fresh project folder whose ``newsletter.toml`` names only the relay
  (``transport = "smtp"``, host, port); every other setting is the default.
  It fans the issue out to the N seeded subscribers, claims, builds, sends and
  records. Its wall time (process start to exit) gives the end-to-end rate;
  the time from its first output line ("Queued ...", printed after the
  fan-out committed) to its exit gives the sending rate.
* Fan-out: from the moment the fan-out began (every delivery's
  ``queued_at`` is the fan-out's clock reading, taken before it syncs the
  series and inserts the rows) to the moment its first output line reached
  this script (wall clock, same machine).
* Peak RSS of the send process and of every process it starts (sampled from
  /proc every 100 ms; VmHWM per process and the peak of their sum).
* CPU per message, user + system: the send and every process it started
  (``getrusage`` of waited-for children), and the sink's own share meanwhile
  (``/proc``); the same for ``smtp-source`` and the sink while it runs. Both
  senders share two cores with the sink, so the CPU figures say where the
  rate goes.
* ``smtp-source -s 4 -d -m N -F FILE`` (C, four sessions, each reusing its
  connection, as our pool does) pushing N copies of a message of the same
  size: FILE is one message captured from a pilot `newsletter send` to one
  subscriber. By default it runs before and after our send; the ratio uses
  the mean of its rounds.

SQLite is the default (the product's ``var/newsletter.db``); ``--postgres URL``
(or ``--postgres env`` for NEWSLETTER_TEST_POSTGRES_URL, or the environment
variable NEWSLETTER_BENCH_POSTGRES_URL) runs on a private schema of that
server, dropped afterwards. Seeding writes the subscribers with one SQL
statement per table (not measured). Everything stays on 127.0.0.1.
Needs /usr/sbin/smtp-sink and /usr/sbin/smtp-source (Debian: postfix).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (
    ISSUE,
    SINK,
    SOURCE,
    Database,
    TreeMemory,
    capture_one_message,
    cli_env,
    cpu_seconds,
    database,
    free_port,
    machine,
    make_project,
    newsletter_bin,
    postgres_url,
    prepare,
    seed_active,
    start_sink,
    status_counts,
)
from sqlalchemy import text


@dataclass
class SendRun:
    """What one `newsletter send --issue` process did."""

    wall: float = 0.0
    first_line_at: float | None = None  # seconds after the process started
    first_line_clock: datetime | None = None  # the same moment, UTC wall clock
    lines: list[str] = field(default_factory=list)
    returncode: int = 0
    stderr: str = ""
    memory: TreeMemory | None = None
    cpu: float = 0.0  # seconds of CPU, user + system, of the send and every process it started


def timed_send(project: Path, env: dict[str, str], *args: str) -> SendRun:
    """Run `newsletter send ARGS` and time its first output line and its exit."""
    run = SendRun()
    before = _children_cpu()
    started = time.perf_counter()
    process = subprocess.Popen([newsletter_bin(), "send", *args], cwd=project, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run.memory = TreeMemory(process.pid).start()
    assert process.stdout is not None
    assert process.stderr is not None
    errors: list[str] = []
    reader = threading.Thread(target=lambda stream=process.stderr: errors.append(stream.read()))
    reader.start()
    for line in process.stdout:
        if line.strip() and run.first_line_at is None:
            run.first_line_at = time.perf_counter() - started
            run.first_line_clock = datetime.now(UTC)
        run.lines.append(line.rstrip("\n"))
    run.returncode = process.wait()
    run.wall = time.perf_counter() - started
    run.cpu = _children_cpu() - before  # its children were waited for, so they count
    run.memory.stop()
    reader.join()
    run.stderr = "".join(errors)
    return run


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def queued_at(db: Database) -> datetime:
    """When the fan-out began: every issue delivery's ``queued_at`` is the fan-out's "now"."""
    with db.engine.connect() as connection:
        value = connection.execute(
            text("SELECT min(queued_at) FROM deliveries WHERE kind = 'issue'")).scalar_one()
    if isinstance(value, str):  # SQLite hands text back for a raw query
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC)


def smtp_source(port: int, count: int, sessions: int, message: Path, sender: str,
                sink: int) -> tuple[float, float, float]:
    """Seconds smtp-source takes to push ``count`` copies into the sink; its CPU, the sink's."""
    command = [SOURCE, "-s", str(sessions), "-d", "-m", str(count), "-F", str(message),
               "-f", sender, "-t", "reader@example.org", f"127.0.0.1:{port}"]
    cpu, sink_cpu = _children_cpu(), cpu_seconds([sink])
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"smtp-source failed ({done.returncode}): {done.stderr.strip()}")
    return seconds, _children_cpu() - cpu, cpu_seconds([sink]) - sink_cpu


def write_message_file(folder: Path) -> tuple[Path, int]:
    """The pilot message as smtp-source wants it (LF lines; it adds CR); its size on the wire."""
    captured = capture_one_message()
    path = folder / "message.eml"
    path.write_bytes(captured.replace(b"\r\n", b"\n"))
    return path, len(captured)


def one_round(count: int, port: int, args: argparse.Namespace, message: Path,
              pg: str | None, sink: int) -> dict[str, float | str]:
    """Seed N, run smtp-source and `newsletter send` side by side; return the figures.

    A send that fails is reported too (what it sent until then, its memory and
    fan-out), marked "FAILED"; main() then exits with status 1.
    """
    to_send = min(count, args.send_limit) if args.send_limit else count
    limit = ["--limit", str(args.send_limit)] if args.send_limit else []
    if args.processes:
        limit += ["--processes", str(args.processes)]
    source_cpu: list[tuple[float, float]] = []  # (smtp-source, sink) CPU seconds per round
    with tempfile.TemporaryDirectory(prefix="bench-vs-postfix-") as folder:
        project = make_project(Path(folder), smtp_port=port, extra=dict(args.set or []))
        with database(project, pg) as db:
            env = cli_env(db)
            prepare(project, env)
            seeded = seed_active(db, count)
            print(f"  N={count:,}: seeded in {seeded:.1f} s ({db.kind}); sending "
                  f"{to_send:,}", flush=True)
            source_times: list[float] = []
            sender = "news@clinic.example.com"

            def source_round() -> None:
                seconds, cpu, sink_cpu = smtp_source(port, to_send, args.sessions, message,
                                                     sender, sink)
                source_times.append(seconds)
                source_cpu.append((cpu, sink_cpu))
                print(f"  smtp-source: {to_send / seconds:,.0f} msg/s", flush=True)

            if args.source_rounds >= 1:
                source_round()
            sink_before = cpu_seconds([sink])
            run = timed_send(project, env, "--issue", ISSUE, *limit)
            sink_ours = cpu_seconds([sink]) - sink_before
            counts = status_counts(db)
            began = queued_at(db) if counts else None
            failed = run.returncode != 0 or counts.get("sent", 0) != to_send
            if failed:
                print(f"  `newsletter send` FAILED (exit {run.returncode}); deliveries now "
                      f"{counts}:\n    " + "\n    ".join(run.lines[-3:])
                      + run.stderr.strip()[-500:], flush=True)
            for _ in range(args.source_rounds - 1 if not failed else 0):
                source_round()
    assert run.memory is not None
    sent = counts.get("sent", 0)
    ours = sent / run.wall
    after = run.wall - (run.first_line_at or 0.0)
    sending = sent / after if after > 0 else float("nan")
    theirs = [to_send / seconds for seconds in source_times]
    mean_theirs = sum(theirs) / len(theirs) if theirs else float("nan")
    result: dict[str, float | str] = {
        "n": count, "sent": sent, "db": db.kind, "wall": run.wall, "ours": ours,
        "sending": sending, "first_line": run.first_line_at or float("nan"),
        "fan_out": (run.first_line_clock - began).total_seconds()
        if run.first_line_clock and began else float("nan"),
        "source": " / ".join(f"{rate:,.0f}" for rate in theirs) or "-",
        "source_mean": mean_theirs, "ratio": ours / mean_theirs if theirs else float("nan"),
        "ratio_sending": sending / mean_theirs if theirs else float("nan"),
        "rss": run.memory.peak_mb, "rss_sum": run.memory.peak_total_kib / 1024,
        "processes": len(run.memory.peak_per_process), "memory": run.memory.describe(),
        "output": " | ".join(line.strip() for line in run.lines if line.strip())[-300:],
        "failed": "FAILED: " + (run.lines[-1].strip() if run.lines else "") if failed else "",
        # CPU per message, microseconds: ours (every process of the send) and the sink's
        # share while we sent; smtp-source's and the sink's while it sent (mean of rounds).
        "cpu_ours": run.cpu / max(sent, 1) * 1e6,
        "cpu_sink_ours": sink_ours / max(sent, 1) * 1e6,
        "cpu_source": (sum(c for c, _ in source_cpu) / len(source_cpu) / to_send * 1e6
                       if source_cpu else float("nan")),
        "cpu_sink_source": (sum(s for _, s in source_cpu) / len(source_cpu) / to_send * 1e6
                            if source_cpu else float("nan")),
    }
    return result


def _setting(text: str) -> tuple[str, object]:
    key, _, value = text.partition("=")
    if not key or not value:
        raise argparse.ArgumentTypeError(f"{text!r}: expected KEY=VALUE")
    return key, int(value) if value.isdigit() else value


def main() -> int:
    """Parse flags, run every N, print the figures and a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, action="append",
                        help="subscribers (repeat for several rounds; default 10,000)")
    parser.add_argument("--postgres", metavar="URL", default=None,
                        help="PostgreSQL server URL, or 'env' for NEWSLETTER_TEST_POSTGRES_URL")
    parser.add_argument("--sessions", type=int, default=4, help="smtp-source sessions (-s)")
    parser.add_argument("--set", metavar="KEY=VALUE", action="append", type=_setting,
                        help="a newsletter.toml setting for tuning runs (default: none; the "
                             "figures in docs/benchmarks.md use defaults)")
    parser.add_argument("--source-rounds", type=int, default=2, choices=[0, 1, 2],
                        help="smtp-source runs per N: before our send, and after it")
    parser.add_argument("--processes", type=int, default=None, metavar="N",
                        help="`send --processes N` for tuning runs (default: send's own)")
    parser.add_argument("--send-limit", type=int, default=None, metavar="K",
                        help="fan out to all N but send only K (`send --limit K`): fan-out "
                             "and memory at large N without sending them all")
    args = parser.parse_args()
    counts = args.n or [10_000]
    pg = postgres_url(args.postgres)
    if args.postgres and pg is None:
        raise SystemExit("--postgres env: NEWSLETTER_TEST_POSTGRES_URL is not set")
    for tool in (SINK, SOURCE):
        if not Path(tool).exists():
            raise SystemExit(f"{tool} is missing (Debian: apt-get install postfix)")
    print(f"machine: {machine()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-vs-postfix-msg-") as folder:
        message, size = write_message_file(Path(folder))
        print(f"message: {size:,} bytes as sent (captured from a pilot send); "
              f"smtp-source file {message.stat().st_size:,} bytes + CR per line", flush=True)
        port = free_port()
        sink = start_sink(port)
        results = []
        try:
            print(f"smtp-sink on 127.0.0.1:{port}; database: "
                  f"{'PostgreSQL ' + pg.split('@')[-1] if pg else 'SQLite (default)'}", flush=True)
            for count in counts:
                result = one_round(count, port, args, message, pg, sink.pid)
                results.append(result)
                print(f"  newsletter send: {int(result['sent']):,} sent; "
                      f"{result['ours']:,.0f} msg/s end to end "
                      f"({result['wall']:.1f} s), {result['sending']:,.0f} msg/s after fan-out; "
                      f"ratio {result['ratio']:.2f} (sending phase {result['ratio_sending']:.2f})")
                print(f"  fan-out {result['fan_out']:.2f} s (its first line came "
                      f"{result['first_line']:.2f} s after the start); memory: "
                      f"{result['memory']}")
                print(f"  CPU per message: newsletter send {result['cpu_ours']:.0f} us (the sink "
                      f"{result['cpu_sink_ours']:.0f} us meanwhile); smtp-source "
                      f"{result['cpu_source']:.0f} us (the sink {result['cpu_sink_source']:.0f} "
                      "us meanwhile)")
                print(f"  its output: {result['output']}", flush=True)
        finally:
            sink.terminate()
            sink.wait()
    print("\n| N | sent | database | newsletter send, end to end | after fan-out "
          "| smtp-source -s 4 | ratio (end to end) | peak RSS (largest process / sum) | fan-out "
          "| CPU per message: send + sink / smtp-source + sink |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {int(r['n']):,} | {int(r['sent']):,} {r['failed']} | {r['db']} "
              f"| {r['ours']:,.0f} msg/s ({r['wall']:.1f} s) "
              f"| {r['sending']:,.0f} msg/s | {r['source']} msg/s | **{r['ratio']:.2f}** "
              f"| {r['rss']:.0f} / {r['rss_sum']:.0f} MB ({r['processes']} process) "
              f"| {r['fan_out']:.2f} s | {r['cpu_ours']:.0f} + {r['cpu_sink_ours']:.0f} us / "
              f"{r['cpu_source']:.0f} + {r['cpu_sink_source']:.0f} us |")
    return 1 if any(r["failed"] for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
