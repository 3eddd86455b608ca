"""Series rules and catalogue sync for the scheduler: read ``issues/`` once per tick."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from newsletter.app import App
from newsletter.catalog import sync_series
from newsletter.content.issuefile import SeriesDoc, list_series, read_series
from newsletter.db.engine import write_transaction
from newsletter.errors import NewsletterError
from newsletter.schedule.calendar import zone
from newsletter.schedule.rules import SeriesRules, rules_from_raw


@dataclass
class Catalogue:
    """The series folders as read this tick: rules per slug and problems met."""

    docs: dict[str, SeriesDoc] = field(default_factory=dict)
    rules: dict[str, SeriesRules] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def rules_for(self, slug: str, default_zone: str) -> SeriesRules:
        """The series' rules, or plain broadcast rules when its folder is gone or broken."""
        found = self.rules.get(slug)
        return found if found is not None else SeriesRules("broadcast", zone(default_zone))


def series_rules(app: App, doc: SeriesDoc) -> SeriesRules:
    """The scheduling rules of one series folder (series.toml keys, validated)."""
    return rules_from_raw(
        doc.config.raw,
        default_zone=app.settings.time_zone,
        where=doc.path / "series.toml",
    )


def load_catalogue(app: App, now: datetime, *, sync: bool = True) -> Catalogue:
    """Read every series folder; with ``sync``, mirror each into the database (own transaction).

    A broken folder is reported in ``problems`` and skipped: one bad file must
    not stop every other series.
    """
    catalogue = Catalogue()
    for slug in list_series(app.settings.issues_path):
        try:
            doc = read_series(app.settings.issues_path / slug)
            rules = series_rules(app, doc)
            if sync:
                with write_transaction(app.sessions) as session:
                    sync_series(session, doc, now)
        except NewsletterError as err:
            catalogue.problems.append(str(err))
            continue
        catalogue.docs[slug] = doc
        catalogue.rules[slug] = rules
    return catalogue
