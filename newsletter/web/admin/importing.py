"""``/admin/import``: paste or upload an article, see the proposed split, adjust it, accept it.

Nothing is written before **Accept**. Each step runs the same code as
``newsletter import-article`` (:func:`~newsletter.content.importer.import_article`,
as a dry run until the accept): the proposal, the files it would create or
change, and the conflicts with staff's edits, which stop the accept exactly
as they stop the command (the console offers no ``--force``: a copy-keeping
overwrite stays a deliberate command on the server).

Between steps the article and the chosen merges and splits travel in one
hidden form field, signed with the App's keys (``Tokens.seal``) and bound
to the staff member; no JavaScript is needed and nothing is kept on the
server. Merges and splits are kept as :class:`~newsletter.content.adjust.Adjustments`
(by heading and paragraph words), the form the import records them in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path, PurePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from newsletter.app import App
from newsletter.audience.tokens import TokenError
from newsletter.content import adjust
from newsletter.content.adjust import Adjustments
from newsletter.content.importer import ImportReport, import_article
from newsletter.content.proposal import ImportProposal, with_cuts
from newsletter.content.series_plan import plan_series
from newsletter.content.subjects import subject_line
from newsletter.content.words import markdown_to_plain
from newsletter.errors import ContentError, EditedFilesError, NewsletterError
from newsletter.web.admin.deps import EditorStaff, FormFields, Staff, audit
from newsletter.web.admin.render import flash, page

SEAL = "console-import"
STATE_MAX_AGE = timedelta(hours=12)
FORMATS = {"auto": "", "text": ".txt", "markdown": ".md", "html": ".html"}
PASTED = "pasted-article"


@dataclass(frozen=True)
class ImportState:
    """What the import pages carry from one step to the next (signed in a hidden field)."""

    staff: int
    issued: float
    series: str
    name: str
    text: str
    title: str
    list_slug: str
    source_url: str
    adjustments: Adjustments | None

    def as_payload(self) -> dict[str, Any]:
        chosen = self.adjustments
        return {
            "staff": self.staff, "issued": self.issued, "series": self.series,
            "name": self.name, "text": self.text, "title": self.title, "list": self.list_slug,
            "source_url": self.source_url,
            "adjust": None if chosen is None else [
                list(chosen.joined), list(chosen.split_at), list(chosen.split_at_paragraph)],
        }


async def uploaded(request: Request) -> tuple[str, bytes] | None:
    """The uploaded article file (its name and bytes), if the form carried one."""
    form = await request.form()
    file = form.get("file")
    if isinstance(file, UploadFile) and file.filename:
        return file.filename, await file.read()
    return None


Upload = Annotated[tuple[str, bytes] | None, Depends(uploaded)]


def _decode(name: str, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise ContentError(f"{name}:{line}: not UTF-8 text (byte {err.start}); save the file "
                           "as UTF-8 and upload it again") from err


def _source_name(choice: str, upload_name: str | None) -> str:
    suffix = FORMATS.get(choice, "")
    if upload_name:
        stem = PurePath(upload_name.replace("\\", "/")).name or PASTED
        return PurePath(stem).stem + suffix if suffix else stem
    return PASTED + suffix


def import_router(app: App) -> APIRouter:
    """The import pages (editors: everything here leads to writing files)."""
    router = APIRouter(prefix="/import")

    def seal(state: ImportState) -> str:
        return app.tokens.seal(SEAL, state.as_payload())

    def unseal(token: str, staff: Staff) -> ImportState:
        try:
            data = app.tokens.unseal(SEAL, token)
            chosen = data["adjust"]
            state = ImportState(
                staff=int(data["staff"]), issued=float(data["issued"]),
                series=str(data["series"]), name=str(data["name"]), text=str(data["text"]),
                title=str(data["title"]), list_slug=str(data["list"]),
                source_url=str(data["source_url"]),
                adjustments=None if chosen is None else Adjustments(
                    *(tuple(str(v) for v in part) for part in chosen)),
            )
        except (TokenError, KeyError, TypeError, ValueError) as err:
            raise ContentError("this import form is damaged or not one of ours; start the "
                               "import again") from err
        age = app.clock.now().timestamp() - state.issued
        if state.staff != staff.id or age > STATE_MAX_AGE.total_seconds():
            raise ContentError("this import form has expired or belongs to someone else; "
                               "start the import again")
        return state

    def dry_run(state: ImportState) -> ImportReport:
        return run(state, dry=True)

    def run(state: ImportState, *, dry: bool) -> ImportReport:
        settings = app.settings
        return import_article(
            Path(state.name),  # with ``text`` given, only its name is used (format, record)
            issues_dir=settings.issues_path, subscribers_dir=settings.subscribers_path,
            series=state.series, now=app.clock.now(), title=state.title or None,
            list_slug=state.list_slug or None, source_url=state.source_url or None,
            adjustments=state.adjustments, dry_run=dry, text=state.text,
            time_zone=settings.time_zone,  # as the command does: a new series gets the zone
        )

    def list_choices() -> list[tuple[str, str]]:
        try:
            return [(slug, known.config.name) for slug, known in app.catalog.lists().items()]
        except NewsletterError:
            return []

    def form_page(request: Request, values: dict[str, str], error: str = "",
                  status: int = 200) -> Response:
        return page(request, "import.html", {
            "values": values, "error": error, "lists": list_choices(),
            "formats": list(FORMATS), "nav_active": "series",
        }, status=status)

    def proposal_page(request: Request, state: ImportState, report: ImportReport,
                      error: str = "", status: int = 200) -> Response:
        return page(request, "import_proposal.html", {
            "state": seal(state), "report": report, "error": error,
            "issues": _issue_rows(report.proposal, report.title),
            "dropped": [(report.proposal.place(d.seq), d) for d in report.proposal.dropped],
            "warnings": [(report.proposal.issue_number_at(w.seq), w)
                         for w in report.proposal.warnings],
            "conflicts": [c for c in report.changes if c.conflict],
            "nav_active": "series",
        }, status=status)

    @router.get("")
    def start(request: Request, staff: EditorStaff) -> Response:
        return form_page(request, {"series": request.query_params.get("series", "")})

    @router.post("/propose")
    def propose(request: Request, form: FormFields, upload: Upload,
                staff: EditorStaff) -> Response:
        values = {key: form.get(key, "").strip() for key in
                  ("series", "title", "list", "format", "source_url")}
        pasted = form.get("article", "")
        try:
            if upload is not None:
                name, text = _source_name(values["format"], upload[0]), _decode(*upload)
            elif pasted.strip():
                name, text = _source_name(values["format"], None), pasted
            else:
                raise ContentError("paste the article or choose a file to upload")
            state = ImportState(
                staff=staff.id, issued=app.clock.now().timestamp(), series=values["series"],
                name=name, text=text, title=values["title"], list_slug=values["list"],
                source_url=values["source_url"], adjustments=None,
            )
            report = dry_run(state)
        except NewsletterError as err:
            return form_page(request, {**values, "article": pasted}, str(err), status=422)
        # From here on the split is explicit: what was shown is what is accepted.
        state = _with(state, adjust.adjustments_of(report.proposal))
        return proposal_page(request, state, report)

    @router.post("/adjust")
    def adjust_split(request: Request, form: FormFields, staff: EditorStaff) -> Response:
        try:
            state = unseal(form.get("state", ""), staff)
        except ContentError as err:
            return form_page(request, {}, str(err), status=400)
        report = dry_run(state)
        op, _, value = form.get("op", "").partition(":")
        try:
            if op == "merge" and value.isdigit():
                changed = adjust.merge(report.proposal, int(value), int(value) + 1)
            elif op == "split" and value.isdigit():
                changed = adjust.split_before_paragraph(report.proposal, int(value))
            elif op == "reset":
                changed = with_cuts(report.proposal, report.proposal.default_cuts)
            else:
                raise ContentError("choose a merge or a split")
            state = _with(state, adjust.adjustments_of(changed))
            report = dry_run(state)
        except NewsletterError as err:
            return proposal_page(request, state, report, str(err), status=422)
        return proposal_page(request, state, report)

    @router.post("/accept")
    def accept(request: Request, form: FormFields, staff: EditorStaff) -> Response:
        try:
            state = unseal(form.get("state", ""), staff)
        except ContentError as err:
            return form_page(request, {}, str(err), status=400)
        try:
            report = run(state, dry=False)
        except EditedFilesError as err:
            return proposal_page(request, state, dry_run(state), str(err), status=409)
        except NewsletterError as err:
            return proposal_page(request, state, dry_run(state), str(err), status=422)
        written = [c.name for c in report.changes if c.action in ("created", "updated",
                                                                  "removed")]
        audit(request, staff, "series.import", report.series,
              f"{state.name}: {len(report.proposal.issues)} issues; "
              f"files {', '.join(written) or 'unchanged'}")
        flash(request, f"Imported {state.name} as {len(report.proposal.issues)} issues of "
              f"'{report.title}' ({len(written)} files written).")
        return RedirectResponse(f"/admin/series/{report.series}", status_code=303)

    return router


def _with(state: ImportState, chosen: Adjustments) -> ImportState:
    return ImportState(state.staff, state.issued, state.series, state.name, state.text,
                       state.title, state.list_slug, state.source_url, chosen)


@dataclass(frozen=True)
class BlockRow:
    """One block of a proposed issue as the page lists it."""

    index: int
    heading: bool
    text: str
    splittable: bool


@dataclass(frozen=True)
class IssueRow:
    """One proposed issue: number, title, subject as sent, words, flags, its blocks."""

    number: int
    title: str
    subject: str
    words: int
    flags: tuple[str, ...]
    blocks: list[BlockRow]


def _issue_rows(proposal: ImportProposal, series_title: str) -> list[IssueRow]:
    planned = plan_series(proposal, series_title)
    total = len(planned)
    rows: list[IssueRow] = []
    for issue, plan in zip(proposal.issues, planned, strict=True):
        body = [index for index in range(issue.start, issue.end) if index != issue.title_at]
        blocks = [
            BlockRow(index, bool(proposal.blocks[index].heading),
                     proposal.blocks[index].heading
                     or markdown_to_plain(proposal.blocks[index].markdown),
                     # an issue keeps at least one block of its own before a split
                     splittable=index != body[0])
            for index in body
        ]
        rows.append(IssueRow(issue.number, issue.title,
                             subject_line(plan.subject, issue.number, total), issue.words,
                             issue.flags, blocks))
    return rows
