"""The reference receiver probed as an attacker would (issue 13, items 1-5), quickly.

Each test failed against the receiver before it was hardened: a 4,301-digit length
crashed the handler thread, the backlog was 5, a client trickling bytes was never cut
off, a reset mid-headers printed a traceback with the client's address, and of two
different Content-Length headers the first won. All on 127.0.0.1, bounded in time.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Iterator

import pytest

from enriched_webhook.receiver.http_server import LISTEN_BACKLOG, WebhookServer, serve
from enriched_webhook.verify import VerifiedEvent, Verifier

from .helpers import NOW, body_for, fixture, hmac_headers, msg_id_for, new_whsec

SECRET = new_whsec()


class Receiver:
    def __init__(self, **options: object) -> None:
        self.lines: list[str] = []
        self.handled: list[VerifiedEvent] = []
        self.server = serve(
            Verifier(SECRET, now=NOW),
            on_event=self.handled.append,
            log=self.lines.append,
            **options,  # type: ignore[arg-type]
        )
        self.address = self.server.server_address[:2]

    def connect(self) -> socket.socket:
        return socket.create_connection(self.address, timeout=10)  # type: ignore[arg-type]

    def exchange(self, raw: bytes) -> bytes:
        """Send `raw`, read until the server closes or answers completely."""
        with self.connect() as sock:
            sock.sendall(raw)
            return read_answer(sock)


def read_answer(sock: socket.socket) -> bytes:
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(65536)
        if not chunk:
            return received
        received += chunk
    head, _, rest = received.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return head + b"\r\n\r\n" + rest


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def request_bytes(body: bytes, headers: dict[str, str], *extra: str) -> bytes:
    lines = ["POST /hook HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines += list(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver(header_timeout=1.0)
    try:
        yield made
    finally:
        made.server.shutdown()


def good_request(task_id: str = "probe-1") -> tuple[bytes, dict[str, str]]:
    task = dict(fixture().task)
    task["id"] = task_id
    body = body_for(task)
    return body, hmac_headers(SECRET, body, msg_id_for(task))


def test_a_content_length_of_4301_digits_is_answered_413(
    receiver: Receiver, capfd: pytest.CaptureFixture[str]
) -> None:
    body, headers = good_request()
    answer = receiver.exchange(request_bytes(body, headers, "Content-Length: " + "9" * 4301))
    assert status_of(answer) == 413
    answer = receiver.exchange(request_bytes(body, headers, "Content-Length: " + "0" * 5000 + "1"))
    assert status_of(answer) == 401  # read as length 1: a body the signature does not cover
    assert "verdict=PayloadTooLarge" in receiver.lines[0]
    assert "Traceback" not in capfd.readouterr().err
    assert receiver.handled == []


def test_two_different_content_lengths_are_refused(receiver: Receiver) -> None:
    body, headers = good_request()
    raw = request_bytes(body, headers, f"Content-Length: {len(body)}", "Content-Length: 5")
    assert status_of(receiver.exchange(raw)) == 400
    assert "verdict=DuplicateHeader" in receiver.lines[-1]
    assert receiver.handled == []
    # The same request, framed once, is handled: the refusal was about framing.
    assert (
        status_of(receiver.exchange(request_bytes(body, headers, f"Content-Length: {len(body)}")))
        == 204
    )


def test_the_backlog_holds_a_burst_of_new_connections() -> None:
    """Nothing accepts here: only the kernel's queue (the backlog) completes handshakes."""
    server = WebhookServer(("127.0.0.1", 0), Verifier(SECRET, now=NOW), log=lambda line: None)
    sockets: list[socket.socket] = []
    try:
        for _ in range(200):
            sockets.append(socket.create_connection(server.server_address[:2], timeout=0.5))
        assert LISTEN_BACKLOG >= 1024
    finally:
        for sock in sockets:
            sock.close()
        server.server_close()


def test_a_trickling_client_is_cut_off_at_the_header_deadline(receiver: Receiver) -> None:
    """One byte every 0.2 s keeps a plain socket timeout alive forever; the deadline does not."""
    started = time.monotonic()
    closed_after = None
    with receiver.connect() as sock:
        for byte in b"POST /hook HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 40:
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                closed_after = time.monotonic() - started
                break
            sock.settimeout(0.2)
            try:
                if sock.recv(1) == b"":
                    closed_after = time.monotonic() - started
                    break
            except TimeoutError:
                pass
    assert closed_after is not None and closed_after < 3.0, closed_after


def test_when_full_the_longest_waiting_client_makes_room() -> None:
    made = Receiver(max_connections=20, header_timeout=30.0)
    idle = [made.connect() for _ in range(40)]  # connected, never sending a byte
    try:
        for sock in idle:
            sock.send(b"P")
        for number in range(5):
            body, headers = good_request(f"room-{number}")
            raw = request_bytes(body, headers, f"Content-Length: {len(body)}")
            assert status_of(made.exchange(raw)) == 204
        assert len(made.handled) == 5
        assert made.server.open_connections <= 20
    finally:
        for sock in idle:
            sock.close()
        made.server.shutdown()


def test_clients_that_reset_or_leave_early_leave_no_traceback(
    receiver: Receiver, capfd: pytest.CaptureFixture[str]
) -> None:
    body, headers = good_request("reset-1")
    raw = request_bytes(body, headers, f"Content-Length: {len(body)}")
    for number in range(20):
        sock = receiver.connect()
        sock.sendall(raw[: 40 + number * 10] if number % 2 else raw[: len(raw) - 100])
        if number % 2:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # a reset (linger 0) or an early close
    time.sleep(0.5)
    # The server is still serving, and said nothing about the clients that left.
    assert status_of(receiver.exchange(raw)) == 204
    err = capfd.readouterr().err
    assert "Traceback" not in err and "127.0.0.1" not in err
    assert not any("127.0.0.1" in line for line in receiver.lines)


def test_concurrent_duplicates_are_handled_once(receiver: Receiver) -> None:
    body, headers = good_request("concurrent-1")
    raw = request_bytes(body, headers, f"Content-Length: {len(body)}")
    statuses: list[int] = []

    def send() -> None:
        statuses.append(status_of(receiver.exchange(raw)))

    threads = [threading.Thread(target=send) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(set(statuses)) <= [200, 204, 409] and statuses.count(204) == 1
    assert len(receiver.handled) == 1


def test_a_trickled_body_is_cut_off_and_holds_no_request_thread() -> None:
    made = Receiver(body_timeout=1.0, workers=2)
    body, headers = good_request("slow-body")
    head = request_bytes(b"", headers, f"Content-Length: {len(body)}")
    trickling = [made.connect() for _ in range(10)]  # more than the 2 request threads
    try:
        for sock in trickling:
            sock.sendall(head + body[:10])
        # Every request thread is free: a good delivery is answered at once.
        good_body, good_headers = good_request("beside-slow-body")
        raw = request_bytes(good_body, good_headers, f"Content-Length: {len(good_body)}")
        started = time.monotonic()
        assert status_of(made.exchange(raw)) == 204
        assert time.monotonic() - started < 0.5
        time.sleep(1.6)  # past the body deadline
        for sock in trickling:
            sock.settimeout(2)
            assert sock.recv(1) == b""  # closed by the receiver
        assert [event.id for event in made.handled] == [good_headers["webhook-id"]]
    finally:
        for sock in trickling:
            sock.close()
        made.server.shutdown()
