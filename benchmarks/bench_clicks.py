"""Benchmark: what click counting costs the send path (message composition only, no network).

The sample series' issue 1 (with five links added to it) is frozen as an
edition in a SQLite file; then N messages are composed with the production
:class:`~newsletter.delivery.compose.Composer` for each ``click_tracking``
mode of the list: ``off``, ``counts`` (links rewritten once per edition, the
fast splice path kept) and ``people`` (a reader token per message, spliced
like the other personal values).

    .venv/bin/python benchmarks/bench_clicks.py            # N = 5,000
    .venv/bin/python benchmarks/bench_clicks.py -n 20000
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LINKS = 5  # links added to the sample issue (it has none of its own)
sys.path.insert(0, str(REPO))


def main() -> None:
    from newsletter.app import create_app
    from newsletter.config import load_settings
    from newsletter.content.issuefile import find_series
    from newsletter.db.engine import write_transaction
    from newsletter.db.models import Issue
    from newsletter.delivery.claims import Claimed
    from newsletter.delivery.clicks import ClickTracker
    from newsletter.delivery.compose import Composer
    from newsletter.delivery.editions import freeze, load_compiled, store_edition

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5000, help="messages per mode")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "project"
        shutil.copytree(REPO / "issues", root / "issues")
        shutil.copytree(REPO / "subscribers", root / "subscribers")
        issue_file = next((root / "issues" / "pain-care").glob("01-*.md"))
        issue_file.write_text(issue_file.read_text(encoding="utf-8") + "".join(
            f"\n\nFurther reading {n}: [a page](https://clinic.example.com/reading/{n})."
            for n in range(1, LINKS + 1)), encoding="utf-8")
        lists = root / "subscribers" / "lists.toml"
        original = lists.read_text(encoding="utf-8")
        settings = load_settings(root, environ={}, overrides={
            "database_url": f"sqlite:///{root / 'bench.db'}",
            "base_url": "https://news.example.org"})
        app = create_app(settings)
        doc = find_series(settings.issues_path, "pain-care")
        frozen = freeze(app, doc, 1)
        now = datetime.now(UTC)
        with write_transaction(app.sessions) as session:
            series = app.catalog.mirror_series(session, doc, now)
            issue_id = session.query(Issue.id).filter(Issue.series_id == series.id,
                                                      Issue.position == 1).scalar()
            edition_id, _ = store_edition(session, issue_id, frozen, now)

        def loader(number: int) -> object:
            with app.sessions() as session:
                return load_compiled(session, number)

        row = Claimed(id=1, kind="issue", issue_id=issue_id, subscriber_id=1, list_id=1,
                      previous_status="queued", attempts=1, queued_at=now, payload=None,
                      email="reader@example.org", name="Ana Reader", public_id="p" * 32,
                      list_slug="clinic-news", list_name="Riverside Pain Clinic News",
                      series_slug="pain-care", position=1, edition_id=edition_id)
        rows = [replace(row, id=n, subscriber_id=n, email=f"reader{n}@example.org",
                        public_id=f"{n:032d}") for n in range(args.n)]
        print(f"{args.n} messages per mode, issue pain-care/1, Python {sys.version.split()[0]}")
        baseline = 0.0
        for mode in ("off", "counts", "people"):
            extra = "" if mode == "off" else f'click_tracking = "{mode}"\n'
            if mode == "people":
                extra += 'privacy_notice_url = "https://clinic.example.com/privacy"\n'
            lists.write_text(original.rstrip() + "\n" + extra, encoding="utf-8")
            composer = Composer(settings, app.renderer, app.links, signer=None,
                                editions=loader,  # type: ignore[arg-type]
                                clicks=ClickTracker(app))
            first = composer.compose(rows[0], now)  # loads and (maybe) rewrites the edition
            started = time.perf_counter()
            for claimed in rows:
                composer.compose(claimed, now)
            took = time.perf_counter() - started
            baseline = baseline or took
            fast = composer.template(rows[0]).fast
            print(f"  {mode:<7} {took * 1e6 / args.n:7.1f} µs/message  "
                  f"({took / baseline:4.2f}× off)  fast splice path: {fast}  "
                  f"one message: {len(first)} bytes  /c/ links in it: "
                  f"{_links(first)}")
        app.close()


def _links(data: bytes) -> int:
    """How many click redirects the message's HTML part holds."""
    import email
    import email.policy

    message = email.message_from_bytes(data, policy=email.policy.default)
    html = message.get_body(preferencelist=("html",))  # type: ignore[attr-defined]
    return str(html.get_content()).count("/c/") if html is not None else 0


if __name__ == "__main__":
    main()
