"""Who sent a request, as far as we may trust it."""

from __future__ import annotations

from starlette.requests import Request


def client_ip(request: Request) -> str:
    """The visitor's address: the peer, or what a ``trusted_proxies`` peer forwarded for."""
    return request.client.host if request.client else "unknown"
