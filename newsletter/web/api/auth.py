"""Who is calling the API: the bearer token, its role, its rate limit.

``caller: EditorToken`` in a route (or ``ViewerToken``, ``OwnerToken``) means:
an ``Authorization: Bearer nlapi_…`` header with an active token (else 401,
``WWW-Authenticate: Bearer``), a role that allows the route (else 403), and
budget left under the token's rate limit (else 429 with ``Retry-After``).
Only the header counts: the console's session cookie never authenticates an
API request, so there is no CSRF to guard against here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, cast

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from newsletter.accounts.api_rate import Rate, take
from newsletter.accounts.api_tokens import TokenInfo, authenticate
from newsletter.accounts.audit import Actor
from newsletter.accounts.roles import Role, allows
from newsletter.app import App
from newsletter.web.api.problems import ApiProblem
from newsletter.web.client import client_ip

ACTOR_PREFIX = "api:"
_bearer = HTTPBearer(auto_error=False, scheme_name="bearer",
                     description="An API token (`nlapi_…`) made by an owner with "
                     "`newsletter staff token create` or at /admin/tokens.")


@dataclass(frozen=True)
class Caller:
    """The token making the request, and where from."""

    token: TokenInfo
    ip: str

    @property
    def actor(self) -> Actor:
        """Who the audit log names: ``api:<token name>``."""
        return Actor(ACTOR_PREFIX + self.token.name, self.ip)


def api_app_of(request: Request) -> App:
    """The App the API was built with."""
    return cast(App, request.app.state.app)


def token_for(need: Role) -> Callable[..., Caller]:
    """A dependency giving the :class:`Caller` whose token's role allows ``need``."""

    def dependency(request: Request, credentials: Annotated[
            HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Caller:
        app = api_app_of(request)
        challenge = {"WWW-Authenticate": 'Bearer realm="newsletter API"'}
        if credentials is None:
            raise ApiProblem(401, "send an API token in the header "
                             "'Authorization: Bearer <token>'", headers=challenge)
        token = authenticate(app, credentials.credentials)
        if token is None:
            raise ApiProblem(401, "the API token is not valid (unknown, mistyped or revoked)",
                             headers={"WWW-Authenticate": challenge["WWW-Authenticate"]
                                      + ', error="invalid_token"'})
        wait = take(app, token.id, Rate(app.settings.api_rate_per_minute,
                                        app.settings.api_rate_burst))
        if wait:
            raise ApiProblem(429, f"the token {token.name!r} has used its requests for now; "
                             f"try again in {wait} s", headers={"Retry-After": str(wait)})
        if not allows(token.role, need):
            raise ApiProblem(403, f"the token {token.name!r} has the role {token.role}; this "
                             f"needs {need}", headers={"WWW-Authenticate": challenge[
                                 "WWW-Authenticate"] + ', error="insufficient_scope"'})
        return Caller(token, client_ip(request))

    return dependency


ViewerToken = Annotated[Caller, Depends(token_for(Role.VIEWER))]
EditorToken = Annotated[Caller, Depends(token_for(Role.EDITOR))]
OwnerToken = Annotated[Caller, Depends(token_for(Role.OWNER))]
