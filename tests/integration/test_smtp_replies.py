"""SMTP replies as a relay may really send them, from a hand-scripted relay on loopback.

The relay dribbles its replies a byte at a time, splits them over several lines, or
never answers: the replies are read whole, and a silent relay ends in a timeout, a
deferral that says so, instead of a hang (RELIABILITY #15).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from newsletter.delivery.outcome import Verdict
from newsletter.delivery.smtp import SMTPConfig, SMTPConnection

SENDER = "bounces@clinic.example.org"
BODY = b"From: news@clinic.example.org\r\nSubject: Nerve blocks\r\n\r\nWhat to expect.\r\n"


Script = Callable[[socket.socket], None]


@contextmanager
def scripted_relay(script: Script) -> Iterator[int]:
    """A one-connection relay on loopback that runs ``script`` after its greeting and EHLO."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            reader = connection.makefile("rb")
            connection.sendall(b"220-relay.example ESMTP\r\n220 ready\r\n")
            reader.readline()  # EHLO
            connection.sendall(b"250-relay.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
            script(connection)
            reader.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        listener.close()
        thread.join(timeout=10)


def read_until(connection: socket.socket, end: bytes) -> bytes:
    data = b""
    while not data.endswith(end):
        chunk = connection.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def dribble(connection: socket.socket, reply: bytes) -> None:
    for byte in reply:
        connection.sendall(bytes([byte]))


def test_replies_that_arrive_a_byte_at_a_time_and_span_lines_are_read_whole() -> None:
    def script(connection: socket.socket) -> None:
        read_until(connection, b"DATA\r\n")
        dribble(connection, b"250-sender\r\n250 2.1.0 ok\r\n250 2.1.5 ok\r\n354 go ahead\r\n")
        read_until(connection, b"\r\n.\r\n")
        dribble(connection, b"550-5.7.1 refused:\r\n550 5.7.1 see our policy page\r\n")
        read_until(connection, b"QUIT\r\n")

    with scripted_relay(script) as port:
        connection = SMTPConnection(SMTPConfig("127.0.0.1", port, timeout=5))
        outcome = connection.send(SENDER, "ana@example.net", BODY)
        connection.close()
    assert outcome.verdict == Verdict.POLICY
    assert outcome.detail == "550 5.7.1 refused:\n5.7.1 see our policy page"


def test_a_relay_that_never_answers_the_envelope_times_out_and_defers_saying_so() -> None:
    answered = threading.Event()

    def script(connection: socket.socket) -> None:
        read_until(connection, b"DATA\r\n")
        answered.wait(10)  # silent until the client gave up

    with scripted_relay(script) as port:
        # The timeout also covers connect and EHLO: 2 s leaves a busy machine room for them.
        connection = SMTPConnection(SMTPConfig("127.0.0.1", port, timeout=2.0))
        outcome = connection.send(SENDER, "ana@example.net", BODY)
        answered.set()
        connection.close()
    assert outcome.verdict == Verdict.DEFERRED
    assert outcome.detail == (f"connection lost at mail: 127.0.0.1:{port}: "
                              "Connection unexpectedly closed: timed out")
