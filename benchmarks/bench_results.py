"""Benchmark: the results of one issue and of a series, with N subscribers (SQLite, in process).

The sample series is mirrored; N active subscribers get issues 1–3 (as
``sent`` rows spread over six hours each, inserted in bulk), 2% of them leave
after some issue (one-click, the page, this series only), and issue 1 has link
counts. Then :func:`~newsletter.feedback.results.issue_results` and
:func:`~newsletter.feedback.results.series_results` (what the two console
pages call) are timed: median and worst of R runs (wall clock), and the
median CPU time of this process (steadier on a busy machine: SQLite runs in it).

    .venv/bin/python benchmarks/bench_results.py            # N = 100,000, R = 5
    .venv/bin/python benchmarks/bench_results.py -n 20000 -r 3
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main() -> None:
    from newsletter.app import create_app
    from newsletter.config import load_settings
    from newsletter.content.issuefile import find_series
    from newsletter.db.engine import write_transaction
    from newsletter.db.models import (
        ClickLink,
        Delivery,
        Issue,
        MailingList,
        SeriesOptOut,
        Subscriber,
        Subscription,
    )
    from newsletter.delivery.editions import freeze, store_edition
    from newsletter.feedback.results import issue_results, series_results

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100_000, help="subscribers")
    parser.add_argument("-r", type=int, default=5, help="runs per page")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "project"
        shutil.copytree(REPO / "issues", root / "issues")
        shutil.copytree(REPO / "subscribers", root / "subscribers")
        settings = load_settings(root, environ={}, overrides={
            "database_url": f"sqlite:///{root / 'bench.db'}"})
        app = create_app(settings)
        start = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
        doc = find_series(settings.issues_path, "pain-care")
        seeding = time.perf_counter()
        app.catalog.lists()
        with write_transaction(app.sessions) as session:
            series = app.catalog.mirror_series(session, doc, start)
            list_id = session.scalar(select(MailingList.id).where(
                MailingList.slug == "clinic-news"))
            issues = dict(session.execute(select(Issue.position, Issue.id).where(
                Issue.series_id == series.id)).all())
            edition_id, _ = store_edition(session, issues[1], freeze(app, doc, 1), start)
            session.execute(insert(Subscriber), [
                {"public_id": f"{n:032d}", "email": f"reader{n}@example.org",
                 "created_at": start} for n in range(args.n)])
            ids = list(session.scalars(select(Subscriber.id).order_by(Subscriber.id)))
            leave_at = {who: 1 + index % 3 for index, who in enumerate(ids) if index % 50 == 7}
            session.execute(insert(Subscription), [
                {"subscriber_id": who, "list_id": list_id,
                 "status": "unsubscribed" if who in leave_at and index % 3 else "active",
                 "created_at": start, "updated_at": start, "confirmed_at": start,
                 "unsubscribed_at": (start + timedelta(days=7 * leave_at[who], hours=9))
                 if who in leave_at and index % 3 else None,
                 "unsubscribe_method": ("one-click" if index % 2 else "page")
                 if who in leave_at and index % 3 else None}
                for index, who in enumerate(ids)])
            session.execute(insert(SeriesOptOut), [
                {"subscriber_id": who, "series_id": series.id,
                 "created_at": start + timedelta(days=7 * leave_at[who], hours=9)}
                for index, who in enumerate(ids) if who in leave_at and not index % 3])
            for position in (1, 2, 3):
                sent_on = start + timedelta(days=7 * (position - 1))
                session.execute(insert(Delivery), [
                    {"kind": "issue", "issue_id": issues[position], "subscriber_id": who,
                     "list_id": list_id, "status": "sent", "attempts": 1,
                     "queued_at": sent_on,
                     "sent_at": sent_on + timedelta(seconds=index * 21600 // len(ids)),
                     "updated_at": sent_on}
                    for index, who in enumerate(ids)
                    if who not in leave_at or leave_at[who] >= position])
            session.execute(insert(ClickLink), [
                {"edition_id": edition_id, "position": n, "clicks": 100 * n,
                 "url": f"https://clinic.example.com/reading/{n}", "created_at": start}
                for n in range(1, 6)])
        print(f"{args.n} subscribers, 3 issues, {len(leave_at)} left; "
              f"seeded in {time.perf_counter() - seeding:.1f} s")
        for label, call in (("issue results (pain-care/1)",
                             lambda: issue_results(app, "pain-care", 1)),
                            ("series comparison (pain-care)",
                             lambda: series_results(app, "pain-care"))):
            times, cpu = [], []
            for _ in range(args.r):
                began, began_cpu = time.perf_counter(), time.process_time()
                result = call()
                times.append(time.perf_counter() - began)
                cpu.append(time.process_time() - began_cpu)
            print(f"  {label:<30} median {statistics.median(times) * 1000:7.0f} ms, "
                  f"worst {max(times) * 1000:7.0f} ms; CPU median "
                  f"{statistics.median(cpu) * 1000:6.0f} ms")
        print(f"  check: issue 1 left={sum(issue_results(app, 'pain-care', 1).left.values())}, "
              f"series left={[row.unsubscribed for row in result.issues]}")  # type: ignore
        app.close()


if __name__ == "__main__":
    main()
