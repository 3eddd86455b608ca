"""Who sent a request, as far as we may trust it."""

from __future__ import annotations

from starlette.requests import Request


def client_ip(request: Request) -> str:
    """The peer address (we do not trust X-Forwarded-For: put the proxy's rules there)."""
    return request.client.host if request.client else "unknown"
