"""Benchmark POST /subscribe: `newsletter serve` (uvicorn, SQLite default) under concurrent load.

The server runs in its own process (the real console script) in a fresh
project folder; this process is the load generator: ``--clients`` concurrent
asyncio clients, each posting new addresses for ``--seconds``. Afterwards it
checks that there were no 5xx, no "database is locked" in the server's log,
and that the database holds one subscriber, one pending subscription and one
queued confirmation email per accepted request (no lost signup).

Usage: .venv/bin/python benchmarks/bench_subscribe.py --seconds 30 --clients 32
Everything talks to 127.0.0.1 only. The per-IP rate limit is turned off via
NEWSLETTER_SIGNUP_RATE_LIMIT=0 (all clients share one IP).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

LISTS = """[[list]]
slug = "clinic-news"
name = "Riverside Clinic News"
double_opt_in = true
consent_text = "Yes, email me the clinic's articles."
"""


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(folder: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    """Run ``newsletter serve`` in ``folder`` (its own process), logging to ``log``."""
    (folder / "subscribers").mkdir(parents=True)
    (folder / "issues").mkdir()
    (folder / "subscribers" / "lists.toml").write_text(LISTS, encoding="utf-8")
    env = {
        **os.environ,
        "NEWSLETTER_SIGNUP_RATE_LIMIT": "0",
        "NEWSLETTER_BASE_URL": f"http://127.0.0.1:{port}",
    }
    script = shutil.which("newsletter", path=str(Path(sys.executable).parent))
    assert script, "the newsletter console script is not installed in this venv"
    handle = log.open("wb")
    return subprocess.Popen(
        [script, "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=folder, env=env, stdout=handle, stderr=subprocess.STDOUT,
    )


def wait_ready(url: str, server: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Poll until the server answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the server exited during start-up; see its log")
        try:
            if httpx.get(f"{url}/assets/site.css", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("the server did not start in time")


async def load(url: str, clients: int, seconds: float) -> tuple[list[float], Counter[int]]:
    """``clients`` concurrent workers posting new addresses for ``seconds``."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    stop_at = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def worker(number: int, client: httpx.AsyncClient) -> None:
        sent = 0
        while time.monotonic() < stop_at:
            body = {"email": f"bench-{number}-{sent}@example.com", "list": "clinic-news",
                    "name": f"Reader {number}-{sent}"}
            started = time.perf_counter()
            try:
                response = await client.post(f"{url}/subscribe", json=body)
                statuses[response.status_code] += 1
            except httpx.HTTPError:
                statuses[0] += 1
            latencies.append(time.perf_counter() - started)
            sent += 1

    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        await asyncio.gather(*(worker(n, client) for n in range(clients)))
    return latencies, statuses


def wait_processed(database: Path, seconds: float) -> float:
    """Seconds until no stored signup waits for the processor (at most ``seconds``)."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        with sqlite3.connect(database) as connection:
            left = connection.execute(
                "SELECT count(*) FROM signups WHERE processed_at IS NULL").fetchone()[0]
        connection.close()
        if not left:
            break
        time.sleep(0.1)
    return time.monotonic() - started


def count_rows(database: Path) -> dict[str, int]:
    """Rows the signups left in the SQLite file."""
    with sqlite3.connect(database) as connection:
        def one(sql: str) -> int:
            return int(connection.execute(sql).fetchone()[0])

        result = {
            "subscribers": one("SELECT count(*) FROM subscribers"),
            "pending subscriptions": one(
                "SELECT count(*) FROM subscriptions WHERE status = 'pending'"),
            "queued confirmations": one(
                "SELECT count(*) FROM deliveries WHERE kind = 'confirmation'"),
            "signup consent records": one(
                "SELECT count(*) FROM consent_records WHERE event = 'signup'"),
        }
    connection.close()
    return result


def main() -> int:
    """Run the benchmark and print the figures; exit 1 if a correctness check fails."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=32)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-subscribe-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = folder / "server.log"
    server = start_server(folder / "project", port, log)
    try:
        wait_ready(url, server)
        started = time.monotonic()
        latencies, statuses = asyncio.run(load(url, args.clients, args.seconds))
        elapsed = time.monotonic() - started
        # The request stores the signup; `serve`'s signup process makes the rest: let it finish.
        drained = wait_processed(folder / "project" / "var" / "newsletter.db", 300)
        print(f"signups processed {drained:.1f} s after the load stopped")
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    server_log = log.read_text(encoding="utf-8", errors="replace")
    rows = count_rows(folder / "project" / "var" / "newsletter.db")
    accepted = statuses.get(202, 0)
    errors_5xx = sum(count for code, count in statuses.items() if code >= 500)
    locked = server_log.lower().count("database is locked")
    ordered = sorted(latencies)
    total = len(latencies)
    print(f"machine: {os.cpu_count()} CPUs (nproc), Python {platform.python_version()}, "
          f"{platform.system()} {platform.machine()}")
    print(f"load: {args.clients} concurrent clients for {elapsed:.1f} s, {total} requests")
    print(f"throughput: {total / elapsed:.0f} req/s")
    print(f"latency: p50 {statistics.median(ordered) * 1000:.1f} ms, "
          f"p99 {ordered[int(0.99 * (total - 1))] * 1000:.1f} ms, "
          f"max {ordered[-1] * 1000:.1f} ms")
    print(f"statuses: {dict(sorted(statuses.items()))}")
    print(f"5xx: {errors_5xx}; 'database is locked' in server log: {locked}")
    print(f"accepted (202): {accepted}; rows: {rows}")
    ok = (
        errors_5xx == 0 and locked == 0 and statuses.get(0, 0) == 0
        and all(value == accepted for value in rows.values())
    )
    print("no lost signup: rows equal accepted requests" if ok else "CHECK FAILED")
    shutil.rmtree(folder, ignore_errors=True) if ok else print(f"kept {folder} for inspection")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
