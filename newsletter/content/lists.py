"""The ``subscribers/lists.toml`` format: the mailing lists staff declare (read only, no database).

::

    [[list]]
    slug = "clinic-news"
    name = "Riverside Pain Clinic News"
    description = "Articles on living with chronic pain"
    double_opt_in = true
    thank_you_url = "https://clinic.example.com/thanks"   # optional
    consent_text = "Yes, email me ..."                     # shown beside the form
    time_zone = "Europe/Berlin"                            # optional: new series' zone
    click_tracking = "counts"      # optional: "off" (default), "counts" or "people"
    privacy_notice_url = "https://clinic.example.com/privacy"  # required for "people"

:mod:`newsletter.catalog` mirrors the declared lists into the database.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from newsletter.clock import find_zone
from newsletter.errors import ContentError

LISTS_FILE = "lists.toml"
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
CLICK_MODES = ("off", "counts", "people")
DEFAULT_CONSENT = (
    "I agree to receive this newsletter by email. I can unsubscribe at any time "
    "with the link at the foot of every message."
)


def consent_text_hash(text: str) -> str:
    """The sha256 hex of a consent text: the version the form showed (kept in consent records)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ListConfig:
    """One list as declared in ``lists.toml``."""

    slug: str
    name: str
    description: str = ""
    double_opt_in: bool = True
    thank_you_url: str | None = None
    consent_text: str = DEFAULT_CONSENT
    time_zone: str | None = None  # the zone new series of this list start in
    # Links in issues rewritten to our counting redirect: "off", "counts" (per link,
    # nobody named) or "people" (also who clicked; needs ``privacy_notice_url``).
    click_tracking: str = "off"
    privacy_notice_url: str | None = None


def read_lists(folder: Path) -> list[ListConfig]:
    """Read ``lists.toml`` in ``folder``; errors name the file and the entry."""
    path = folder / LISTS_FILE
    if not path.exists():
        return []
    return parse_lists(path.read_text(encoding="utf-8"), path)


def parse_lists(text: str, path: Path) -> list[ListConfig]:
    """The lists declared in ``text`` (the contents of ``path``, named in errors)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ContentError(f"{path}: not valid TOML: {err}") from err
    configs: list[ListConfig] = []
    for index, entry in enumerate(raw.get("list", []), start=1):
        where = f"{path}: list #{index}"
        slug = entry.get("slug")
        if not isinstance(slug, str) or not SLUG_RE.match(slug):
            raise ContentError(f"{where}: slug {slug!r} must be lowercase letters, digits, '-'")
        if not isinstance(entry.get("name"), str) or not entry["name"]:
            raise ContentError(f"{where} ({slug}): 'name' is missing")
        url = entry.get("thank_you_url")
        if url is not None and not str(url).startswith(("https://", "http://")):
            raise ContentError(f"{where} ({slug}): thank_you_url {url!r} is not an http(s) URL")
        zone_name = entry.get("time_zone")
        if zone_name is not None and (not isinstance(zone_name, str) or find_zone(zone_name)
                                      is None):
            raise ContentError(
                f"{where} ({slug}): time_zone {zone_name!r} is not a known IANA time zone "
                "(e.g. Europe/Berlin)")
        tracking, notice = _click_settings(entry, f"{where} ({slug})")
        configs.append(
            ListConfig(
                slug=slug,
                name=entry["name"],
                description=str(entry.get("description", "")),
                double_opt_in=bool(entry.get("double_opt_in", True)),
                thank_you_url=url,
                consent_text=str(entry.get("consent_text", DEFAULT_CONSENT)),
                time_zone=zone_name,
                click_tracking=tracking,
                privacy_notice_url=notice,
            )
        )
    slugs = [c.slug for c in configs]
    duplicates = {s for s in slugs if slugs.count(s) > 1}
    if duplicates:
        raise ContentError(f"{path}: list {sorted(duplicates)[0]!r} is declared twice")
    return configs



def _click_settings(entry: dict[str, object], where: str) -> tuple[str, str | None]:
    """``click_tracking`` and ``privacy_notice_url``; "people" without a notice is refused."""
    tracking = entry.get("click_tracking", "off")
    if tracking not in CLICK_MODES:
        raise ContentError(f"{where}: click_tracking {tracking!r} must be one of "
                           + ", ".join(repr(mode) for mode in CLICK_MODES))
    notice = entry.get("privacy_notice_url")
    if notice is not None and (not isinstance(notice, str)
                               or not notice.startswith(("https://", "http://"))):
        raise ContentError(f"{where}: privacy_notice_url {notice!r} is not an http(s) URL")
    if tracking == "people" and notice is None:
        raise ContentError(
            f"{where}: click_tracking = \"people\" records who clicked, so the list needs "
            "privacy_notice_url: the page of your privacy notice that says so "
            "(or use click_tracking = \"counts\", which names nobody)")
    return str(tracking), notice


def click_modes(folder: Path) -> dict[str, str]:
    """Each declared list's click tracking mode, by slug (lists not declared: "off")."""
    return {config.slug: config.click_tracking for config in read_lists(folder)}
