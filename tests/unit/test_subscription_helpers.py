"""Pure helpers of the signup: rate limiter, CSV formula guard, form snippet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

from newsletter.audience.csv_files import guard, unguard
from newsletter.audience.form import FormFields, form_snippet
from newsletter.content.lists import ListConfig
from newsletter.web.limits import SignupLimiter

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def test_the_rate_limiter_allows_the_limit_then_says_how_long_to_wait() -> None:
    limiter = SignupLimiter(3, timedelta(minutes=10))
    assert [limiter.hit("1.2.3.4", T0 + timedelta(seconds=n)) for n in range(3)] == [None] * 3
    assert limiter.hit("1.2.3.4", T0 + timedelta(seconds=5)) == 595
    assert limiter.hit("5.6.7.8", T0 + timedelta(seconds=5)) is None
    assert limiter.hit("1.2.3.4", T0 + timedelta(minutes=10, seconds=1)) is None


def test_a_limit_of_zero_turns_the_limiter_off() -> None:
    limiter = SignupLimiter(0, timedelta(minutes=1))
    assert all(limiter.hit("x", T0) is None for _ in range(1000))


def test_the_limiter_forgets_idle_keys_under_a_flood_of_addresses() -> None:
    limiter = SignupLimiter(1, timedelta(seconds=10), max_keys=100)
    for n in range(1000):
        limiter.hit(f"10.0.{n // 256}.{n % 256}", T0 + timedelta(seconds=n * 11))
    assert len(limiter._hits) <= 100


def test_the_csv_guard_neutralises_formula_cells_and_import_undoes_it() -> None:
    for cell in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert guard(cell).startswith("'")
    assert guard("ana@example.com") == "ana@example.com"
    assert guard(None) == ""
    assert unguard(guard("=1+1")) == "=1+1"
    assert unguard("'plain") == "'plain"


class _Fields(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inputs: dict[str, dict[str, str | None]] = {}
        self.forms: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "input":
            data = dict(attrs)
            self.inputs[str(data["name"])] = data
        if tag == "form":
            self.forms.append(dict(attrs))


def test_the_snippet_escapes_list_values_and_posts_to_the_base_url() -> None:
    config = ListConfig(slug="news", name='Clinic "News" <b>', consent_text="Yes & <ok>")
    html = form_snippet("https://news.example.org", config, script=False)
    parsed = _Fields()
    parsed.feed(html)
    [form] = parsed.forms
    assert form["action"] == "https://news.example.org/subscribe"
    assert form["method"] == "post"
    assert parsed.inputs["email"]["type"] == "email"
    assert parsed.inputs["website"]["tabindex"] == "-1"
    assert "Yes &amp; &lt;ok&gt;" in html
    assert "<b>" not in html


def test_the_snippet_has_only_the_fields_staff_chose() -> None:
    config = ListConfig(slug="news", name="Clinic News", consent_text="Yes")
    parsed = _Fields()
    parsed.feed(form_snippet("https://news.example.org", config,
                             fields=FormFields(name=False, time_zone=False)))
    assert set(parsed.inputs) == {"list", "consent", "form", "page", "email", "website"}
    everything = _Fields()
    html = form_snippet("https://news.example.org", config)
    everything.feed(html)
    assert {"name", "time_zone"} <= set(everything.inputs)
    assert "resolvedOptions().timeZone" in html
    without_zone = form_snippet("https://news.example.org", config,
                                fields=FormFields(name=True, time_zone=False))
    assert "resolvedOptions" not in without_zone
    assert "<script>" in without_zone
