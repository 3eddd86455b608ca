"""Render a sample issue and photograph it in Chromium at desktop and phone widths.

Run from the repository root:

    .venv/bin/python docs/screenshots/make_screenshots.py

Writes docs/screenshots/email-issue-desktop.png (800 px wide) and
email-issue-mobile.png (375 px wide): issue 2 of the sample series in
issues/pain-care/, as subscriber "Ada Example" receives it. Uses Debian's
/usr/bin/chromium through Playwright (no browser download).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from newsletter.config import load_settings  # noqa: E402
from newsletter.content.issuefile import read_series  # noqa: E402
from newsletter.render import PersonalFields, Renderer  # noqa: E402

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
SHOTS = {"desktop": 800, "mobile": 375}


def render_sample(out: Path, series: str = "pain-care", position: int = 2) -> Path:
    """Write the sample issue's HTML for Ada Example to ``out`` and return it."""
    settings = load_settings(REPO, environ={}, overrides={
        "secret_keys": ["screenshot-key"], "base_url": "https://news.clinic.example.com",
    })
    doc = read_series(settings.issues_path / series)
    rendered = Renderer(settings).compile_issue(doc, position).personalize(
        PersonalFields(
            email="ada@example.com",
            name="Ada",
            unsubscribe_url="https://news.clinic.example.com/unsubscribe/sample",
        )
    )
    out.write_text(rendered.html, encoding="utf-8")
    return out


def main() -> None:
    """Render and photograph; print the paths written."""
    with tempfile.TemporaryDirectory() as folder:
        page_path = render_sample(Path(folder) / "issue.html")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
            )
            try:
                for name, width in SHOTS.items():
                    page = browser.new_page(viewport={"width": width, "height": 900})
                    page.goto(page_path.as_uri())
                    target = REPO / "docs" / "screenshots" / f"email-issue-{name}.png"
                    page.screenshot(path=str(target), full_page=True)
                    page.close()
                    print(target.relative_to(REPO))
            finally:
                browser.close()


if __name__ == "__main__":
    main()
