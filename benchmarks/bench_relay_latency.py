"""Benchmark: `newsletter send` to a relay some milliseconds away, chained writes vs one at a time.

A relay on the internet (a provider's submission host, the clinic's own MTA in
another building) answers after a round trip of 10 to 80 ms, not the 0.05 ms of
loopback. Every round trip a message waits for is then what limits a
connection. With PIPELINING we write a message's end and the next message's
envelope at once (RFC 2920 §3.1), one round trip per message; a send paced by a
rate (``smtp_rate_per_second``) finishes each message before taking the next,
two round trips per message, as before this change.

What is measured, in one run and through one delaying link:

* ``smtp-sink`` (Postfix) on loopback behind a TCP proxy of this script that
  holds every chunk for ``--delay-ms`` in each direction (the kernel here has
  no ``netem``; a proxy adds the same fixed delay to every write, and nothing
  else this benchmark depends on);
* ``newsletter send --issue`` with default settings (chained writes), then with
  ``smtp_rate_per_second`` set far above what the link allows (the pacer never
  waits, but the send takes one message at a time), each on its own fresh
  project and audience of N;
* ``smtp-source -s C`` (C = our connection count: processes × pool size) through
  the same link, for reference: one command per round trip.

Run: ``.venv/bin/python benchmarks/bench_relay_latency.py -n 2000 --delay-ms 10``
Needs /usr/sbin/smtp-sink and /usr/sbin/smtp-source (Debian: postfix).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from harness import (
    ISSUE,
    SINK,
    SOURCE,
    cli_env,
    database,
    free_port,
    machine,
    make_project,
    newsletter_bin,
    prepare,
    seed_active,
    start_sink,
    status_counts,
)


class DelayedLink:
    """A TCP proxy on 127.0.0.1 that delivers every chunk ``delay`` seconds after it came."""

    def __init__(self, target_port: int, delay: float) -> None:
        self.target_port = target_port
        self.delay = delay
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._accept, "127.0.0.1", self.port))
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            # Close every proxied connection before the loop, so none is left to a loop
            # that is gone when the interpreter exits.
            server.close()
            tasks = asyncio.all_tasks(self._loop)
            for task in tasks:
                task.cancel()
            self._loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            self._loop.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        far_reader, far_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        try:
            await asyncio.gather(self._pipe(reader, far_writer), self._pipe(far_reader, writer))
        except asyncio.CancelledError:
            pass  # the link is shutting down: this connection simply ends
        finally:
            writer.close()
            far_writer.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, chunk = await queue.get()
                if not chunk:
                    break
                wait = due - self._loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(chunk)
                await writer.drain()
            writer.close()

        sender = asyncio.ensure_future(deliver())
        try:
            while chunk := await reader.read(65536):
                queue.put_nowait((self._loop.time() + self.delay, chunk))
        except ConnectionError:
            pass
        queue.put_nowait((0.0, b""))
        await sender

    def __enter__(self) -> DelayedLink:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def send_once(port: int, count: int, extra: dict[str, object]) -> tuple[float, int, str]:
    """Seed ``count`` on a fresh project, run `newsletter send`; (seconds, sent, its last line)."""
    with tempfile.TemporaryDirectory(prefix="bench-relay-latency-") as folder:
        project = make_project(Path(folder), smtp_port=port, extra=extra)
        with database(project, None) as db:
            env = cli_env(db)
            prepare(project, env)
            seed_active(db, count)
            started = time.perf_counter()
            done = subprocess.run([newsletter_bin(), "send", "--issue", ISSUE], cwd=project,
                                  env=env, capture_output=True, text=True, check=False)
            seconds = time.perf_counter() - started
            sent = status_counts(db).get("sent", 0)
    if done.returncode != 0:
        raise SystemExit(f"`newsletter send` failed ({done.returncode}): {done.stderr[-500:]}")
    lines = [line.strip() for line in done.stdout.splitlines() if line.strip()]
    return seconds, sent, lines[-1] if lines else ""


def source_once(port: int, count: int, sessions: int) -> float:
    """Seconds smtp-source takes for ``count`` small messages over ``sessions`` sessions."""
    command = [SOURCE, "-s", str(sessions), "-d", "-m", str(count), "-l", "20000",
               "-f", "news@clinic.example.com", "-t", "reader@example.org", f"127.0.0.1:{port}"]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"smtp-source failed ({done.returncode}): {done.stderr.strip()}")
    return time.perf_counter() - started


def main() -> int:
    """Start the sink and the delaying link, run the three senders, print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000, help="subscribers per send (2,000)")
    parser.add_argument("--delay-ms", type=float, default=10.0,
                        help="delay each way in milliseconds (10: a 20 ms round trip)")
    args = parser.parse_args()
    for tool in (SINK, SOURCE):
        if not Path(tool).exists():
            raise SystemExit(f"{tool} is missing (Debian: apt-get install postfix)")
    processes = 2 * (os.cpu_count() or 1)  # send's default: two per core
    connections = processes * 2  # each with the default pool of 2 connections
    print(f"machine: {machine()}", flush=True)
    sink_port = free_port()
    sink = start_sink(sink_port)
    rows: list[tuple[str, float, int]] = []
    try:
        with DelayedLink(sink_port, args.delay_ms / 1000) as link:
            print(f"smtp-sink on 127.0.0.1:{sink_port}, reached through a link that delays "
                  f"{args.delay_ms:g} ms each way (port {link.port}); N = {args.n:,}",
                  flush=True)
            for label, extra in (("newsletter send, defaults (chained writes)", {}),
                                 ("newsletter send, paced (one message at a time)",
                                  {"smtp_rate_per_second": 100_000})):
                seconds, sent, last = send_once(link.port, args.n, extra)
                print(f"  {label}: {sent:,} sent in {seconds:.1f} s, {sent / seconds:,.0f} "
                      f"msg/s; {last}", flush=True)
                rows.append((label, seconds, sent))
            seconds = source_once(link.port, args.n, connections)
            print(f"  smtp-source -s {connections}: {args.n / seconds:,.0f} msg/s", flush=True)
            rows.append((f"smtp-source -s {connections} (20 KB messages)", seconds, args.n))
    finally:
        sink.terminate()
        sink.wait()
    chained = rows[0][2] / rows[0][1]
    print(f"\n| sender ({connections} connections, {2 * args.delay_ms:g} ms round trip) "
          "| sent | seconds | msg/s | vs chained |")
    print("|---|---|---|---|---|")
    for label, seconds, sent in rows:
        rate = sent / seconds
        print(f"| {label} | {sent:,} | {seconds:.1f} | {rate:,.0f} | {rate / chained:.2f} |")
    return 0 if all(sent == args.n for _, _, sent in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
