"""What ``serve`` and ``run`` share before a web server starts: checks, the socket, uvicorn.

* The built-in catcher's mail holds every confirm link: on an interface other
  than loopback the command refuses to start (:func:`refuse_public_catcher`).
* ``base_url`` follows ``--host``/``--port`` when it is not configured, so the
  page's form, stylesheet and the links in mail point at the port in use.
* The port is bound before anything says "running", and uvicorn serves that
  very socket; uvicorn's own X-Forwarded-For handling is off (the app trusts
  only ``trusted_proxies``, the same in both commands).
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from typing import Any

import uvicorn

from newsletter.config import Settings, is_loopback_host
from newsletter.errors import ConfigError

WILDCARDS = ("0.0.0.0", "::", "")  # noqa: S104  (recognised, not bound)


def refuse_public_catcher(settings: Settings, host: str) -> None:
    """ConfigError when the catcher transport would be served on a non-loopback interface."""
    if settings.transport == "catcher" and not is_loopback_host(host):
        raise ConfigError(
            f"refusing to serve on {host}: the transport is the built-in mail catcher, whose "
            "pages show every caught email (confirm links included) to anyone who can reach "
            "the port. Serve on 127.0.0.1 for a local try-out, or set transport = \"smtp\" "
            "(NEWSLETTER_TRANSPORT=smtp) with a real relay before serving publicly."
        )


def url_host(host: str) -> str:
    """``host`` as it goes into a URL (IPv6 in brackets; a wildcard becomes 127.0.0.1)."""
    if host in WILDCARDS:
        return "127.0.0.1"
    try:
        if isinstance(ipaddress.ip_address(host), ipaddress.IPv6Address):
            return f"[{host}]"
    except ValueError:
        pass
    return host


def with_local_base_url(settings: Settings, host: str, port: int) -> Settings:
    """``settings`` with ``base_url`` taken from --host/--port when it is not configured."""
    if "base_url" in settings.model_fields_set:
        return settings
    values: dict[str, Any] = {name: getattr(settings, name) for name in settings.model_fields_set}
    values["base_url"] = f"http://{url_host(host)}:{port}"
    try:
        return Settings.model_validate({**values, "root": settings.root,
                                        "secret_keys": settings.secret_keys})
    except ValueError as err:
        raise ConfigError(f"set base_url to this server's public address: {err}") from None


def listen(host: str, port: int, *, hint: str = "choose another port with --port"
           ) -> socket.socket:
    """A listening socket on ``host:port``, or a ConfigError that says why not (and ``hint``)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as err:
        sock.close()
        if err.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"port {port} on {host} is already in use by another program; "
                f"stop it or {hint}"
            ) from None
        raise ConfigError(f"cannot listen on {host}:{port}: {err.strerror}") from None
    sock.set_inheritable(True)
    return sock


def web_server(asgi: Any, sock: socket.socket, *, log_level: str,
               access_log: bool = True) -> uvicorn.Server:
    """A uvicorn server for ``asgi`` on the already bound ``sock`` (run it with ``sockets``)."""
    host, port = sock.getsockname()[:2]
    return uvicorn.Server(uvicorn.Config(
        asgi, host=host, port=port, proxy_headers=False, server_header=False,
        log_level=log_level, access_log=access_log,
    ))
