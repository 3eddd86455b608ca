"""``/admin/subscribers/import`` (editors): upload a CSV, read the dry run, import, watch it run.

The pages call :mod:`newsletter.audience.import_jobs` (which runs the same
:func:`~newsletter.audience.csv_files.import_csv` as ``newsletter subscribers
import``): the upload is stored and dry-run first (nothing written to
subscribers), the report page offers "Import these N people", and the import
runs in a thread of this server process while the page shows its progress
(htmx polls a small fragment; without JavaScript the page reloads itself every
few seconds). Every step works without JavaScript.

Uploads get their own body cap (``console_import_max_bytes`` plus room for the
other fields, :data:`IMPORT_UPLOAD` in ``newsletter/web/app.py``), larger than
the console's.
"""

from __future__ import annotations

import threading

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from newsletter import wording
from newsletter.app import App
from newsletter.audience import import_jobs
from newsletter.errors import ContentError, NotFoundError
from newsletter.web.admin.deps import EditorStaff, actor_of
from newsletter.web.admin.render import flash, page

IMPORT_UPLOAD = "/admin/subscribers/import"
FORM_SLACK = 65_536  # the list, the basis and the multipart framing around the file
POLL_SECONDS = 1
SHOWN = 200  # refused and left-out lines shown on the page (the counts are all there)


def start_in_background(app: App, token: str) -> threading.Thread:
    """Run a claimed import in a thread of this process (it records its own end)."""
    thread = threading.Thread(target=import_jobs.run_import, args=(app, token),
                              name=f"import-{token[:8]}", daemon=True)
    thread.start()
    return thread


def subscriber_import_router(app: App) -> APIRouter:
    """The import pages."""
    router = APIRouter(prefix="/subscribers/import")
    limit = app.settings.console_import_max_bytes

    def form_page(request: Request, *, error: str = "", status: int = 200,
                  chosen: str = "", basis: str = "") -> Response:
        lists = sorted(app.catalog.lists().values(), key=lambda known: known.config.name)
        return page(request, "subscribers_import.html", {
            "lists": [known.config for known in lists], "error": error, "chosen": chosen,
            "basis": basis, "limit": wording.size(limit), "jobs": import_jobs.recent_jobs(app),
        }, status=status)

    def job_url(token: str) -> str:
        return f"{IMPORT_UPLOAD}/{token}"

    @router.get("")
    def start_page(request: Request, staff: EditorStaff) -> Response:
        return form_page(request)

    @router.post("")
    async def upload(request: Request, staff: EditorStaff) -> Response:
        form = await request.form()
        file = form.get("file")
        list_slug = str(form.get("list") or "")
        basis = str(form.get("basis") or "")
        again = {"chosen": list_slug, "basis": basis}
        if not isinstance(file, UploadFile) or not file.filename:
            return await run_in_threadpool(
                form_page, request, error="Choose a CSV file to upload.", status=400, **again)
        data = await file.read(limit + 1)
        if len(data) > limit:
            return await run_in_threadpool(
                form_page, request, status=413, **again,
                error=f"{import_jobs.clean_file_name(file.filename)} is larger than "
                      f"{wording.size(limit)}, the most the console imports at once. "
                      "Split it into smaller files, or import it with "
                      "`newsletter subscribers import` on the server.")
        try:
            job = await run_in_threadpool(
                import_jobs.check_upload, app, file_name=file.filename, data=data,
                list_slug=list_slug, basis=basis, actor=actor_of(request, staff))
        except (ContentError, NotFoundError) as err:
            return await run_in_threadpool(form_page, request, error=_sentence(str(err)),
                                           status=400, **again)
        return RedirectResponse(job_url(job.token), status_code=303)

    @router.get("/{token}")
    def job_page(request: Request, token: str, staff: EditorStaff) -> Response:
        job = import_jobs.get_job(app, token)
        return page(request, "subscribers_import_job.html", {
            "job": job, "url": job_url(token), "poll": POLL_SECONDS, "shown": SHOWN,
            "report": job.result or job.checked,
        })

    @router.get("/{token}/progress")
    def progress(request: Request, token: str, staff: EditorStaff) -> Response:
        job = import_jobs.get_job(app, token)
        if job.state != "running" or job.interrupted:  # finished: htmx reloads the whole page
            return Response(status_code=204, headers={"HX-Refresh": "true"})
        return page(request, "_import_progress.html", {
            "job": job, "url": job_url(token), "poll": POLL_SECONDS})

    @router.post("/{token}/run")
    def run(request: Request, token: str, staff: EditorStaff) -> Response:
        job = import_jobs.get_job(app, token)
        if import_jobs.claim(app, token):
            start_in_background(app, token)
        elif job.state not in ("running", "done"):
            flash(request, f"{job.file_name} cannot be imported: it is {job.state}.", "error")
        return RedirectResponse(job_url(token), status_code=303)

    @router.post("/{token}/discard")
    def discard(request: Request, token: str, staff: EditorStaff) -> Response:
        try:
            job = import_jobs.discard(app, token, actor_of(request, staff))
        except ContentError as err:
            flash(request, _sentence(str(err)), "error")
            return RedirectResponse(job_url(token), status_code=303)
        flash(request, f"Discarded {job.file_name}: nobody was imported and the file is deleted.")
        return RedirectResponse(IMPORT_UPLOAD, status_code=303)

    return router


def _sentence(message: str) -> str:
    # Not capitalised: most messages start with the file's name, which stays as written.
    return message if message.endswith(".") else message + "."
