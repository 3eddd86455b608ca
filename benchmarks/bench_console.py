"""Benchmark: the staff console over HTTP, against `newsletter serve` as its own process.

    .venv/bin/python benchmarks/bench_console.py -n 20 -m 200
    .venv/bin/python benchmarks/bench_console.py -n 20 -m 200 --postgres env

Reported: the time of N logins (POST /admin/login → 303, one after another;
argon2id verification is most of it, on purpose), the time of M dashboard and
staff-page loads with a session (each one a session lookup), and what a first
visit downloads (HTML, stylesheet, the vendored htmx; raw and gzip-compressed,
since a proxy in front usually compresses).
"""

from __future__ import annotations

import argparse
import gzip
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.harness import (  # noqa: E402
    CSRF_TOKEN,
    OWNER_EMAIL,
    OWNER_PASSWORD,
    add_owner,
    cli_env,
    database,
    free_port,
    machine,
    make_project,
    percentile,
    postgres_url,
    prepare,
    serving,
)


def timed(values: list[float]) -> str:
    p50, p95 = percentile(values, 0.5) * 1000, percentile(values, 0.95) * 1000
    return f"p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {max(values) * 1000:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("-n", type=int, default=20, help="logins")
    parser.add_argument("-m", type=int, default=200, help="page loads")
    parser.add_argument("--postgres", default=None, help="'env' or a URL; default SQLite")
    args = parser.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory() as scratch:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        project = make_project(Path(scratch), extra={"base_url": base})
        with database(project, postgres_url(args.postgres)) as db:
            env = cli_env(db)
            prepare(project, env)
            add_owner(project, env)
            with serving(project, env, port):
                run(base, args.n, args.m, db.kind)


def run(base: str, logins: int, loads: int, kind: str) -> None:
    with httpx.Client(base_url=base) as client:
        first = client.get("/admin/login")
        sizes = {"login page": first.content}
        for asset in ("admin.css", "htmx.min.js"):
            sizes[asset] = client.get(f"/admin/assets/{asset}").content
        login_times = []
        for _ in range(logins):
            client.cookies.clear()
            form = client.get("/admin/login")
            token = CSRF_TOKEN.search(form.text)
            assert token
            started = time.perf_counter()
            answer = client.post("/admin/login", data={
                "email": OWNER_EMAIL, "password": OWNER_PASSWORD, "csrf_token": token.group(1)})
            login_times.append(time.perf_counter() - started)
            assert answer.status_code == 303, answer.status_code
        page_times = []
        for n in range(loads):
            started = time.perf_counter()
            page = client.get("/admin" if n % 2 else "/admin/staff")
            page_times.append(time.perf_counter() - started)
            assert page.status_code == 200
    print(f"database: {kind}")
    print(f"{logins} logins: {timed(login_times)}")
    print(f"{loads} page loads (dashboard and staff, logged in): {timed(page_times)}")
    total = sum(len(body) for body in sizes.values())
    packed = sum(len(gzip.compress(body)) for body in sizes.values())
    for name, body in sizes.items():
        packed_one = len(gzip.compress(body)) / 1024
        print(f"  {name}: {len(body) / 1024:.1f} KiB ({packed_one:.1f} KiB gz)")
    print(f"first visit downloads {total / 1024:.1f} KiB ({packed / 1024:.1f} KiB gzip-compressed)")


if __name__ == "__main__":
    main()
