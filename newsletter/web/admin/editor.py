"""The issue editor: fields, a live preview as a subscriber gets it, and a save that never clobbers.

* ``GET /admin/series/<slug>/issues/<n>``: the form (title, subject, preheader,
  Markdown body, the other front matter as YAML) with the file's hash, and the
  preview: the email at desktop and phone widths side by side (two iframes)
  plus its plain-text part. Viewers see the same page read-only.
* ``POST`` to the same address with ``action=preview`` (the button, no
  JavaScript needed) shows the page again for the draft; with ``action=save``
  checks the draft (front matter at the line, the template by rendering it),
  then saves through :func:`newsletter.content.issue_edit.save_draft`: refused
  when the file changed since the form was loaded, with both versions shown.
* ``POST …/preview`` answers htmx with the preview panel only, as staff type.
* ``GET /admin/preview/<key>``: the rendered email for an iframe, with its own
  CSP (inline styles allowed, no scripts, framed by us only). A preview is
  kept in memory for the staff member who asked, the newest
  :data:`PREVIEWS_KEPT` of them; it holds the sample subscriber only.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from newsletter.accounts.roles import Role, allows
from newsletter.app import App
from newsletter.content.importer import check_series_slug
from newsletter.content.issue_edit import (
    Draft,
    DraftError,
    EditConflictError,
    LoadedIssue,
    check_draft,
    draft_text,
    load_issue,
    save_draft,
)
from newsletter.content.issuefile import SeriesDoc, find_series
from newsletter.errors import NewsletterError, RenderError
from newsletter.render.errors import excerpt
from newsletter.render.site import render_for_sample
from newsletter.schedule import series_admin
from newsletter.web.admin.deps import FormFields, Staff, ViewerStaff, audit
from newsletter.web.admin.render import NO_STORE, flash, page

PREVIEWS_KEPT = 200
FRAME_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src * data:; "
             "frame-ancestors 'self'; base-uri 'none'; form-action 'none'")
FIELDS = ("title", "subject", "preheader", "body", "extra")


@dataclass
class Preview:
    """What the preview panel shows for one draft: the email, or the problems at their lines."""

    key: str = ""
    subject: str = ""
    text: str = ""
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Problem:
    """A problem to fix before saving: where (form field or template file), which line, why."""

    where: str
    message: str
    line: int | None = None
    lines: tuple[tuple[int, str], ...] = ()
    field: str = ""


class PreviewStore:
    """The newest rendered previews by key, each for the staff member who asked for it."""

    def __init__(self, size: int = PREVIEWS_KEPT) -> None:
        self._size = size
        self._items: OrderedDict[str, tuple[int, str]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, staff_id: int, html: str) -> str:
        key = hashlib.sha256(f"{staff_id}\n{html}".encode()).hexdigest()[:40]
        with self._lock:
            self._items[key] = (staff_id, html)
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return key

    def get(self, staff_id: int, key: str) -> str | None:
        with self._lock:
            found = self._items.get(key)
        return found[1] if found is not None and found[0] == staff_id else None


def _draft_from(form: dict[str, str]) -> Draft:
    return Draft(*(form.get(name, "") for name in FIELDS))


def _field_lines(text: str, line: int | None) -> tuple[tuple[int, str], ...]:
    if not line:
        return ()
    rows = text.splitlines()
    first = max(1, line - 2)
    return tuple((n, rows[n - 1]) for n in range(first, min(len(rows), line + 2) + 1))


def editor_router(app: App) -> APIRouter:
    """The editor pages, the htmx preview panel and the preview frames."""
    router = APIRouter()
    store = PreviewStore()

    def load(slug: str, position: int) -> tuple[SeriesDoc, LoadedIssue]:
        check_series_slug(slug)
        doc = find_series(app.settings.issues_path, slug)
        return doc, load_issue(doc.issue(position).path)

    def preview(staff: Staff, doc: SeriesDoc, loaded: LoadedIssue, draft: Draft) -> Preview:
        path = loaded.doc.path
        try:
            issue = check_draft(draft, loaded.doc.position, path)
        except DraftError as err:
            where = {"extra": "Other front matter"}.get(err.field, err.field.capitalize())
            text = getattr(draft, err.field, "") if err.field in FIELDS else ""
            return Preview(problems=[Problem(where, str(err), err.line,
                                             _field_lines(text, err.line), err.field)])
        try:
            rendered = render_for_sample(app.renderer, app.links, doc, issue)
        except RenderError as err:
            lines = tuple(excerpt(err, app.settings.root))
            return Preview(problems=[Problem(err.template or "template", str(err), err.line,
                                             lines)])
        except NewsletterError as err:
            return Preview(problems=[Problem("series", str(err))])
        return Preview(store.put(staff.id, rendered.html), rendered.subject, rendered.text)

    def editor_page(request: Request, staff: Staff, doc: SeriesDoc, loaded: LoadedIssue,
                    draft: Draft, shown: Preview, *, loaded_hash: str | None = None,
                    conflict: EditConflictError | None = None, status: int = 200) -> Response:
        errors = {p.field: p for p in shown.problems if p.field}
        mine = ""
        if conflict is not None:
            try:
                mine = draft_text(draft, loaded.doc.position, loaded.doc.path)
            except DraftError:
                mine = draft.body
        return page(request, "issue_editor.html", {
            "doc": doc, "issue": loaded.doc, "draft": draft,
            "loaded_hash": loaded_hash or loaded.hash, "preview": shown, "errors": errors,
            "can_edit": allows(staff.role, Role.EDITOR), "conflict": conflict, "mine": mine,
            "pinned": series_admin.pinned_issues(app, doc.config.slug).get(loaded.doc.position),
            "nav_active": "series",
        }, status=status)

    def missing(request: Request, err: NewsletterError) -> Response:
        return page(request, "not_found.html", {"message": str(err)}, status=404)

    base = "/series/{slug}/issues/{position}"

    @router.get(base)
    def edit(request: Request, slug: str, position: int, staff: ViewerStaff) -> Response:
        try:
            doc, loaded = load(slug, position)
        except NewsletterError as err:
            return missing(request, err)
        shown = preview(staff, doc, loaded, loaded.draft)
        return editor_page(request, staff, doc, loaded, loaded.draft, shown)

    @router.post(base)
    def submit(request: Request, slug: str, position: int, form: FormFields,
               staff: ViewerStaff) -> Response:
        try:
            doc, loaded = load(slug, position)
        except NewsletterError as err:
            return missing(request, err)
        draft = _draft_from(form)
        seen = form.get("loaded_hash", "")
        shown = preview(staff, doc, loaded, draft)
        if form.get("action") != "save":
            return editor_page(request, staff, doc, loaded, draft, shown, loaded_hash=seen)
        if not allows(staff.role, Role.EDITOR):
            return page(request, "forbidden.html", {"need": str(Role.EDITOR)}, status=403)
        if not shown.ok:  # front matter or template problems: nothing is saved
            return editor_page(request, staff, doc, loaded, draft, shown, loaded_hash=seen,
                               status=422)
        try:
            saved = save_draft(loaded.doc.path, draft, seen)
        except EditConflictError as err:
            return editor_page(request, staff, doc, loaded, draft, shown, loaded_hash=seen,
                               conflict=err, status=409)
        except NewsletterError as err:
            shown.problems.append(Problem("file", str(err)))
            return editor_page(request, staff, doc, loaded, draft, shown, loaded_hash=seen,
                               status=422)
        if saved.written:
            audit(request, staff, "issue.edit", f"{slug} #{position}",
                  f"{loaded.doc.path.name} saved (sha256 {saved.hash[:12]})")
            flash(request, f"Saved issue {position}, '{saved.doc.title}'.")
        else:
            flash(request, "Nothing to save: the issue already says that.", "info")
        return RedirectResponse(f"/admin/series/{slug}/issues/{position}", status_code=303)

    @router.post(base + "/preview")
    def live_preview(request: Request, slug: str, position: int, form: FormFields,
                     staff: ViewerStaff) -> Response:
        try:
            doc, loaded = load(slug, position)
        except NewsletterError as err:
            return HTMLResponse(f"<p>{err}</p>", status_code=404)
        shown = preview(staff, doc, loaded, _draft_from(form))
        # Only the panel (no page around it, and no flash messages taken by the way).
        html = app.pages.render("admin/_issue_preview.html", {
            "preview": shown, "doc": doc, "issue": loaded.doc})
        return HTMLResponse(html, headers=NO_STORE)

    @router.get("/preview/{key}")
    def frame(key: str, staff: ViewerStaff) -> Response:
        html = store.get(staff.id, key)
        headers = {"Content-Security-Policy": FRAME_CSP, "X-Frame-Options": "SAMEORIGIN",
                   **NO_STORE}
        if html is None:
            return HTMLResponse("<!doctype html><p>This preview has expired: press Preview "
                                "again.</p>", status_code=404, headers=headers)
        return HTMLResponse(html, headers=headers)

    return router
