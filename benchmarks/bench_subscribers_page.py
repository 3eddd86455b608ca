"""Benchmark: the console's subscriber list at 100,000 people, against `newsletter serve`.

    .venv/bin/python benchmarks/bench_subscribers_page.py -n 100000 -r 30
    .venv/bin/python benchmarks/bench_subscribers_page.py -n 100000 -r 30 --postgres env

The server is a real `newsletter serve` process on a real SQLite file (or a
PostgreSQL schema); the client is httpx over loopback, logged in as an owner
through the login form. Seeding is bulk SQL (one statement per table, not
measured): people joined every few minutes over about two years, three at a
time (ties in created_at on purpose), with mixed statuses (80% active, 6%
pending, 8% unsubscribed, 4% bounced, 2% complained) and 500 erased people.

Measured, each ``-r`` times after two warm-up requests (whole request: session
lookup, the page's queries including the total count, rendering):

* the first page (newest 50);
* a middle page, reached by keyset (``?after=<key of row 50,000>``);
* a search (``q=reader4242``: a substring, 11 matches, so the whole table is scanned);
* a filtered page (list + status unsubscribed + a date range).

Reported: median and p95 in ms per page. The target is under 200 ms a page.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import text

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.harness import (  # noqa: E402
    CSRF_TOKEN,
    LIST_SLUG,
    OWNER_EMAIL,
    OWNER_PASSWORD,
    Database,
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

ROW = re.compile(r'href="/admin/subscribers/[A-Za-z0-9_-]{16,43}"')
BASE = datetime(2025, 1, 1, tzinfo=UTC)
# A person's id → their status: the same mix on both backends (id % 50 buckets).
STATUS_SQL = ("CASE WHEN s.id % 50 < 40 THEN 'active' WHEN s.id % 50 < 43 THEN 'pending' "
              "WHEN s.id % 50 < 47 THEN 'unsubscribed' WHEN s.id % 50 < 49 THEN 'bounced' "
              "ELSE 'complained' END")


def seed(db: Database, count: int) -> float:
    """Insert ``count`` people and their subscriptions, and 500 erasures; seconds taken."""
    started = time.perf_counter()
    base = BASE.replace(tzinfo=None)
    with db.engine.begin() as connection:
        list_id = connection.execute(text("SELECT id FROM lists WHERE slug = :s"),
                                     {"s": LIST_SLUG}).scalar_one()
        if db.kind == "sqlite":
            # Microseconds written out, as the application writes them, so keys compare exactly.
            rows = ("WITH RECURSIVE n(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM n "
                    "WHERE x + 1 < :count) SELECT x, printf('p%031d', x) AS pid, "
                    "datetime(:base, '+' || ((x / 3) * 11) || ' minutes') || '.000000' AS at "
                    "FROM n")
        else:
            rows = ("SELECT x, 'p' || lpad(x::text, 31, '0') AS pid, "
                    "CAST(:base AS timestamp) + ((x / 3) * 11) * interval '1 minute' AS at "
                    "FROM generate_series(0, CAST(:count AS bigint) - 1) AS x")
        # The interpolated pieces are constants of this module, never input.
        connection.execute(text(
            "INSERT INTO subscribers (public_id, email, name, created_at) "  # noqa: S608
            f"SELECT pid, 'reader' || x || '@example.org', 'Reader Nummer ' || x, at "
            f"FROM ({rows}) AS r"), {"count": count, "base": base})
        connection.execute(text(
            "INSERT INTO subscriptions (subscriber_id, list_id, status, created_at, updated_at) "  # noqa: S608
            f"SELECT s.id, :list, {STATUS_SQL}, s.created_at, s.created_at "
            "FROM subscribers s"), {"list": list_id})
        for n in range(500):
            connection.execute(text(
                "INSERT INTO suppressions (email_hash, reason, created_at) "
                "VALUES (:h, 'erased', :at)"),
                {"h": f"{n:064x}", "at": base + timedelta(hours=n * 7)})
        if db.kind == "sqlite":
            connection.execute(text("ANALYZE"))
        else:
            connection.execute(text("ANALYZE subscribers"))
            connection.execute(text("ANALYZE subscriptions"))
    return time.perf_counter() - started


def middle_key(db: Database, position: int) -> str:
    """The keyset key of the row at ``position`` in the page order (setup only, not measured)."""
    with db.engine.connect() as connection:
        at, row_id = connection.execute(text(
            "SELECT created_at, id FROM subscribers ORDER BY created_at DESC, id DESC "
            "LIMIT 1 OFFSET :n"), {"n": position}).one()
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return f"{at.replace(tzinfo=UTC).isoformat()}_{row_id}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("-n", type=int, default=100_000, help="subscribers")
    parser.add_argument("-r", type=int, default=30, help="requests per page kind")
    parser.add_argument("--postgres", default=None, help="'env' or a URL; default SQLite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        project = make_project(Path(scratch), extra={"base_url": base})
        with database(project, postgres_url(args.postgres)) as db:
            env = cli_env(db)
            prepare(project, env)
            seconds = seed(db, args.n)
            add_owner(project, env)
            key = middle_key(db, args.n // 2)
            with serving(project, env, port):
                print(machine())
                print(f"database: {db.kind}; {args.n} subscribers seeded in {seconds:.1f} s")
                run(base, args.r, key)


def run(base: str, repeats: int, key: str) -> None:
    pages = {
        "first page": {},
        "middle page (keyset)": {"after": key},
        "search 'reader4242'": {"q": "reader4242"},
        "filtered (list, unsubscribed, 2025)": {
            "list": LIST_SLUG, "status": "unsubscribed", "from": "2025-01-01",
            "to": "2025-12-31"},
    }
    with httpx.Client(base_url=base, timeout=60) as client:
        form = client.get("/admin/login")
        token = CSRF_TOKEN.search(form.text)
        assert token
        done = client.post("/admin/login", data={
            "email": OWNER_EMAIL, "password": OWNER_PASSWORD, "csrf_token": token.group(1)})
        assert done.status_code == 303, done.status_code
        print(f"{'page':40} {'rows':>5} {'median':>9} {'p95':>9} {'max':>9}")
        for label, params in pages.items():
            times: list[float] = []
            rows = 0
            for n in range(repeats + 2):
                started = time.perf_counter()
                answer = client.get("/admin/subscribers", params=params)
                elapsed = time.perf_counter() - started
                assert answer.status_code == 200, (label, answer.status_code)
                rows = len(ROW.findall(answer.text))
                if n >= 2:
                    times.append(elapsed)
            p50, p95 = percentile(times, 0.5) * 1000, percentile(times, 0.95) * 1000
            print(f"{label:40} {rows:>5} {p50:>6.1f} ms {p95:>6.1f} ms "
                  f"{max(times) * 1000:>6.1f} ms")


if __name__ == "__main__":
    main()
