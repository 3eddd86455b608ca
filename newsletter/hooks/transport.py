"""The HTTP client of the dispatcher: connects only to addresses :mod:`.targets` checked.

httpcore opens connections through a network backend; ours resolves the host
itself, checks every address and connects to the first one that answers,
while TLS still verifies the certificate for the host *name* (httpcore passes
it as the server name). So the check and the connection use the same answer
from the resolver: DNS rebinding cannot slip an internal address in between.
No redirects are followed, no proxy from the environment is used.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable

import httpcore
import httpx

from newsletter.hooks.targets import Resolver, check_target, system_resolver


class GuardedBackend(httpcore.NetworkBackend):
    """A network backend that refuses internal addresses (unless allowed) at connect time."""

    def __init__(self, *, allow_private: bool, resolve: Resolver = system_resolver) -> None:
        self._inner = httpcore.SyncBackend()
        self._allow_private = allow_private
        self._resolve = resolve

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
                    ) -> httpcore.NetworkStream:
        """Connect to a checked address of ``host``, the first that accepts."""
        checked = check_target(f"http://{_bracket(host)}:{port}/",
                               allow_private=self._allow_private, resolve=self._resolve)
        last: Exception | None = None
        for address in checked.addresses:
            try:
                return self._inner.connect_tcp(address, port, timeout=timeout,
                                               local_address=local_address,
                                               socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout, OSError) as err:
                last = err
        raise httpcore.ConnectError(f"{host}:{port}: no address accepted ({last})")

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
                            ) -> httpcore.NetworkStream:
        """Never: webhooks go over TCP."""
        raise httpcore.ConnectError("webhooks do not use Unix sockets")

    def sleep(self, seconds: float) -> None:
        """As the default backend."""
        self._inner.sleep(seconds)


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def guarded_client(*, timeout: float, allow_private: bool,
                   resolve: Resolver = system_resolver) -> httpx.Client:
    """An httpx client for webhooks: guarded connections, no redirects, no environment proxy."""
    transport = httpx.HTTPTransport(trust_env=False)
    # httpx does not take a network backend; its pool is rebuilt with ours (same defaults).
    transport._pool = httpcore.ConnectionPool(
        ssl_context=ssl.create_default_context(), max_connections=10,
        max_keepalive_connections=5, keepalive_expiry=5.0,
        network_backend=GuardedBackend(allow_private=allow_private, resolve=resolve))
    return httpx.Client(transport=transport, timeout=httpx.Timeout(timeout),
                        follow_redirects=False, trust_env=False)

