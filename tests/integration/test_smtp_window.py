"""Several messages in step over the pool's connections, from one thread (send_window).

Against aiosmtpd with fault injection, and against a hand-scripted relay on loopback
that dribbles its replies a byte at a time, splits them over several lines, or never
answers: the replies are read whole, each message gets its own outcome, and a silent
relay ends in a timeout that names itself instead of a hang.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from newsletter.delivery.outcome import Verdict
from newsletter.delivery.smtp import SMTPConfig, SMTPConnection
from newsletter.delivery.transport import SMTPTransport
from tests.support.smtpd import SMTPRecorder

SENDER = "bounces@clinic.example.org"
BODY = b"From: news@clinic.example.org\r\nSubject: Nerve blocks\r\n\r\nWhat to expect.\r\n"


def refuse(address: str) -> Callable[[str], str | None]:
    """A fault hook that refuses ``address`` at RCPT as unknown."""
    return lambda value: "550 5.1.1 no such mailbox" if value == address else None


def test_a_window_of_two_messages_gives_each_its_own_outcome_in_order(
        server: SMTPRecorder) -> None:
    server.faults.rcpt = refuse("gone@example.net")
    transport = SMTPTransport(SMTPConfig("127.0.0.1", server.port, timeout=5), 2)
    try:
        first = transport.send_window([(SENDER, "ana@example.net", BODY),
                                       (SENDER, "gone@example.net", BODY)])
        second = transport.send_window([(SENDER, "gone@example.net", BODY),
                                        (SENDER, "ben@example.net", BODY)])
    finally:
        transport.close()
    assert [outcome.verdict for outcome in first] == [Verdict.SENT, Verdict.BOUNCED]
    assert [outcome.verdict for outcome in second] == [Verdict.BOUNCED, Verdict.SENT]
    assert "5.1.1" in first[1].detail
    received = server.wait_for(2)
    assert sorted(message.rcpt_tos[0] for message in received) == [
        "ana@example.net", "ben@example.net"]
    # Both connections were used again, each reset first (RELIABILITY #17).
    assert server.resets == 2


def test_a_window_larger_than_the_pool_is_refused_naming_both_sizes(
        server: SMTPRecorder) -> None:
    transport = SMTPTransport(SMTPConfig("127.0.0.1", server.port, timeout=5), 2)
    try:
        with pytest.raises(ValueError, match="3 messages for a pool of 2 connections"):
            transport.send_window([(SENDER, f"r{n}@example.net", BODY) for n in range(3)])
    finally:
        transport.close()
    assert server.messages == []


def test_a_window_against_a_relay_that_is_down_defers_every_message_as_unreachable() -> None:
    with socket.socket() as placeholder:  # a port nobody listens on
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    transport = SMTPTransport(SMTPConfig("127.0.0.1", port, timeout=2), 2)
    outcomes = transport.send_window([(SENDER, "ana@example.net", BODY),
                                      (SENDER, "ben@example.net", BODY)])
    assert [(o.verdict, o.relay_down) for o in outcomes] == [(Verdict.DEFERRED, True)] * 2
    assert all("cannot connect" in outcome.detail for outcome in outcomes)


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


def test_a_relay_that_never_answers_the_envelope_times_out_and_defers_naming_the_wait(
        ) -> None:
    answered = threading.Event()

    def script(connection: socket.socket) -> None:
        read_until(connection, b"DATA\r\n")
        answered.wait(10)  # silent until the client gave up

    with scripted_relay(script) as port:
        connection = SMTPConnection(SMTPConfig("127.0.0.1", port, timeout=0.5))
        outcome = connection.send(SENDER, "ana@example.net", BODY)
        answered.set()
        connection.close()
    assert outcome.verdict == Verdict.DEFERRED
    assert outcome.detail == (f"connection lost at mail: 127.0.0.1:{port}: "
                              "no reply within 0.5 s")
