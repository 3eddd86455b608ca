"""The API's operations under /v1: lists, subscribers, series and issues, sends.

Each route is a plain ``def`` (FastAPI runs it in a thread: the services
block) that checks the caller's role through its parameter type, calls one
service, and maps the result to a response model. No SQL here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from newsletter.accounts.audit import record_action
from newsletter.app import App
from newsletter.audience.addresses import AddressError, clean_name, known_time_zone
from newsletter.audience.lookup import PersonView, erase_person, find_person, unsubscribe_person
from newsletter.audience.staff import add_subscriber
from newsletter.content.issuefile import IssueDoc, SeriesDoc, find_series
from newsletter.content.lists import ListConfig
from newsletter.delivery.records import issue_sends
from newsletter.delivery.status import sending_status
from newsletter.errors import NotFoundError
from newsletter.schedule.series_admin import (
    IssueState,
    SeriesSummary,
    issue_states,
    series_overview,
)
from newsletter.web.api.auth import Caller, EditorToken, OwnerToken, ViewerToken, api_app_of
from newsletter.web.api.models import (
    PUBLIC_ID,
    SLUG,
    AddedOut,
    AddSubscriber,
    ConsentEventOut,
    IssueOut,
    IssueSendsOut,
    MailingListOut,
    MembershipOut,
    PauseOut,
    ReasonOut,
    SendOut,
    SeriesDetailOut,
    SeriesOut,
    SubscriberOut,
    Unsubscribe,
)
from newsletter.web.api.problems import ApiProblem, FieldProblem

Slug = Annotated[str, Path(pattern=SLUG, description="A slug: a-z, 0-9 and '-'")]
PublicId = Annotated[str, Path(pattern=PUBLIC_ID, description="A subscriber's public id")]
Position = Annotated[int, Path(ge=1, le=100_000, description="The issue's number")]


def _list_out(config: ListConfig) -> MailingListOut:
    return MailingListOut(slug=config.slug, name=config.name, description=config.description,
                          double_opt_in=config.double_opt_in, consent_text=config.consent_text,
                          thank_you_url=config.thank_you_url)


def _subscriber_out(view: PersonView) -> SubscriberOut:
    return SubscriberOut(
        id=view.public_id, email=view.email, name=view.name, time_zone=view.time_zone,
        created_at=view.created_at,
        subscriptions=[MembershipOut(list=m.list_slug, status=m.status, created_at=m.created_at,
                                     confirmed_at=m.confirmed_at,
                                     unsubscribed_at=m.unsubscribed_at,
                                     unsubscribe_method=m.unsubscribe_method)
                       for m in view.subscriptions],
        consent=[ConsentEventOut(event=c.event, at=c.at, list=c.list_slug, form=c.form,
                                 method=c.method, page_url=c.page_url,
                                 consent_text=c.consent_text,
                                 consent_text_sha256=c.consent_text_sha256)
                 for c in view.consent])


def _series_out(summary: SeriesSummary) -> SeriesOut:
    return SeriesOut(slug=summary.slug, title=summary.title, mode=summary.mode,
                     list=summary.list_slug, time_zone=summary.time_zone,
                     issue_count=summary.issue_count,
                     next_send_at=summary.next_send.due_at if summary.next_send else None)


def _issue_out(doc: SeriesDoc, issue: IssueDoc, state: IssueState | None) -> IssueOut:
    return IssueOut(series=doc.config.slug, position=issue.position, title=issue.title,
                    subject=doc.subject_line(issue),
                    delivered=state.delivered if state else 0,
                    broadcast_status=state.broadcast_status if state else None,
                    broadcast_due_at=state.broadcast_due if state else None)


def api_routes() -> APIRouter:
    """Every operation of API version 1, under /v1."""
    router = APIRouter(prefix="/v1")

    @router.get("/lists", tags=["lists"], summary="Every list")
    def lists(request: Request, caller: ViewerToken) -> list[MailingListOut]:
        known = api_app_of(request).catalog.lists()
        return [_list_out(item.config) for item in known.values()]

    @router.get("/lists/{slug}", tags=["lists"], summary="One list")
    def one_list(request: Request, slug: Slug, caller: ViewerToken) -> MailingListOut:
        return _list_out(api_app_of(request).catalog.find_list(slug).config)

    @router.post("/subscribers", tags=["subscribers"], summary="Add a person to a list",
                 responses={409: {"description": "The person left or is blocked: staff "
                                  "cannot subscribe them again"}})
    def add(request: Request, body: AddSubscriber, caller: EditorToken) -> AddedOut:
        app = api_app_of(request)
        confirmed = body.consent == "already_consented"
        reason = (body.reason or "").strip()
        if confirmed and not reason:
            raise ApiProblem(422, "'already_consented' needs a reason: how you know the "
                             "person agreed", errors=[FieldProblem(
                                 pointer="#/reason", detail="required with already_consented")])
        _check_field("#/name", lambda: clean_name(body.name))
        _check_field("#/time_zone", lambda: known_time_zone(body.time_zone))
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in reason):
            raise ApiProblem(422, "the reason contains a line break or a control character",
                             errors=[FieldProblem(pointer="#/reason",
                                                  detail="no control characters")])
        _known_list(request, body.list)
        try:
            result = add_subscriber(app, body.email, body.list, name=body.name,
                                    time_zone=body.time_zone, confirmed=confirmed,
                                    reason=f"{reason} (API token {caller.token.name})"
                                    if confirmed else None, form="api")
        except AddressError as err:
            raise ApiProblem(422, str(err), errors=[FieldProblem(pointer="#/email",
                                                                 detail=str(err))]) from None
        try:
            person: SubscriberOut | None = _subscriber_out(find_person(app, email=body.email))
        except NotFoundError:
            person = None
        _audit_add(app, caller, body, result, person)
        return AddedOut(email=person.email if person else body.email.strip(), list=body.list,
                        consent=body.consent, result=result, subscriber=person)

    @router.get("/subscribers", tags=["subscribers"], summary="Look a person up by address",
                responses={404: {"description": "Nobody has this address (or only its hash "
                                 "is kept, after an erasure)"}})
    def by_address(request: Request, caller: ViewerToken, email: Annotated[
            str, Query(min_length=1, max_length=320, description="The address")]
                   ) -> SubscriberOut:
        app = api_app_of(request)
        try:
            return _subscriber_out(find_person(app, email=email))
        except AddressError as err:
            raise ApiProblem(422, str(err), errors=[FieldProblem(pointer="query.email",
                                                                 detail=str(err))]) from None

    @router.get("/subscribers/{subscriber_id}", tags=["subscribers"],
                summary="Look a person up by public id")
    def by_id(request: Request, subscriber_id: PublicId, caller: ViewerToken) -> SubscriberOut:
        return _subscriber_out(find_person(api_app_of(request), public_id=subscriber_id))

    @router.post("/subscribers/{subscriber_id}/unsubscribe", tags=["subscribers"],
                 summary="Unsubscribe a person from one list or from every list")
    def unsubscribe(request: Request, subscriber_id: PublicId, body: Unsubscribe,
                    caller: EditorToken) -> SubscriberOut:
        if body.list is not None:
            _known_list(request, body.list)
        view = unsubscribe_person(api_app_of(request), subscriber_id, body.list,
                                  actor=caller.actor)
        return _subscriber_out(view)

    @router.delete("/subscribers/{subscriber_id}", tags=["subscribers"], status_code=204,
                   summary="Erase a person (GDPR): only a hash of the address stays",
                   response_class=Response,
                   responses={204: {"description": "Erased"}})
    def erase(request: Request, subscriber_id: PublicId, caller: OwnerToken) -> Response:
        erase_person(api_app_of(request), subscriber_id, actor=caller.actor)
        return Response(status_code=204)

    @router.get("/series", tags=["series"], summary="Every series")
    def all_series(request: Request, caller: ViewerToken) -> list[SeriesOut]:
        return [_series_out(item) for item in series_overview(api_app_of(request)).series]

    @router.get("/series/{slug}", tags=["series"], summary="One series with its issues")
    def one_series(request: Request, slug: Slug, caller: ViewerToken) -> SeriesDetailOut:
        app = api_app_of(request)
        summary = _summary(request, slug)
        doc = _doc(request, slug)
        states = issue_states(app, slug)
        return SeriesDetailOut(**_series_out(summary).model_dump(), issues=[
            _issue_out(doc, issue, states.get(issue.position)) for issue in doc.issues])

    @router.get("/series/{slug}/issues/{position}", tags=["series"], summary="One issue")
    def one_issue(request: Request, slug: Slug, position: Position,
                  caller: ViewerToken) -> IssueOut:
        doc = _doc(request, slug)
        issue = _issue(doc, position)
        return _issue_out(doc, issue, issue_states(api_app_of(request), slug).get(position))

    @router.get("/series/{slug}/issues/{position}/sends", tags=["sends"],
                summary="One issue's deliveries by state")
    def sends_of_issue(request: Request, slug: Slug, position: Position,
                       caller: ViewerToken) -> IssueSendsOut:
        _issue(_doc(request, slug), position)
        sends = issue_sends(api_app_of(request), slug, position)
        return IssueSendsOut(
            series=sends.series, position=sends.position, title=sends.title,
            counts=sends.counts, total=sends.total, running=sends.running,
            reasons=[ReasonOut(state=r.state, reason=r.reason, count=r.count)
                     for r in sends.reasons],
            pauses=[PauseOut(issue_wide=p.issue_wide, reason=p.reason, created_at=p.created_at,
                             resumed_at=p.resumed_at) for p in sends.pauses],
            first_queued_at=sends.first_queued, last_sent_at=sends.last_sent)

    @router.get("/sends", tags=["sends"], summary="Every send's deliveries by state")
    def sends(request: Request, caller: ViewerToken) -> list[SendOut]:
        counts, _pauses = sending_status(api_app_of(request))
        return [SendOut(label=c.label, title=c.title, counts=c.counts, total=c.audience,
                        finished=c.finished, paused=c.paused) for c in counts]

    return router


def _known_list(request: Request, slug: str) -> None:
    """A 422 naming the body's ``list`` field when no list has that slug."""
    try:
        api_app_of(request).catalog.find_list(slug)
    except NotFoundError as err:
        raise ApiProblem(422, str(err), errors=[FieldProblem(pointer="#/list",
                                                             detail=str(err))]) from None


def _check_field(pointer: str, check: Callable[[], object]) -> None:
    """Run ``check``; its AddressError becomes a 422 naming the field at ``pointer``."""
    try:
        check()
    except AddressError as err:
        raise ApiProblem(422, str(err), errors=[FieldProblem(pointer=pointer,
                                                             detail=str(err))]) from None


def _summary(request: Request, slug: str) -> SeriesSummary:
    for item in series_overview(api_app_of(request)).series:
        if item.slug == slug:
            return item
    raise NotFoundError(f"there is no series {slug!r}")


def _doc(request: Request, slug: str) -> SeriesDoc:
    try:
        return find_series(api_app_of(request).settings.issues_path, slug)
    except NotFoundError:
        raise NotFoundError(f"there is no series {slug!r}") from None


def _issue(doc: SeriesDoc, position: int) -> IssueDoc:
    for issue in doc.issues:
        if issue.position == position:
            return issue
    raise NotFoundError(f"the series {doc.config.slug!r} has no issue {position}")


def _audit_add(app: App, caller: Caller, body: AddSubscriber, result: str,
               person: SubscriberOut | None) -> None:
    # The append-only log names people by public id, never by address (an erasure must
    # leave no address behind), as the console does.
    record_action(app, caller.actor, "subscriber.add",
                  person.id if person else "(nobody added)",
                  f"list {body.list}, {body.consent}: {result}")
