"""``/admin/subscribers``: find people, one person's record, add one, export, GDPR.

* ``GET  /admin/subscribers`` (viewers): search and filters as a GET form,
  keyset pages ("Newer"/"Older" links carry a row's key, never an offset).
* ``GET  /admin/subscribers/<public_id>`` (viewers): lists, the consent trail,
  what they were sent, bounces and complaints.
* ``GET|POST /admin/subscribers/add`` (editors): one person, double opt-in by
  default or "already consented" with a required reason.
* ``POST /admin/subscribers/export`` (editors): the current filter as CSV,
  streamed, every cell guarded against formula injection.
* ``POST /admin/subscribers/<public_id>/export`` (editors): everything about
  one person as JSON (a GDPR access request).
* ``GET|POST /admin/subscribers/<public_id>/erase`` (owners): a page where the
  owner types the address, then the erasure.

The services are :mod:`newsletter.audience.directory`, ``.profile``,
``.adding`` and ``.staff``; every change and every export is in the audit log,
named by the person's public id, never their address (an erased person must
not live on in the append-only log). Exports are POSTs because they are
logged: no GET writes anything.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.convertors import Convertor, register_url_convertor
from starlette.responses import RedirectResponse, Response, StreamingResponse

from newsletter.app import App
from newsletter.audience import directory
from newsletter.audience.adding import AddOutcome, AddRefused, ReasonMissing, add_person
from newsletter.audience.addresses import AddressError, normalise_address
from newsletter.audience.profile import address_of, person_profile
from newsletter.audience.staff import erase_subscriber, person_export
from newsletter.errors import NewsletterError, NotFoundError
from newsletter.web.admin.deps import EditorStaff, FormFields, OwnerStaff, ViewerStaff, audit
from newsletter.web.admin.render import NO_STORE, flash, page
from newsletter.web.admin.schedule import sentence

BASE = "/admin/subscribers"
FILTER_FIELDS = ("q", "list", "status", "from", "to")


class PublicIdConvertor(Convertor[str]):
    """A person's public id in a path: any URL-safe word but our own pages' names.

    ``add``, ``export`` and anything starting with ``import`` (the CSV import's
    pages) are other routes, whatever order the routers are included in. A
    public id (:func:`~newsletter.audience.people.new_public_id`) starting with
    "import" is one in about 2^36; it would need its page reached by search.
    """

    regex = "(?!(?:add|export)(?:/|$))(?!import)[A-Za-z0-9_-]{1,43}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


def person_url(public_id: str) -> str:
    """The page of one person."""
    return f"{BASE}/{public_id}"


def subscribers_router(app: App) -> APIRouter:
    """The subscriber pages."""
    register_url_convertor("public_id", PublicIdConvertor())
    router = APIRouter(prefix="/subscribers")

    def list_names() -> dict[str, str]:
        return {slug: known.config.name for slug, known in app.catalog.lists().items()}

    def filters_of(fields: dict[str, str]) -> directory.Filters:
        return directory.clean_filters(
            query=fields.get("q", ""), list_slug=fields.get("list", ""),
            status=fields.get("status", ""), joined_from=fields.get("from", ""),
            joined_to=fields.get("to", ""), known_lists=list(list_names()))

    @router.get("")
    def list_page(request: Request, staff: ViewerStaff) -> Response:
        fields = {key: request.query_params.get(key, "") for key in FILTER_FIELDS}
        error = ""
        result = directory.PeoplePage()
        filters = directory.Filters()
        try:
            filters = filters_of(fields)
            after = request.query_params.get("after", "")
            before = request.query_params.get("before", "")
            result = directory.find_people(
                app, filters, after=directory.decode_key(after) if after else None,
                before=directory.decode_key(before) if before and not after else None)
        except NewsletterError as err:
            error = sentence(str(err))
        kept = {key: value for key, value in fields.items() if value}
        return page(request, "subscribers.html", {
            "fields": fields, "filters": filters, "result": result, "error": error,
            "lists": list_names(), "statuses": directory.STATUSES,
            "next_url": _page_url(kept, "after", result.next_key),
            "previous_url": _page_url(kept, "before", result.previous_key),
            "nav_active": "subscribers",
        }, status=400 if error else 200)

    @router.get("/add")
    def add_page(request: Request, staff: EditorStaff) -> Response:
        return _add_form(request, {"list": next(iter(list_names()), ""), "mode": "confirm"})

    def _add_form(request: Request, form: dict[str, str], error: str = "",
                  existing: str | None = None, status: int = 200) -> Response:
        return page(request, "subscriber_add.html", {
            "form": form, "lists": list_names(), "error": error, "existing": existing,
            "nav_active": "subscribers",
        }, status=status)

    @router.post("/add")
    def add(request: Request, staff: EditorStaff, form: FormFields) -> Response:
        consented = form.get("mode") == "consented"
        try:
            result = add_person(
                app, form.get("email", ""), form.get("list", ""), name=form.get("name") or None,
                consent_reason=form.get("reason", "") if consented else None,
                staff_email=staff.email)
        except (AddressError, NotFoundError, ReasonMissing) as err:
            return _add_form(request, form, sentence(str(err)), status=400)
        except AddRefused as err:
            return _add_form(request, form, sentence(str(err)), err.public_id, status=409)
            return _add_form(request, form, sentence(str(err)), status=400)
        how = "already consented (reason in the consent record)" if consented else "double opt-in"
        audit(request, staff, "subscriber.add", result.public_id,
              f"list {form.get('list', '')}: {how}")
        flash(request, {
            AddOutcome.CONFIRMATION_SENT: f"Added {result.address}: a confirmation email is on "
                                          "its way; they are pending until they confirm.",
            AddOutcome.COOLDOWN: f"Added {result.address} as pending; a confirmation email "
                                 "left a short while ago, so no second one was sent.",
            AddOutcome.ACTIVATED: f"Added {result.address}: this list has no confirmation "
                                  "step, so they are subscribed.",
            AddOutcome.ADDED: f"Added {result.address} as subscribed, on your word that they "
                              "agreed.",
        }[result.outcome])
        return RedirectResponse(person_url(result.public_id), status_code=303)

    @router.post("/export")
    def export(request: Request, staff: EditorStaff, form: FormFields) -> Response:
        try:
            filters = filters_of(form)
        except NewsletterError as err:
            flash(request, sentence(str(err)), "error")
            return RedirectResponse(BASE, status_code=303)
        audit(request, staff, "subscribers.export", "subscribers (CSV)", _audit_filter(filters))
        stamp = app.clock.now().strftime("%Y%m%d-%H%M")
        return StreamingResponse(
            _csv_stream(app, filters), media_type="text/csv; charset=utf-8",
            headers={**NO_STORE, "Content-Disposition":
                     f'attachment; filename="subscribers-{stamp}.csv"'})

    @router.get("/{public_id:public_id}")
    def person_page(request: Request, staff: ViewerStaff, public_id: str) -> Response:
        try:
            profile = person_profile(app, public_id)
        except NotFoundError as err:
            return _missing(request, err)
        return page(request, "subscriber.html", {
            "person": profile, "lists": list_names(), "nav_active": "subscribers",
        })

    @router.post("/{public_id:public_id}/export")
    def person_json(request: Request, staff: EditorStaff, public_id: str) -> Response:
        try:
            data = person_export(app, address_of(app, public_id))
        except NotFoundError as err:
            return _missing(request, err)
        audit(request, staff, "subscriber.export", public_id, "GDPR export (JSON)")
        body = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
        return Response(body, media_type="application/json; charset=utf-8", headers={
            **NO_STORE,
            "Content-Disposition": f'attachment; filename="subscriber-{public_id}.json"'})

    @router.get("/{public_id:public_id}/erase")
    def erase_page(request: Request, staff: OwnerStaff, public_id: str) -> Response:
        try:
            profile = person_profile(app, public_id)
        except NotFoundError as err:
            return _missing(request, err)
        return page(request, "subscriber_erase.html", {
            "person": profile, "error": "", "nav_active": "subscribers"})

    @router.post("/{public_id:public_id}/erase")
    def erase(request: Request, staff: OwnerStaff, public_id: str, form: FormFields
              ) -> Response:
        try:
            profile = person_profile(app, public_id)
        except NotFoundError as err:
            return _missing(request, err)
        typed = form.get("confirm_email", "")
        try:
            same = normalise_address(typed) == profile.email
        except AddressError:
            same = False
        if not same:
            return page(request, "subscriber_erase.html", {
                "person": profile, "nav_active": "subscribers",
                "error": "The address you typed is not this person's: nothing was erased. "
                         "Type their address exactly as shown.",
            }, status=400)
        erase_subscriber(app, profile.email)
        audit(request, staff, "subscriber.erase", public_id,
              "erased: only a one-way hash of the address remains")
        flash(request, "The person was erased. Only a one-way hash of their address is kept, "
                       "so they are never mailed or imported again.")
        return RedirectResponse(BASE, status_code=303)

    return router


def _missing(request: Request, err: NotFoundError) -> Response:
    return page(request, "subscriber_missing.html", {
        "message": sentence(str(err)), "nav_active": "subscribers"}, status=404)


def _page_url(kept: dict[str, str], direction: str, key: str | None) -> str | None:
    if key is None:
        return None
    return f"{BASE}?{urlencode({**kept, direction: key})}"


def _audit_filter(filters: directory.Filters) -> str:
    """The filter for the audit log; search text only as its length (it may be an address)."""
    shown = directory.Filters("", filters.list_slug, filters.status, filters.joined_from,
                              filters.joined_to).describe()
    if filters.query:
        return f"search text ({len(filters.query)} characters), {shown}"
    return shown


def _csv_stream(app: App, filters: directory.Filters) -> Iterator[bytes]:
    """The CSV in chunks of rows (a BOM first, so spreadsheet programs read UTF-8)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(directory.export_header(filters))
    yield ("\ufeff" + buffer.getvalue()).encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    for number, row in enumerate(directory.export_rows(app, filters), start=1):
        writer.writerow(row)
        if number % 500 == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    if buffer.getvalue():
        yield buffer.getvalue().encode("utf-8")
