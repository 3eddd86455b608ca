"""The REST API under ``/api``: ``install_api(web, app)`` mounts it on the public web app.

It is a FastAPI application of its own, mounted at ``/api``: its routes are
``/api/v1/...`` (newsletter/web/api/routes.py), its OpenAPI document is
``/api/openapi.json`` and describes the API alone (the main app serves none),
and its errors are RFC 9457 problems (problems.py), whatever raised them. The
main app's middleware (security headers, body-size cap and deadline, CORS)
wraps it like every other path. Callers authenticate with a bearer token
(auth.py); cookies mean nothing here. Guide: docs/api.md.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from newsletter.app import App
from newsletter.web.api.problems import MEDIA_TYPE, Problem, install_problem_handlers
from newsletter.web.api.routes import api_routes

PREFIX = "/api"
VERSION = "1"
DESCRIPTION = """\
The newsletter's lists, subscribers, series, issues and sends, for a website or a CRM.

Every request needs `Authorization: Bearer <token>`; owners make tokens with
`newsletter staff token create NAME --role viewer|editor|owner` or at /admin/tokens.
A viewer token reads; an editor token also adds and unsubscribes people; an owner
token also erases them. Each token has a rate limit (429 with `Retry-After`).

Every error is an RFC 9457 problem (`application/problem+json`), 404 and 405 included.
"""
_ALWAYS = {
    "400": "The request cannot be carried out as asked",
    "401": "No token, or a token that is not valid (unknown or revoked)",
    "403": "The token's role does not allow this",
    "422": "A field or parameter is missing or not valid (see `errors`)",
    "429": "The token's rate limit is used up: wait `Retry-After` seconds",
    "500": "Something went wrong on the server (it is logged)",
    "503": "The database is busy: retry after `Retry-After` seconds",
}
_WITH_BODY = {
    "408": "The request body arrived too slowly",
    "413": "The request body is too large",
}


def api_app(app: App) -> FastAPI:
    """The API as an ASGI app of its own (mount it at :data:`PREFIX`)."""
    api = FastAPI(title="Newsletter API", version=VERSION, description=DESCRIPTION,
                  openapi_url="/openapi.json", docs_url=None, redoc_url=None,
                  redirect_slashes=False, root_path_in_servers=False)
    api.state.app = app
    install_problem_handlers(api)
    api.include_router(api_routes())

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            api.openapi_schema = _document(api)
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]
    return api


def _document(api: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, with every error response declared as a Problem."""
    schema = get_openapi(title=api.title, version=api.version, description=api.description,
                         routes=api.routes, servers=[{"url": PREFIX}])
    schemas: dict[str, Any] = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem.pop("$defs", {}))
    schemas["Problem"] = problem
    as_problem = {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            responses: dict[str, Any] = operation.setdefault("responses", {})
            codes = dict(_ALWAYS)
            if "{" in path:
                codes["404"] = "There is no such list, series, issue or subscriber"
            if method in ("post", "put", "patch"):
                codes.update(_WITH_BODY)
            for code, text in codes.items():
                responses[code] = {"description": text, "content": as_problem}
            for code, response in responses.items():
                if code.startswith(("4", "5")):
                    response["content"] = as_problem
    return schema


def install_api(web: FastAPI, app: App) -> None:
    """Mount the API at ``/api`` on ``web``."""
    web.mount(PREFIX, api_app(app))
