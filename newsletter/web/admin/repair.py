"""``/admin/series/<slug>/files/<name>``: repair an issue file that no longer parses, as text.

A hand edit on the server can break an issue file (a colon in an unquoted
subject). The series then cannot be read, so the field editor cannot open it;
this page shows the whole file as text with the error at its line, and saves
through :func:`newsletter.content.issue_edit.save_text` (the same hash check,
the same reader, the position kept). Viewers see the file and the error.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from newsletter.accounts.roles import Role, allows
from newsletter.app import App
from newsletter.content.importer import check_series_slug
from newsletter.content.issue_edit import EditConflictError, check_text, read_text, save_text
from newsletter.content.issuefile import ISSUE_FILE_RE
from newsletter.errors import ContentError, NewsletterError, NotFoundError
from newsletter.web.admin.deps import FormFields, ViewerStaff, audit
from newsletter.web.admin.render import flash, page


def around(text: str, line: int | None, width: int = 3) -> list[tuple[int, str]]:
    """The lines of ``text`` near ``line`` (numbered from 1), for showing an error in place."""
    if not line:
        return []
    rows = text.splitlines()
    return [(n, rows[n - 1]) for n in range(max(1, line - width), min(len(rows), line + width) + 1)]


def repair_router(app: App) -> APIRouter:
    """The text editor for one issue file of a series."""
    router = APIRouter()

    def located(slug: str, name: str) -> Path:
        check_series_slug(slug)
        if not ISSUE_FILE_RE.match(name):
            raise NotFoundError(f"{name!r} is not an issue file name (like 03-sleep.md)")
        path = app.settings.issues_path / slug / name
        if not path.is_file():
            raise NotFoundError(f"series {slug!r} has no file {name}")
        return path

    def show(request: Request, slug: str, name: str, text: str, loaded: str,
             error: ContentError | None, *, conflict: EditConflictError | None = None,
             status: int = 200) -> Response:
        staff = getattr(request.state, "console_staff", None)
        return page(request, "issue_repair.html", {
            "slug": slug, "name": name, "text": text, "loaded_hash": loaded,
            "error": error, "lines": around(text, error.line if error else None),
            "conflict": conflict,
            "can_edit": staff is not None and allows(staff.role, Role.EDITOR),
            "nav_active": "series",
        }, status=status)

    path_of = "/series/{slug}/files/{name}"

    @router.get(path_of)
    def open_file(request: Request, slug: str, name: str, staff: ViewerStaff) -> Response:
        try:
            path = located(slug, name)
            text, loaded = read_text(path)
        except NewsletterError as err:
            return page(request, "not_found.html", {"message": str(err)}, status=404)
        error: ContentError | None = None
        try:
            check_text(text, path)
        except ContentError as err:
            error = err
        return show(request, slug, name, text, loaded, error)

    @router.post(path_of)
    def save_file(request: Request, slug: str, name: str, form: FormFields,
                  staff: ViewerStaff) -> Response:
        if not allows(staff.role, Role.EDITOR):
            return page(request, "forbidden.html", {"need": str(Role.EDITOR)}, status=403)
        try:
            path = located(slug, name)
        except NewsletterError as err:
            return page(request, "not_found.html", {"message": str(err)}, status=404)
        text, loaded = form.get("text", ""), form.get("loaded_hash", "")
        try:
            saved = save_text(path, text, loaded)
        except EditConflictError as err:
            return show(request, slug, name, text, loaded, None, conflict=err, status=409)
        except ContentError as err:
            return show(request, slug, name, text, loaded, err, status=422)
        if saved.written:
            audit(request, staff, "issue.repair", f"{slug}/{name}",
                  f"saved as text (sha256 {saved.hash[:12]})")
            flash(request, f"Saved {name}.")
        return RedirectResponse(f"/admin/series/{slug}", status_code=303)

    return router
