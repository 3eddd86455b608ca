"""``/admin/lists``: the lists, their consent text history, and the signup form builder.

Every role reads; editors and owners create and edit lists (a list's wording
is content, like an issue); only owners add or remove the websites allowed to
embed the form (``embed_origins``: a security setting, like the others owners
change). Lists are saved into ``subscribers/lists.toml`` by the same rules the
command line reads it with (newsletter.audience.list_admin); the form builder
calls the same :func:`~newsletter.audience.form.form_snippet` as
``newsletter form-snippet``. Each change is written to the audit log.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from newsletter.app import App
from newsletter.audience import list_admin, origins
from newsletter.audience.form import FormFields, form_snippet
from newsletter.content.lists import SLUG_RE
from newsletter.content.lists_edit import ListChanged, ListDraft, ListFormInvalid
from newsletter.errors import ConfigError, ContentError, NotFoundError
from newsletter.web.admin.deps import (
    EditorStaff,
    OwnerStaff,
    Staff,
    ViewerStaff,
    audit,
)
from newsletter.web.admin.deps import (
    FormFields as PostedFields,
)
from newsletter.web.admin.render import flash, page

LABELS = {"slug": "Short name (slug)", "name": "Name", "description": "Description",
          "consent_text": "Consent text", "double_opt_in": "Double opt-in",
          "thank_you_url": "Thank-you page"}
PREVIEW_CSP = ("default-src 'none'; style-src 'unsafe-inline'; form-action 'none'; "
               "frame-ancestors 'self'; base-uri 'none'; object-src 'none'")


def _draft(form: dict[str, str], slug: str | None = None) -> ListDraft:
    return ListDraft(
        slug=(slug if slug is not None else form.get("slug", "")).strip(),
        name=form.get("name", ""), description=form.get("description", ""),
        consent_text=form.get("consent_text", ""),
        double_opt_in=form.get("double_opt_in") == "1",
        thank_you_url=form.get("thank_you_url", ""))


def _fields(name: str, time_zone: str, script: str, shown: str) -> tuple[FormFields, bool]:
    """The builder's choices from its query (a fresh page has every box ticked)."""
    if not shown:
        return FormFields(), True
    return FormFields(name=name == "1", time_zone=time_zone == "1"), script == "1"


def lists_router(app: App) -> APIRouter:
    """The list pages and the form builder."""
    router = APIRouter(prefix="/lists")

    def answer(request: Request, work: Callable[[], Response]) -> Response:
        """``work()``, or a page naming the problem when lists.toml cannot be read (never a 500)."""
        try:
            return work()
        except ContentError as err:
            return page(request, "lists_broken.html", {"problem": str(err)}, status=409)

    def missing(request: Request, slug: str) -> Response:
        return page(request, "not_found.html", {"message": f"There is no list {slug!r}.",
                                                "back": ("/admin/lists", "Back to the lists")},
                    status=404)

    def form_page(request: Request, staff: Staff, *, slug: str | None, draft: ListDraft | None,
                  errors: dict[str, str] | None = None, problem: str = "",
                  status: int = 200) -> Response:
        detail = list_admin.list_detail(app, slug) if slug is not None else None
        if draft is None and detail is not None:
            c = detail.config
            draft = ListDraft(c.slug, c.name, c.description, c.consent_text, c.double_opt_in,
                              c.thank_you_url or "")
        return page(request, "list_edit.html", {
            "creating": slug is None, "detail": detail, "draft": draft,
            "errors": errors or {}, "labels": LABELS, "problem": problem,
            "can_edit": staff.role in ("editor", "owner"),
        }, status=status)

    @router.get("")
    def overview(request: Request, staff: ViewerStaff) -> Response:
        return answer(request, lambda: page(request, "lists.html", {
            "lists": list_admin.list_summaries(app),
            "can_edit": staff.role in ("editor", "owner"),
            "lists_file": str(app.catalog.lists_file)}))

    @router.get("/new")
    def new_form(request: Request, staff: EditorStaff) -> Response:
        return form_page(request, staff, slug=None,
                         draft=ListDraft("", "", "", "", True, ""))

    @router.post("/new")
    def create(request: Request, form: PostedFields, staff: EditorStaff) -> Response:
        return answer(request, lambda: create_list(request, form, staff))

    def create_list(request: Request, form: dict[str, str], staff: Staff) -> Response:
        draft = _draft(form)
        try:
            saved = list_admin.save_list(app, draft, creating=True, by=staff.email)
        except ListFormInvalid as err:
            return form_page(request, staff, slug=None, draft=draft, errors=err.errors,
                             status=400)
        except ContentError as err:
            return form_page(request, staff, slug=None, draft=draft, problem=str(err),
                             status=409)
        audit(request, staff, "list.create", saved.slug,
              f"name {draft.name.strip()!r}, consent text version {saved.new_version}")
        flash(request, f"Created the list {saved.slug}.")
        return RedirectResponse(f"/admin/lists/{saved.slug}", status_code=303)

    @router.get("/{slug}")
    def show(request: Request, slug: str, staff: ViewerStaff) -> Response:
        def work() -> Response:
            if not SLUG_RE.match(slug) or slug not in app.catalog.lists():
                return missing(request, slug)
            return form_page(request, staff, slug=slug, draft=None)

        return answer(request, work)

    @router.post("/{slug}")
    def edit(request: Request, slug: str, form: PostedFields, staff: EditorStaff) -> Response:
        return answer(request, lambda: edit_list(request, slug, form, staff))

    def edit_list(request: Request, slug: str, form: dict[str, str], staff: Staff) -> Response:
        if not SLUG_RE.match(slug) or slug not in app.catalog.lists():
            return missing(request, slug)
        draft = _draft(form, slug)
        try:
            saved = list_admin.save_list(app, draft, creating=False, by=staff.email,
                                         loaded=form.get("loaded") or None)
        except ListFormInvalid as err:
            return form_page(request, staff, slug=slug, draft=draft, errors=err.errors,
                             status=400)
        except (ListChanged, ContentError) as err:
            return form_page(request, staff, slug=slug, draft=draft, problem=str(err),
                             status=409)
        if not saved.changed:
            flash(request, "Nothing changed.", "info")
        else:
            detail = ", ".join(LABELS[f].lower() for f in saved.changed)
            if saved.new_version is not None:
                detail += f"; consent text is now version {saved.new_version}"
            audit(request, staff, "list.edit", slug, detail)
            flash(request, f"Saved {slug}: {detail}.")
        return RedirectResponse(f"/admin/lists/{slug}", status_code=303)

    def builder(request: Request, staff: Staff, slug: str, choice: tuple[FormFields, bool],
                *, origin_error: str = "", typed: str = "", status: int = 200) -> Response:
        config = list_admin.require_list(app, slug)
        fields, script = choice
        query = (f"name={int(fields.name)}&time_zone={int(fields.time_zone)}"
                 f"&script={int(script)}&shown=1")
        return page(request, "form_builder.html", {
            "config": config, "fields": fields, "script": script, "query": query,
            "snippet": form_snippet(app.settings.base_url, config, script=script,
                                    fields=fields),
            "loopback": app.settings.base_url_is_loopback,
            "base_url": app.settings.base_url,
            "configured": sorted(app.origins.configured),
            "console_origins": origins.console_origins(app),
            "can_change_origins": staff.role == "owner",
            "origin_error": origin_error, "typed": typed,
        }, status=status)

    @router.get("/{slug}/form")
    def form_builder(request: Request, slug: str, staff: ViewerStaff, name: str = "",
                     time_zone: str = "", script: str = "", shown: str = "") -> Response:
        def work() -> Response:
            if not SLUG_RE.match(slug) or slug not in app.catalog.lists():
                return missing(request, slug)
            return builder(request, staff, slug, _fields(name, time_zone, script, shown))

        return answer(request, work)

    @router.get("/{slug}/form/preview")
    def preview(request: Request, slug: str, staff: ViewerStaff, name: str = "",
                time_zone: str = "", shown: str = "") -> Response:
        return answer(request, lambda: preview_page(request, slug, name, time_zone, shown))

    def preview_page(request: Request, slug: str, name: str, time_zone: str,
                     shown: str) -> Response:
        if not SLUG_RE.match(slug) or slug not in app.catalog.lists():
            return missing(request, slug)
        fields, _script = _fields(name, time_zone, "0", shown)
        config = list_admin.require_list(app, slug)
        html = app.pages.render("admin/form_preview.html", {
            "snippet": form_snippet(app.settings.base_url, config, script=False,
                                    fields=fields)})
        # Framed by the builder only; no script runs and the form cannot be sent from here.
        return HTMLResponse(html, headers={"Content-Security-Policy": PREVIEW_CSP,
                                           "Cache-Control": "no-store"})

    @router.post("/{slug}/form/origins")
    def change_origin(request: Request, slug: str, form: PostedFields,
                      staff: OwnerStaff) -> Response:
        return answer(request, lambda: origin_change(request, slug, form, staff))

    def origin_change(request: Request, slug: str, form: dict[str, str],
                      staff: Staff) -> Response:
        if not SLUG_RE.match(slug) or slug not in app.catalog.lists():
            return missing(request, slug)
        choice = _fields("1", "1", "1", "")
        back = RedirectResponse(f"/admin/lists/{slug}/form", status_code=303)
        typed = form.get("origin", "")
        if form.get("action") == "remove":
            try:
                removed = origins.remove_origin(app, typed)
            except NotFoundError as err:
                return builder(request, staff, slug, choice, origin_error=str(err), status=404)
            audit(request, staff, "embed_origin.remove", removed)
            flash(request, f"{removed} may no longer embed the form.")
            return back
        try:
            added = origins.add_origin(app, typed, by=staff.email)
        except ConfigError as err:
            return builder(request, staff, slug, choice, origin_error=str(err), typed=typed,
                           status=400)
        audit(request, staff, "embed_origin.add", added, f"from the form builder of {slug}")
        flash(request, f"{added} may now embed the form.")
        return back

    return router
