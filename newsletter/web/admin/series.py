"""``/admin/series``: the series list, one series' issues, and adding, deleting, moving issues.

Reading needs a viewer; every change needs an editor, is audited, and goes
through :mod:`newsletter.schedule.series_admin` (the rules on sent and
scheduled issues live in :mod:`newsletter.content.series_edit`). Each change
form carries the series' fingerprint as the page showed it, so a page left
open while someone else changed the folder cannot act on a stale picture.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from newsletter.app import App
from newsletter.content.importer import check_series_slug
from newsletter.content.issue_edit import read_text
from newsletter.content.issuefile import find_series, issue_paths
from newsletter.content.series_edit import fingerprint
from newsletter.errors import ContentError, NewsletterError, NotFoundError
from newsletter.schedule import series_admin
from newsletter.web.admin.deps import EditorStaff, FormFields, ViewerStaff, audit
from newsletter.web.admin.editor import editor_router
from newsletter.web.admin.importing import import_router
from newsletter.web.admin.render import flash, page
from newsletter.web.admin.repair import around, repair_router


def series_router(app: App) -> APIRouter:
    """The series pages, the import pages and the issue editor."""
    router = APIRouter()
    router.include_router(import_router(app))

    def back(slug: str) -> Response:
        return RedirectResponse(f"/admin/series/{slug}", status_code=303)

    def number(form: dict[str, str], key: str) -> int | None:
        value = form.get(key, "").strip()
        return int(value) if value.isdigit() else None

    @router.get("/series")
    def series_list(request: Request, staff: ViewerStaff) -> Response:
        overview = series_admin.series_overview(app)
        return page(request, "series_list.html", {"overview": overview})

    @router.get("/series/{slug}")
    def series_page(request: Request, slug: str, staff: ViewerStaff) -> Response:
        try:
            check_series_slug(slug)
            doc = find_series(app.settings.issues_path, slug)
        except NotFoundError as err:
            return page(request, "not_found.html", {"message": str(err)}, status=404)
        except NewsletterError as err:
            return broken_page(request, slug, err)
        states = series_admin.issue_states(app, slug)
        summary = next((s for s in series_admin.series_overview(app).series if s.slug == slug),
                       None)
        return page(request, "series.html", {
            "doc": doc, "summary": summary, "states": states, "seen": fingerprint(doc),
            "subjects": {d.position: doc.subject_line(d) for d in doc.issues},
            "nav_active": "series",
        })

    def broken_page(request: Request, slug: str, err: NewsletterError) -> Response:
        folder = app.settings.issues_path / slug
        names = [p.name for p in issue_paths(folder) if p.name in str(err)]
        lines: list[tuple[int, str]] = []
        line = err.line if isinstance(err, ContentError) else None
        if names and line:
            lines = around(read_text(folder / names[0])[0], line)
        return page(request, "series_broken.html", {
            "slug": slug, "message": str(err), "files": names, "line": line, "lines": lines,
            "nav_active": "series",
        }, status=422)

    @router.post("/series/{slug}/issues/add")
    def add(request: Request, slug: str, form: FormFields, staff: EditorStaff) -> Response:
        title = " ".join(form.get("title", "").split())
        try:
            done = series_admin.add_issue(app, slug, form.get("seen", ""), title,
                                          number(form, "at"))
        except (NewsletterError, NotFoundError) as err:
            flash(request, str(err), "error")
            return back(slug)
        audit(request, staff, "issue.add", slug, f"{title!r} as {', '.join(done.written)}")
        flash(request, f"Added the issue '{title}'. Write it, then preview and save.")
        return back(slug)

    @router.post("/series/{slug}/issues/{position}/move")
    def move(request: Request, slug: str, position: int, form: FormFields,
             staff: EditorStaff) -> Response:
        to = number(form, "to")
        try:
            if to is None:
                raise NotFoundError("say where the issue goes")
            done = series_admin.move_issue(app, slug, form.get("seen", ""), position, to)
        except NewsletterError as err:
            flash(request, str(err), "error")
            return back(slug)
        audit(request, staff, "issue.move", f"{slug} #{position}",
              f"to {to}; files {', '.join(done.written)}")
        flash(request, f"Moved issue {position} to position {to}.")
        return back(slug)

    @router.get("/series/{slug}/issues/{position}/delete")
    def confirm_delete(request: Request, slug: str, position: int,
                       staff: EditorStaff) -> Response:
        try:
            doc = find_series(app.settings.issues_path, slug)
            issue = doc.issue(position)
        except NewsletterError as err:
            return page(request, "not_found.html", {"message": str(err)}, status=404)
        reason = series_admin.pinned_issues(app, slug).get(position)
        return page(request, "issue_delete.html", {
            "doc": doc, "issue": issue, "seen": fingerprint(doc), "reason": reason,
            "nav_active": "series",
        })

    @router.post("/series/{slug}/issues/{position}/delete")
    def delete(request: Request, slug: str, position: int, form: FormFields,
               staff: EditorStaff) -> Response:
        try:
            done = series_admin.delete_issue(app, slug, form.get("seen", ""), position)
        except NewsletterError as err:
            flash(request, str(err), "error")
            return back(slug)
        kept = ", ".join(_shown(p, app.settings.root) for p in done.backups)
        audit(request, staff, "issue.delete", f"{slug} #{position}",
              f"removed {', '.join(done.removed)}; copy in {kept}")
        flash(request, f"Deleted issue {position}; a copy is kept in {kept}.")
        return back(slug)

    # After ``…/issues/add``, so that path is not taken for an issue number.
    router.include_router(editor_router(app))
    router.include_router(repair_router(app))
    return router


def _shown(path: Path, root: Path) -> str:
    """``path`` relative to the project when it is inside it."""
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
