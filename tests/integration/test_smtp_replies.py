"""SMTP replies as a relay may really send them, from a hand-scripted relay on loopback.

The relay dribbles its replies a byte at a time, splits them over several lines, or
never answers: the replies are read whole, and a silent relay ends in a timeout, a
deferral that says so, instead of a hang (RELIABILITY #15). With PIPELINING, a
message's end and the next envelope leave in one write, before the message's reply:
the relay below only answers once it has both.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from newsletter.delivery.outcome import Verdict
from newsletter.delivery.outgoing import Outgoing
from newsletter.delivery.smtp import SMTPConfig, SMTPConnection

SENDER = "bounces@clinic.example.org"
BODY = b"From: news@clinic.example.org\r\nSubject: Nerve blocks\r\n\r\nWhat to expect.\r\n"


Script = Callable[[socket.socket], None]


@contextmanager
def scripted_relay(*scripts: Script) -> Iterator[int]:
    """A relay on loopback: its n-th connection runs ``scripts[n]`` after greeting and EHLO."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(len(scripts))
    port = listener.getsockname()[1]

    def serve() -> None:
        for script in scripts:
            connection, _ = listener.accept()
            with connection:
                connection.sendall(b"220-relay.example ESMTP\r\n220 ready\r\n")
                read_until(connection, b"\r\n")  # EHLO
                connection.sendall(b"250-relay.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
                script(connection)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        listener.close()
        thread.join(timeout=10)


def read_until(connection: socket.socket, end: bytes) -> bytes:
    """What arrives up to ``end`` (commands compared without case: smtplib says "quit")."""
    data = b""
    while not data.lower().endswith(end.lower()):
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


def envelope(rcpt: str, *, reset: bool = False) -> bytes:
    commands = f"MAIL FROM:<{SENDER}>\r\nRCPT TO:<{rcpt}>\r\nDATA\r\n"
    return (("RSET\r\n" if reset else "") + commands).encode()


def outgoing(*rcpts: str) -> list[Outgoing[str]]:
    return [Outgoing(SENDER, rcpt, BODY, rcpt) for rcpt in rcpts]


def test_the_next_envelope_leaves_with_the_end_of_a_message_before_its_reply() -> None:
    received: list[bytes] = []

    def script(connection: socket.socket) -> None:
        received.append(read_until(connection, envelope("ana@example.net")))
        connection.sendall(b"250 2.1.0 ok\r\n250 2.1.5 ok\r\n354 go ahead\r\n")
        # No reply to the first message until the second envelope is here too: a client
        # that waited for it would wait until its data timeout, and see "unknown".
        received.append(read_until(connection, b"\r\n.\r\n" + envelope("ben@example.net",
                                                                        reset=True)))
        connection.sendall(b"250 2.0.0 queued as A\r\n250 2.0.0 reset\r\n250 2.1.0 ok\r\n"
                           b"250 2.1.5 ok\r\n354 go ahead\r\n")
        received.append(read_until(connection, b"\r\n.\r\n"))
        connection.sendall(b"250 2.0.0 queued as B\r\n")
        read_until(connection, b"QUIT\r\n")
        connection.sendall(b"221 bye\r\n")

    with scripted_relay(script) as port:
        connection = SMTPConnection(SMTPConfig("127.0.0.1", port, timeout=5, data_timeout=5))
        outcomes = [(item.key, outcome.verdict) for item, outcome in
                    connection.send_all(outgoing("ana@example.net", "ben@example.net"))]
        connection.close()
    assert outcomes == [("ana@example.net", Verdict.SENT), ("ben@example.net", Verdict.SENT)]
    # The reused session is reset first (RELIABILITY #17), in the same write.
    assert received[1] == BODY + b".\r\n" + envelope("ben@example.net", reset=True)
    assert received[2] == BODY + b".\r\n"


def test_a_chained_envelope_lost_with_its_session_goes_again_once_on_a_new_one() -> None:
    def first(connection: socket.socket) -> None:
        read_until(connection, envelope("ana@example.net"))
        connection.sendall(b"250 2.1.0 ok\r\n250 2.1.5 ok\r\n354 go ahead\r\n")
        read_until(connection, b"\r\n.\r\n" + envelope("ben@example.net", reset=True))
        # The first message is accepted, then the session ends before the next envelope's
        # replies: nothing of the second message was sent, so it may simply go again.
        connection.sendall(b"250 2.0.0 queued as A\r\n")

    second_session: list[bytes] = []

    def second(connection: socket.socket) -> None:
        second_session.append(read_until(connection, envelope("ben@example.net")))
        connection.sendall(b"250 2.1.0 ok\r\n250 2.1.5 ok\r\n354 go ahead\r\n")
        second_session.append(read_until(connection, b"\r\n.\r\n"))
        connection.sendall(b"250 2.0.0 queued as B\r\n")
        read_until(connection, b"QUIT\r\n")
        connection.sendall(b"221 bye\r\n")

    with scripted_relay(first, second) as port:
        connection = SMTPConnection(SMTPConfig("127.0.0.1", port, timeout=5, data_timeout=5))
        outcomes = [(item.key, outcome.verdict) for item, outcome in
                    connection.send_all(outgoing("ana@example.net", "ben@example.net"))]
        connection.close()
    assert outcomes == [("ana@example.net", Verdict.SENT), ("ben@example.net", Verdict.SENT)]
    assert second_session == [envelope("ben@example.net"), BODY + b".\r\n"]
