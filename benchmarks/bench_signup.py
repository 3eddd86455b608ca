"""Benchmark: signup ingest under wrk vs a 404 on the same server, and time per address state.

    .venv/bin/python benchmarks/bench_signup.py                      # 30 s signup, 10 s 404 x2
    .venv/bin/python benchmarks/bench_signup.py --seconds 60 --probes 600
    .venv/bin/python benchmarks/bench_signup.py --worker              # serve --no-ingest + worker

One `newsletter serve` (uvicorn, one process, as the CLI starts it, with its
signup-processor child process) in a fresh project on the SQLite default; its
``newsletter.toml`` turns the per-IP rate limit off (``signup_rate_limit = 0``:
every request comes from 127.0.0.1) and changes nothing else. ``--worker``
runs `serve --no-ingest` and one `newsletter worker` instead. The `--postgres`
flag puts it on a PostgreSQL schema.

1. Throughput, in one run: wrk (``-t 2 -c 32``) GETs a page that does not
   exist (the framework's floor: routing, middleware, a 404 page), then POSTs
   ``/subscribe`` as an HTML form with a new address per request (a wrk Lua
   script), then the 404 again. Reported: req/s of each, the ratio of signup to
   the mean 404 rate, non-2xx answers (counted per status by the Lua script),
   and rows = requests: subscribers, pending subscriptions, queued
   confirmation emails and signup consent records created by the wrk run,
   against the requests wrk sent and the 2xx answers it saw (a request in
   flight when wrk stops may be stored after wrk stopped counting). The
   server runs without an access log (the default); its log is searched for
   tracebacks and "database is locked".
   Then how long each confirmation took to reach the outbox: the time between
   a signup's consent record (when the request arrived) and its
   ``confirmation_sent`` record (when the processor queued the email), for
   the wrk burst and for ``--trickle`` single signups posted one at a time
   afterwards (the everyday case), and how long the backlog of the burst took
   to drain after wrk stopped.
2. Time per address state: a single client on one keep-alive connection posts
   the form for addresses that are new, pending (signed up before, cooldown
   running), active, unsubscribed, bounced (subscription bounced and address
   suppressed, as a hard bounce leaves it) and suppressed (erased: only the
   hash on the suppression list), interleaved in a shuffled
   order per round, ``--probes`` rounds. Reported: the median per state, the
   largest difference between two states' medians with a bootstrap 95%
   interval, and a Mann-Whitney U test per pair. Active, unsubscribed and
   suppressed people are made beforehand: active ones with
   `newsletter subscribers import`, then some of them marked unsubscribed or
   bounced and some addresses put on the suppression list (sha256 of the
   address, the documented erasure rule) with SQL.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from harness import (
    Database,
    cli_env,
    cpu_seconds,
    database,
    free_port,
    machine,
    make_project,
    newsletter_bin,
    postgres_url,
    prepare,
    run_cli,
)
from sqlalchemy import text

STATES = ("new", "pending", "active", "unsubscribed", "bounced", "suppressed")
FORM = "application/x-www-form-urlencoded"

SIGNUP_LUA = r"""
-- A new address per request: thread number and a per-thread counter.
local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  counter = 0
  statuses = {}
end
function request()
  counter = counter + 1
  local body = "email=wrk" .. tid .. "-" .. counter .. "%40example.com&list=clinic-news"
    .. "&name=Reader+" .. tid .. "-" .. counter
  return wrk.format("POST", "/subscribe",
    {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  -- request() runs once per request written, so the counters add up to the requests sent,
  -- including those still unanswered when wrk stopped at its deadline.
  local totals, sent = {}, 0
  for _, thread in ipairs(threads) do
    sent = sent + thread:get("counter")
    for code, n in pairs(thread:get("statuses")) do totals[code] = (totals[code] or 0) + n end
  end
  io.write(string.format("sent %d\n", sent))
  for code, n in pairs(totals) do io.write(string.format("status %d %d\n", code, n)) end
end
"""


def wrk(url: str, seconds: float, connections: int, threads: int,
        script: Path | None = None) -> dict[str, float]:
    """Run wrk and return req/s, requests, non-2xx/3xx, socket errors and Lua status counts."""
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds:g}s",
               "--latency"]
    if script is not None:
        command += ["-s", str(script)]
    done = subprocess.run([*command, url], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"wrk failed: {done.stderr.strip()}")
    out = done.stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    if not rate or not total:
        raise SystemExit(f"could not read wrk's output:\n{out}")
    result: dict[str, float] = {"rate": float(rate.group(1)), "requests": int(total.group(1))}
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["non_2xx_3xx"] = int(bad.group(1)) if bad else 0
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       out)
    result["socket_errors"] = sum(int(n) for n in errors.groups()) if errors else 0
    for code, count in re.findall(r"^status (\d+) (\d+)$", out, re.MULTILINE):
        result[f"status_{code}"] = int(count)
    sent = re.search(r"^sent (\d+)$", out, re.MULTILINE)
    if sent:
        result["sent"] = int(sent.group(1))
    for label in ("50", "99"):
        found = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)", out, re.MULTILINE)
        if found:
            scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[found.group(2)]
            result[f"p{label}_ms"] = float(found.group(1)) * scale
    return result


def start_server(project: Path, env: dict[str, str], port: int, log: Path,
                 *extra: str) -> subprocess.Popen[bytes]:
    """`newsletter serve` on 127.0.0.1:port, logging to ``log``."""
    handle = log.open("wb")
    return subprocess.Popen([newsletter_bin(), "serve", "--host", "127.0.0.1", "--port",
                             str(port), *extra], cwd=project, env=env, stdout=handle,
                            stderr=subprocess.STDOUT)


def start_worker(project: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`newsletter worker` (sending and processing signups), logging to ``log``."""
    handle = log.open("wb")
    return subprocess.Popen([newsletter_bin(), "worker", "--idle", "1"], cwd=project, env=env,
                            stdout=handle, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGINT, then SIGKILL after 30 s."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def measured(pids: list[int], run: Callable[[], dict[str, float]]) -> dict[str, float]:
    """``run()``'s wrk figures plus ``cpu_ms``: server CPU per request (its children included)."""
    before = cpu_seconds(pids)
    result = run()
    result["cpu_ms"] = (cpu_seconds(pids) - before) * 1000 / max(result["requests"], 1)
    return result


def load_average() -> str:
    """The 1/5/15-minute load averages."""
    return " ".join(Path("/proc/loadavg").read_text(encoding="utf-8").split()[:3])


def confirmation_delays(db: Database, pattern: str) -> list[float]:
    """Seconds from each signup's arrival to its queued confirmation, for addresses LIKE pattern."""
    sql = ("SELECT s.occurred_at, c.occurred_at FROM consent_records s JOIN consent_records c "
           "ON c.subscription_id = s.subscription_id AND c.event = 'confirmation_sent' "
           "WHERE s.event = 'signup' AND s.email LIKE :p")
    with db.engine.connect() as connection:
        pairs = connection.execute(text(sql), {"p": pattern}).all()
    return [(_when(done) - _when(arrived)).total_seconds() for arrived, done in pairs]


def _when(value: object) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def unprocessed(db: Database) -> int:
    """Signup rows not processed yet."""
    with db.engine.connect() as connection:
        return int(connection.execute(text(
            "SELECT count(*) FROM signups WHERE processed_at IS NULL")).scalar_one())


def drain_time(db: Database, seconds: float) -> float:
    """Seconds until no signup waits (from now), or ``seconds`` when it takes longer."""
    started = time.monotonic()
    while unprocessed(db) and time.monotonic() - started < seconds:
        time.sleep(0.05)
    return time.monotonic() - started


def trickle(url: str, count: int, gap: float) -> None:
    """``count`` single signups, one at a time, ``gap`` seconds apart (the everyday case)."""
    with httpx.Client(base_url=url, timeout=30) as client:
        for n in range(count):
            answer = client.post("/subscribe", data={"email": f"trickle-{n}@example.com",
                                                     "list": "clinic-news"})
            if answer.status_code != 200:
                raise SystemExit(f"trickle {n}: {answer.status_code} {answer.text}")
            time.sleep(gap)


def percentile(values: list[float], share: float) -> float:
    """The value below which ``share`` of ``values`` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def wait_ready(url: str, server: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """Poll until the server answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the server exited during start-up; see its log")
        try:
            httpx.get(f"{url}/assets/site.css", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("the server did not start in time")


def rows_made_by_wrk(db: Database) -> dict[str, int]:
    """Rows of the wrk run's addresses (wrk<thread>-<n>@example.com)."""
    pattern = "wrk%@example.com"
    queries = {
        "subscribers": "SELECT count(*) FROM subscribers WHERE email LIKE :p",
        "pending subscriptions": "SELECT count(*) FROM subscriptions x JOIN subscribers s "
        "ON s.id = x.subscriber_id WHERE s.email LIKE :p AND x.status = 'pending'",
        "queued confirmations": "SELECT count(*) FROM deliveries d JOIN subscribers s "
        "ON s.id = d.subscriber_id WHERE s.email LIKE :p AND d.kind = 'confirmation'",
        "signup consent records": "SELECT count(*) FROM consent_records "
        "WHERE email LIKE :p AND event = 'signup'",
    }
    with db.engine.connect() as connection:
        return {name: int(connection.execute(text(sql), {"p": pattern}).scalar_one())
                for name, sql in queries.items()}


def settled_rows(db: Database, expected: int, seconds: float) -> dict[str, int]:
    """The wrk run's rows once they all reach ``expected`` (or whatever is there after ``seconds``).

    Waiting lets a design that stores the signup first and does the rest in the
    background catch up; today every row is written before the answer.
    """
    deadline = time.monotonic() + seconds
    while True:
        rows = rows_made_by_wrk(db)
        if all(value >= expected for value in rows.values()) or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def server_problems(*logs: Path) -> tuple[int, int]:
    """(tracebacks, "database is locked") in the server's (and worker's) log."""
    content = "".join(log.read_text(encoding="utf-8", errors="replace")
                      for log in logs if log.exists())
    return content.count("Traceback"), content.lower().count("database is locked")


def address(state: str, n: int) -> str:
    """The probe address number ``n`` of ``state``."""
    return f"probe-{state}-{n}@example.com"


def make_states(project: Path, env: dict[str, str], db: Database, url: str, count: int) -> None:
    """Put ``count`` addresses in each state except "new" (which needs nothing)."""
    with httpx.Client(base_url=url, timeout=30) as client:
        for n in range(count):
            answer = client.post("/subscribe", data={"email": address("pending", n),
                                                     "list": "clinic-news"})
            if answer.status_code >= 300:
                raise SystemExit(f"making pending addresses: {answer.status_code} {answer.text}")
    drain_time(db, 300)  # the processor makes them pending
    csv = project / "subscribers" / "probes.csv"
    lines = ["email,name"] + [f"{address(state, n)},Probe {n}" for state in
                              ("active", "unsubscribed", "bounced") for n in range(count)]
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run_cli(project, env, "subscribers", "import", str(csv), "--list", "clinic-news")
    now = datetime.now(UTC).replace(tzinfo=None)
    with db.engine.begin() as connection:
        connection.execute(text(
            "UPDATE subscriptions SET status = 'unsubscribed', unsubscribed_at = :now, "
            "unsubscribe_method = 'benchmark', updated_at = :now WHERE subscriber_id IN "
            "(SELECT id FROM subscribers WHERE email LIKE 'probe-unsubscribed-%')"), {"now": now})
        # A hard bounce, as the sender records it: the subscription turns "bounced" and
        # the address goes on the suppression list.
        connection.execute(text(
            "UPDATE subscriptions SET status = 'bounced', updated_at = :now WHERE subscriber_id "
            "IN (SELECT id FROM subscribers WHERE email LIKE 'probe-bounced-%')"), {"now": now})
        connection.execute(
            text("INSERT INTO suppressions (email_hash, reason, created_at) "
                 "VALUES (:h, :reason, :now)"),
            [{"h": hashlib.sha256(address(state, n).encode()).hexdigest(), "now": now,
              "reason": "erased" if state == "suppressed" else "bounced"}
             for state in ("suppressed", "bounced") for n in range(count)])
    with db.engine.connect() as connection:
        found = dict(connection.execute(text(
            "SELECT x.status, count(*) FROM subscriptions x JOIN subscribers s "
            "ON s.id = x.subscriber_id WHERE s.email LIKE 'probe-%' GROUP BY x.status")).all())
    expected = {"pending": count, "active": count, "unsubscribed": count, "bounced": count}
    if {str(k): int(v) for k, v in found.items()} != expected:
        raise SystemExit(f"probe addresses are {found}, expected {expected}")


def probe(url: str, rounds: int, seed: int) -> dict[str, list[float]]:
    """Milliseconds per POST for each state, interleaved in a shuffled order every round."""
    order = random.Random(seed)
    times: dict[str, list[float]] = {state: [] for state in STATES}
    with httpx.Client(base_url=url, timeout=30) as client:
        for n in range(20):  # warm the connection and the server's code paths
            client.post("/subscribe", data={"email": f"warm-{n}@example.com",
                                            "list": "clinic-news"})
        for n in range(rounds):
            states = list(STATES)
            order.shuffle(states)
            for state in states:
                body = {"email": address(state, n), "list": "clinic-news"}
                started = time.perf_counter()
                answer = client.post("/subscribe", data=body)
                elapsed = (time.perf_counter() - started) * 1000
                if answer.status_code != 200:
                    raise SystemExit(f"probe {state} {n}: {answer.status_code} {answer.text}")
                times[state].append(elapsed)
    return times


def bootstrap_median_diff(a: list[float], b: list[float], rng: random.Random,
                          resamples: int = 2000) -> tuple[float, float]:
    """95% bootstrap interval of median(a) - median(b)."""
    diffs = sorted(statistics.median(rng.choices(a, k=len(a)))
                   - statistics.median(rng.choices(b, k=len(b))) for _ in range(resamples))
    return diffs[int(0.025 * resamples)], diffs[int(0.975 * resamples) - 1]


def mann_whitney_p(a: list[float], b: list[float]) -> float:
    """Two-sided p-value of the Mann-Whitney U test (normal approximation, tie-corrected)."""
    pooled = sorted([(value, 0) for value in a] + [(value, 1) for value in b])
    ranks = [0.0] * len(pooled)
    ties = 0.0
    i = 0
    while i < len(pooled):
        j = i
        while j + 1 < len(pooled) and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2 + 1
        size = j - i + 1
        ties += size ** 3 - size
        i = j + 1
    n1, n2 = len(a), len(b)
    rank_a = sum(rank for rank, (_value, group) in zip(ranks, pooled, strict=True) if group == 0)
    u = rank_a - n1 * (n1 + 1) / 2
    total = n1 + n2
    sigma = math.sqrt(n1 * n2 / 12 * ((total + 1) - ties / (total * (total - 1))))
    if sigma == 0:
        return 1.0
    z = (u - n1 * n2 / 2) / sigma
    return math.erfc(abs(z) / math.sqrt(2))


def main() -> int:
    """Run both parts and print the figures; exit 1 when a correctness check fails."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="wrk duration for signup")
    parser.add_argument("--floor-seconds", type=float, default=10.0,
                        help="wrk duration for each 404 run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--probes", type=int, default=400, help="probe rounds (one per state)")
    parser.add_argument("--seed", type=int, default=25)
    parser.add_argument("--settle", type=float, default=10.0,
                        help="seconds to wait for the rows of the last requests")
    parser.add_argument("--postgres", metavar="URL", default=None,
                        help="PostgreSQL server URL, or 'env' for NEWSLETTER_TEST_POSTGRES_URL")
    parser.add_argument("--worker", action="store_true",
                        help="serve --no-ingest plus one `newsletter worker` process")
    parser.add_argument("--trickle", type=int, default=100,
                        help="single signups posted one at a time after the burst")
    args = parser.parse_args()
    pg = postgres_url(args.postgres)
    if args.postgres and pg is None:
        raise SystemExit("--postgres env: NEWSLETTER_TEST_POSTGRES_URL is not set")
    print(f"machine: {machine()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-signup-") as folder:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        project = make_project(Path(folder), extra={"signup_rate_limit": 0, "base_url": url})
        script = Path(folder) / "signup.lua"
        script.write_text(SIGNUP_LUA, encoding="utf-8")
        log = Path(folder) / "server.log"
        worker_log = Path(folder) / "worker.log"
        with database(project, pg) as db:
            env = cli_env(db)
            prepare(project, env)
            server = start_server(project, env, port, log,
                                  *(["--no-ingest"] if args.worker else []))
            worker = start_worker(project, env, worker_log) if args.worker else None
            try:
                wait_ready(url, server)
                how = "serve --no-ingest + worker" if args.worker else "serve"
                print(f"`newsletter {how}` on {url} ({db.kind}); wrk -t {args.threads} -c "
                      f"{args.connections}; load {load_average()}", flush=True)
                pids = [server.pid] + ([worker.pid] if worker is not None else [])
                floor1 = measured(pids, lambda: wrk(f"{url}/no-such-page", args.floor_seconds,
                                                    args.connections, args.threads))
                print(f"  404: {floor1['rate']:,.0f} req/s, {floor1['cpu_ms']:.2f} ms CPU each; "
                      f"load {load_average()}", flush=True)
                before = cpu_seconds(pids)
                signup = wrk(f"{url}/subscribe", args.seconds, args.connections, args.threads,
                             script)
                print(f"  POST /subscribe: {signup['rate']:,.0f} req/s; load {load_average()}",
                      flush=True)
                drained = drain_time(db, 600)
                # Web and signup processor together, until the burst's rows are all processed.
                signup["cpu_ms"] = ((cpu_seconds(pids) - before) * 1000
                                    / max(signup.get("sent", signup["requests"]), 1))
                print(f"  backlog drained {drained:.1f} s after wrk stopped", flush=True)
                rows = settled_rows(db, int(signup.get("sent", 0)), args.settle)
                floor2 = measured(pids, lambda: wrk(f"{url}/no-such-page", args.floor_seconds,
                                                    args.connections, args.threads))
                print(f"  404: {floor2['rate']:,.0f} req/s, {floor2['cpu_ms']:.2f} ms CPU each; "
                      f"load {load_average()}", flush=True)
                burst = confirmation_delays(db, "wrk%@example.com")
                trickle(url, args.trickle, 0.1)
                drain_time(db, 60)
                single = confirmation_delays(db, "trickle-%@example.com")
                make_states(project, env, db, url, args.probes)
                times = probe(url, args.probes, args.seed)
                drain_time(db, 120)
                tracebacks, locked = server_problems(log, worker_log)
            finally:
                stop(server)
                if worker is not None:
                    stop(worker)
    floor = (floor1["rate"] + floor2["rate"]) / 2
    statuses = {key[7:]: int(value) for key, value in signup.items() if key.startswith("status_")}
    answered_2xx = sum(n for code, n in statuses.items() if code.startswith("2"))
    non_2xx = sum(n for code, n in statuses.items() if not code.startswith("2"))
    print(f"\nsignup: {signup['rate']:,.0f} req/s ({int(signup['requests']):,} requests in "
          f"{args.seconds:g} s; p50 {signup.get('p50_ms', float('nan')):.0f} ms, "
          f"p99 {signup.get('p99_ms', float('nan')):.0f} ms)")
    print(f"404 floor: {floor1['rate']:,.0f} and {floor2['rate']:,.0f} req/s (mean {floor:,.0f})")
    print(f"ratio signup / 404: {signup['rate'] / floor:.3f} (1/{floor / signup['rate']:.0f})")
    floor_cpu = (floor1["cpu_ms"] + floor2["cpu_ms"]) / 2
    print(f"server CPU per request: 404 {floor_cpu:.2f} ms; signup {signup['cpu_ms']:.2f} ms "
          f"(web and processor, until the burst was processed): the CPU ratio 404 / signup is "
          f"{floor_cpu / signup['cpu_ms']:.2f}, and two idle cores would do at most "
          f"{2000 / signup['cpu_ms']:,.0f} signups/s and {2000 / floor_cpu:,.0f} 404s/s "
          "(wrk's own CPU not counted)")
    print(f"statuses seen by wrk: {statuses}; non-2xx: {non_2xx}; socket errors: "
          f"{int(signup['socket_errors'])}")
    sent = int(signup.get("sent", -1))
    fivexx = sum(n for code, n in statuses.items() if code.startswith("5"))
    print(f"5xx seen by wrk: {fivexx}; server log: {tracebacks} tracebacks, "
          f"'database is locked' {locked} times")
    print(f"rows: {rows}")
    stored = rows["subscribers"]
    # wrk stops at its deadline with up to one request per connection unanswered; the server
    # may store those too. So: every table agrees (no half-stored signup), nothing answered is
    # missing (rows >= answered), nothing was invented (rows <= requests sent).
    rows_ok = len(set(rows.values())) == 1 and answered_2xx <= stored <= sent
    print(f"rows = requests: {'yes' if rows_ok else 'NO'}: {stored} signups stored for {sent} "
          f"requests sent by wrk, {answered_2xx} of them answered 2xx before its deadline and "
          f"{sent - answered_2xx - non_2xx} unanswered when it stopped ({stored - answered_2xx} "
          "of those stored)")
    medians = {state: statistics.median(values) for state, values in times.items()}
    print(f"\ntime per address state ({args.probes} interleaved probes each, one client, "
          "keep-alive):")
    for state in STATES:
        values = times[state]
        print(f"  {state:<13} median {medians[state]:6.2f} ms  (p10 "
              f"{sorted(values)[len(values) // 10]:.2f}, p90 "
              f"{sorted(values)[len(values) * 9 // 10]:.2f})")
    rng = random.Random(args.seed)
    worst = max(((a, b) for a in STATES for b in STATES if a < b),
                key=lambda pair: abs(medians[pair[0]] - medians[pair[1]]))
    print("  pairwise: median difference [bootstrap 95%], Mann-Whitney p")
    for a in STATES:
        for b in STATES:
            if STATES.index(a) < STATES.index(b):
                low, high = bootstrap_median_diff(times[a], times[b], rng)
                print(f"    {a} - {b}: {medians[a] - medians[b]:+.2f} ms "
                      f"[{low:+.2f}, {high:+.2f}], p = {mann_whitney_p(times[a], times[b]):.2g}")
    spread = abs(medians[worst[0]] - medians[worst[1]])
    print(f"  largest gap between two states' medians: {spread:.2f} ms ({worst[0]} vs "
          f"{worst[1]}); target: within 0.5 ms")
    for label, delays in (("during the wrk burst", burst),
                          (f"{args.trickle} single signups, 0.1 s apart", single)):
        print(f"confirmation queued after the request, {label}: median "
              f"{percentile(delays, 0.5) * 1000:.0f} ms, p95 {percentile(delays, 0.95) * 1000:.0f}"
              f" ms, max {max(delays, default=float('nan')) * 1000:.0f} ms ({len(delays)} signups)")
    print(f"backlog of the burst drained {drained:.1f} s after wrk stopped")
    ok = rows_ok and non_2xx == 0 and fivexx == 0 and tracebacks == 0 and locked == 0
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
