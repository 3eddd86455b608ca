"""A tiny authoritative DNS server on 127.0.0.1 (UDP, a free port) serving one zone text.

Built on dnspython's message and zone classes, so tests can point a resolver
at it and never touch the real internet. Names in the zone text must be
absolute (end in "."); anything not in it is NXDOMAIN.
"""

from __future__ import annotations

import socket
import threading
from types import TracebackType

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.resolver
import dns.rrset
import dns.zone


class DNSServer:
    """Answers queries from ``zone_text`` until stopped; a context manager."""

    def __init__(self, zone_text: str) -> None:
        self.zone = dns.zone.from_text("$TTL 300\n" + zone_text, origin=dns.name.root,
                                       relativize=False,
                                       check_origin=False)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self.port: int = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.queries: list[tuple[str, str]] = []

    def resolver(self) -> dns.resolver.Resolver:
        """A resolver that asks only this server."""
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = ["127.0.0.1"]
        resolver.port = self.port
        resolver.lifetime = 3.0
        return resolver

    def _answer(self, data: bytes) -> bytes:
        query = dns.message.from_wire(data)
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        for question in query.question:
            self.queries.append((question.name.to_text(), dns.rdatatype.to_text(question.rdtype)))
            node = self.zone.get_node(question.name)
            if node is None:
                response.set_rcode(dns.rcode.NXDOMAIN)
                continue
            rdataset = node.get_rdataset(dns.rdataclass.IN, question.rdtype)
            if rdataset is not None:
                response.answer.append(dns.rrset.from_rdata_list(
                    question.name, rdataset.ttl, list(rdataset)))
        wire: bytes = response.to_wire()
        return wire

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self._sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            self._sock.sendto(self._answer(data), peer)

    def __enter__(self) -> DNSServer:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()
