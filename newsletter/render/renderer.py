"""The Renderer: issue files and templates → CompiledEmail (once per issue), archive HTML.

Jinja2 renders the MJML and text templates with the issue's context; MJML
(mjml-python) compiles the HTML once; subscriber values are placeholders that
:class:`~newsletter.render.compiled.CompiledEmail` fills per subscriber. Every
failure becomes a RenderError naming the template (or issue file) and line, so
it shows at preview time, never at send time.
"""

from __future__ import annotations

import html
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Iterator, Mapping
from email.utils import parseaddr
from pathlib import Path
from typing import Any

import mjml
from jinja2 import Environment, TemplateError, meta
from markupsafe import Markup

from newsletter.config import Settings
from newsletter.content.issuefile import SeriesDoc, sha256_text
from newsletter.content.lists import read_lists
from newsletter.errors import RenderError
from newsletter.render.compiled import (
    DEFAULT_GREETING,
    DEFAULT_GREETING_ANONYMOUS,
    CompiledEmail,
    Greeting,
    Markers,
)
from newsletter.render.errors import display_path, from_jinja, from_mjml
from newsletter.render.markdown import markdown_to_html
from newsletter.render.plaintext import markdown_to_text
from newsletter.render.templates import (
    PACKAGE_TEMPLATES,
    PROJECT_TEMPLATES,
    build_environment,
    series_template_folder,
)

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
DEFAULT_ISSUE_TEMPLATE = "issue"


def archive_url(base_url: str, series: str, position: int | None = None) -> str:
    """The public web address of a series, or of one of its issues."""
    return f"{base_url}/archive/{series}" + (f"/{position}" if position is not None else "")


class FrontMatter(dict[str, Any]):
    """An issue's front matter in the template context (named in missing-field errors)."""


class Renderer:
    """Renders issues and transactional emails from templates; caches compiled issues."""

    def __init__(self, settings: Settings, *, cache_size: int = 256) -> None:
        self._settings = settings
        self._cache_size = cache_size
        self._envs: dict[Path, tuple[str, Environment]] = {}
        self._compiled: OrderedDict[Hashable, CompiledEmail] = OrderedDict()
        self._archives: OrderedDict[Hashable, str] = OrderedDict()
        self._lock = threading.Lock()

    # -- public API -----------------------------------------------------------------------

    def compile_issue(self, series: SeriesDoc, position: int) -> CompiledEmail:
        """Render and compile issue ``position`` of ``series`` once; cached by content."""
        issue = series.issue(position)
        key = (series.config.slug, position, issue.content_hash, self._fingerprint(series))
        cached: CompiledEmail | None = self._cached(self._compiled, key)
        if cached is not None:
            return cached
        env = self.environment(series)
        base = self._template_base(series)
        markers = Markers()
        context = self._issue_context(series, position, markers.placeholders(), archive=False)
        what = display_path(str(issue.path), self._settings.root)
        compiled = self._compile(
            env, base, context, markers, subject=issue.subject, preheader=issue.preheader,
            greeting=self._greeting(series), what=what,
        )
        self._check_required(compiled, env, base, context["postal_address"])
        self._store(self._compiled, key, compiled)
        return compiled

    def compile_email(self, name: str, context: Mapping[str, Any]) -> CompiledEmail:
        """Compile ``email/<name>.mjml.j2`` + ``.txt.j2`` (transactional); subject from context."""
        if not NAME_RE.match(name):
            raise RenderError(f"email template name {name!r} must be lowercase letters, digits, -")
        subject = context.get("subject")
        if not isinstance(subject, str) or not subject:
            raise RenderError(f"email/{name}: the context has no 'subject'",
                              template=f"email/{name}.mjml.j2")
        markers = Markers()
        full: dict[str, Any] = {
            **self._common(),
            "title": subject,
            "preheader": "",
            **context,
            "subscriber": markers.placeholders(),
            "archive": False,
        }
        return self._compile(
            self.environment(None), f"email/{name}", full, markers, subject=subject,
            preheader=str(full["preheader"]), greeting=Greeting(), what="",
        )

    def archive_html(self, series: SeriesDoc, position: int) -> str:
        """The public web version of an issue: no subscriber data, no unsubscribe link."""
        issue = series.issue(position)
        key = (series.config.slug, position, issue.content_hash, self._fingerprint(series))
        hit: str | None = self._cached(self._archives, key)
        if hit is not None:
            return hit
        env = self.environment(series)
        name = self._template_base(series) + ".mjml.j2"
        # No placeholders at all: a template that shows subscriber data in the
        # archive version fails here (StrictUndefined) instead of leaking markers.
        context = self._issue_context(series, position, {}, archive=True)
        what = display_path(str(issue.path), self._settings.root)
        source = self._render(env, name, context, what)
        result = self._mjml(source, env, name)
        self._store(self._archives, key, result)
        return result

    def environment(self, series: SeriesDoc | None) -> Environment:
        """The Jinja environment for ``series``: its templates, the project's, the package's."""
        folders = self._template_folders(series)
        stamp = self._template_stamp(series)
        with self._lock:
            known = self._envs.get(folders[0])
            if known is not None and known[0] == stamp:
                return known[1]
            # A template was added or removed: Jinja's own cache would keep serving
            # the template it found first, so start a fresh environment.
            env = build_environment(folders[:-1])
            self._envs[folders[0]] = (stamp, env)
            return env

    # -- context --------------------------------------------------------------------------

    def _common(self) -> dict[str, Any]:
        settings = self._settings
        return {
            "org_name": settings.org_name,
            "postal_address": settings.postal_address,
            "base_url": settings.base_url,
        }

    def _list_name(self, slug: str) -> str:
        for config in read_lists(self._settings.subscribers_path):
            if config.slug == slug:
                return config.name
        return slug

    def _issue_context(
        self, series: SeriesDoc, position: int, subscriber: Mapping[str, Any], *, archive: bool
    ) -> dict[str, Any]:
        base_url = self._settings.base_url
        slug = series.config.slug
        issue = series.issue(position)
        index = series.issues.index(issue)

        def neighbour(offset: int) -> dict[str, Any] | None:
            at = index + offset
            if not 0 <= at < len(series.issues):
                return None
            other = series.issues[at]
            return {"title": other.title, "position": other.position,
                    "url": archive_url(base_url, slug, other.position)}

        common = self._common()
        if series.config.sender:
            common["org_name"] = parseaddr(series.config.sender)[0] or common["org_name"]
        signup = series.config.raw.get("signup_url")
        return {
            **common,
            "title": issue.subject,
            "preheader": issue.preheader,
            "series": {
                "slug": slug,
                "title": series.config.title,
                "list": series.config.list,
                "list_name": self._list_name(series.config.list),
                "issue_count": len(series.issues),
                "url": archive_url(base_url, slug),
            },
            # Front matter as a dict: a template asking for a key the file lacks
            # fails with StrictUndefined, naming the template line.
            "issue": FrontMatter({
                **issue.extra,
                "title": issue.title,
                "subject": issue.subject,
                "preheader": issue.preheader,
                "position": issue.position,
                "slug": issue.slug,
            }),
            # markdown_to_html escapes raw HTML, so its output is safe to embed.
            "body_html": Markup(markdown_to_html(issue.body)),  # noqa: S704
            "body_text": markdown_to_text(issue.body),
            "prev_issue": neighbour(-1),
            "next_issue": neighbour(+1),
            "view_url": archive_url(base_url, slug, position),
            "signup_url": str(signup) if signup else None,
            "subscriber": subscriber,
            "archive": archive,
        }

    def _template_base(self, series: SeriesDoc) -> str:
        name = series.config.template or DEFAULT_ISSUE_TEMPLATE
        name = name.removesuffix(".mjml.j2").removeprefix("email/")
        if not NAME_RE.match(name):
            raise RenderError(
                f"{series.path / 'series.toml'}: template {name!r} must be a name like 'issue' "
                "(found as email/<name>.mjml.j2 and email/<name>.txt.j2)"
            )
        return f"email/{name}"

    @staticmethod
    def _greeting(series: SeriesDoc) -> Greeting:
        raw = series.config.raw
        named = raw.get("greeting")
        anonymous = raw.get("greeting_anonymous")
        try:
            return Greeting(
                named=str(named) if named else DEFAULT_GREETING,
                anonymous=str(anonymous) if anonymous else DEFAULT_GREETING_ANONYMOUS,
            )
        except RenderError as err:
            raise RenderError(f"{series.path / 'series.toml'}: {err}") from err

    def _fingerprint(self, series: SeriesDoc) -> str:
        # Neighbour titles, the issue count and series.toml all show in an issue, and
        # an edited template must not be served from the cache by a long-running process.
        parts = [repr(sorted(series.config.raw.items()))]
        parts += [f"{d.position}:{d.content_hash}" for d in series.issues]
        parts.append(self._template_stamp(series))
        return sha256_text("\n".join(parts))

    def _template_folders(self, series: SeriesDoc | None) -> list[Path]:
        own = [series_template_folder(series.path)] if series is not None else []
        return [*own, self._settings.root / PROJECT_TEMPLATES, PACKAGE_TEMPLATES]

    def _template_stamp(self, series: SeriesDoc | None) -> str:
        # Every template file and its modification time: a file added, removed or
        # edited changes the stamp (a few stat calls, no reading).
        stamps = sorted(_file_stamps(self._template_folders(series)))
        return sha256_text(repr(stamps))

    # -- compile --------------------------------------------------------------------------

    def _compile(
        self,
        env: Environment,
        base: str,
        context: Mapping[str, Any],
        markers: Markers,
        *,
        subject: str,
        preheader: str,
        greeting: Greeting,
        what: str,
    ) -> CompiledEmail:
        html_name, text_name = f"{base}.mjml.j2", f"{base}.txt.j2"
        source = self._render(env, html_name, context, what)
        compiled_html = self._mjml(source, env, html_name)
        text = self._render(env, text_name, context, what)
        return CompiledEmail(
            subject=subject,
            preheader=preheader,
            html_segments=markers.split(compiled_html, html_name),
            text_segments=markers.split(text, text_name),
            greeting=greeting,
        )

    def _render(self, env: Environment, name: str, context: Mapping[str, Any], what: str) -> str:
        try:
            return env.get_template(name).render(context)
        except Exception as err:  # any failure inside a template is the template's
            raise from_jinja(err, env, name, self._settings.root, what) from err

    def _mjml(self, source: str, env: Environment, name: str) -> str:
        try:
            # fonts={}: no remote font links (MJML adds Google Fonts for Roboto and others).
            return str(mjml.mjml2html(source, fonts={}))
        except Exception as err:  # mjml-python raises ValueError (and may raise others)
            raise from_mjml(err, source, env, _template_chain(env, name),
                            self._settings.root) from err

    def _check_required(
        self, compiled: CompiledEmail, env: Environment, base: str, postal_address: str
    ) -> None:
        # RELIABILITY #9: every issue shows an unsubscribe link and the postal address,
        # in both parts. A series template that drops them fails at preview time.
        for part, (has_link, literal, address) in {
            f"{base}.mjml.j2": (compiled.uses("unsubscribe_url")[0], compiled.literal_html(),
                               html.escape(postal_address, quote=False)),
            f"{base}.txt.j2": (compiled.uses("unsubscribe_url")[1], compiled.literal_text(),
                              postal_address),
        }.items():
            where = display_path(env.get_template(part).filename, self._settings.root)
            if not has_link:
                raise RenderError(
                    f"{where}: shows no unsubscribe link ({{{{ subscriber.unsubscribe_url }}}})",
                    template=where,
                )
            if address not in literal:
                raise RenderError(f"{where}: does not show the postal address "
                                  "({{ postal_address }})", template=where)

    # -- cache ----------------------------------------------------------------------------

    def _cached(self, cache: OrderedDict[Hashable, Any], key: Hashable) -> Any:
        with self._lock:
            value = cache.get(key)
            if value is not None:
                cache.move_to_end(key)
            return value

    def _store(self, cache: OrderedDict[Hashable, Any], key: Hashable, value: Any) -> None:
        with self._lock:
            cache[key] = value
            while len(cache) > self._cache_size:
                cache.popitem(last=False)


def _template_chain(env: Environment, name: str) -> list[str]:
    """``name`` and every template it extends or includes, for locating MJML errors."""
    chain: list[str] = []
    pending = [name]
    while pending:
        current = pending.pop(0)
        if current in chain or env.loader is None:
            continue
        chain.append(current)
        try:
            source = env.loader.get_source(env, current)[0]
            pending += [ref for ref in meta.find_referenced_templates(env.parse(source)) if ref]
        except TemplateError:
            continue
    return chain


def _file_stamps(folders: Iterable[Path]) -> Iterator[tuple[str, int]]:
    """(path, modification time) of every file under ``folders`` that exist."""
    pending = [str(folder) for folder in folders]
    while pending:
        try:
            entries = list(os.scandir(pending.pop()))
        except OSError:  # a folder that does not exist has nothing to stamp
            continue
        for entry in entries:
            if entry.is_dir():
                pending.append(entry.path)
            else:
                yield entry.path, entry.stat().st_mtime_ns
