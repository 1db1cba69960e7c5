"""The reference receiver: a stdlib HTTP server around `answer_webhook`, hardened.

It shows (and tests) the answers a sender needs (see `answer.py`) and holds up as a
public endpoint: it stays on the standard library so that `enriched-webhook receive`
needs nothing beyond the base install, and bounds what an attacker can hold:

- a deep accept backlog (1,024), so bursts of new connections wait in the kernel
  instead of being dropped and retried after a second;
- connections are read in one thread (`connection_gate`, a selector loop) until the
  whole request is in; a small pool of request threads then parses it with
  `http.server`'s parser, verifies and answers. Slow clients cost a socket each, not a
  thread, and never delay good requests;
- a deadline for the request line and headers (`header_timeout`) and one for the body
  (`body_timeout`), whatever the pace of the bytes, so a client trickling one byte a
  second is cut off at the deadline, not kept alive by each byte;
- at most `max_connections` connections (by default what the open-file limit allows):
  when full, the connection that has waited longest for its headers is closed to make
  room, and if none is waiting, the new one is answered 503 and closed;
- framing refused before any body is read: repeated credential or `Content-Length`
  headers and lengths that are not a number (400), a length over the limit (413,
  without converting thousands of digits), `Transfer-Encoding` (411);
- a client that resets or vanishes is dropped quietly: never a traceback, never its
  address.

One log line per request, to stderr: webhook-id, type, Task id, status, verdict, ms.
Never the body (every Task field is PHI), never the client's address.
"""

from __future__ import annotations

import io
import math
import re
import resource
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

from .answer import (
    DEFAULT_MAX_BODY_BYTES,
    EventHandler,
    WebhookAnswer,
    answer_webhook,
)
from .capture import CaptureFormatError, CaptureWriter
from .connection_gate import DRAIN_LIMIT_BYTES, ConnectionGate
from .errors import WebhookVerificationError
from .event import VerifiedEvent
from .headers import ID, declared_length
from .verifier import Verifier

DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_BODY_TIMEOUT = 30.0
# Threads verifying and handling whole requests; they wait only on Redis, never on clients.
DEFAULT_WORKERS = 16
LISTEN_BACKLOG = 1024
# File descriptors kept free for the listening socket, logs, Redis, JWKS fetches.
RESERVED_DESCRIPTORS = 64
_LOGGABLE_ID = re.compile(r"[^A-Za-z0-9_.:-]")

LogSink = Callable[[str], None]


def stderr_log(line: str) -> None:
    """Default sink: one line per request on stderr."""
    sys.stderr.write(f"{line}\n")
    sys.stderr.flush()


def loggable_id(value: Any) -> str:
    """A header value safe to log before it is verified: no newlines, no escapes, short."""
    if not isinstance(value, str) or not value:
        return "-"
    return _LOGGABLE_ID.sub("?", value[:80])


def default_max_connections() -> int:
    """What the soft open-file limit allows, less a reserve: one descriptor per connection."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 16_384
    return max(16, soft - RESERVED_DESCRIPTORS)


class _DeadlineSocketReader(io.RawIOBase):
    """The bytes the header gate already read, then the socket, until a deadline.

    A socket timeout alone restarts with every byte received, so a client sending one
    byte a second never times out; here each read gets only the time left. With
    `nonblocking` set it reports "nothing now" instead of waiting (to collect the bytes
    of a pipelined next request without blocking).
    """

    def __init__(self, sock: socket.socket, buffered: bytes) -> None:
        super().__init__()
        self._sock = sock
        self._pending = memoryview(buffered)
        self.deadline = math.inf
        self.nonblocking = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        pending = self._pending
        if pending:
            size = min(len(pending), len(buffer))
            buffer[:size] = pending[:size]
            self._pending = pending[size:]
            return size
        if self.nonblocking:
            return None
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the client did not send the request in time")
        self._sock.settimeout(remaining if remaining != math.inf else None)
        return self._sock.recv_into(buffer)


class WebhookServer(socketserver.TCPServer):
    """Accepts connections for the header gate; `start` serves it in a background thread."""

    allow_reuse_address = True
    request_queue_size = LISTEN_BACKLOG

    def __init__(
        self,
        address: tuple[str, int],
        verifier: Verifier,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        on_event: EventHandler | None = None,
        log: LogSink | None = None,
        capture: CaptureWriter | None = None,
        header_timeout: float = DEFAULT_HEADER_TIMEOUT,
        body_timeout: float = DEFAULT_BODY_TIMEOUT,
        max_connections: int | None = None,
        workers: int = DEFAULT_WORKERS,
        handler_class: type[WebhookRequestHandler] | None = None,
    ) -> None:
        self._handler_class = handler_class or WebhookRequestHandler
        super().__init__(address, self._handler_class)
        self.verifier = verifier
        self.max_body_bytes = max_body_bytes
        self.on_event = on_event
        self.capture = capture
        self.log = log if log is not None else stderr_log
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self.max_connections = (
            max_connections if max_connections is not None else default_max_connections()
        )
        self.workers = workers
        self._gate = ConnectionGate(self)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        shown = host if isinstance(host, str) else bytes(host).decode()
        if ":" in shown:
            shown = f"[{shown}]"
        return f"http://{shown}:{port}/"

    @property
    def open_connections(self) -> int:
        return self._gate.open_connections

    def start(self) -> WebhookServer:
        """Serve in a daemon thread and return at once (tests, embedding)."""
        thread = threading.Thread(target=self.serve_forever, name="webhook-receiver", daemon=True)
        self._thread = thread
        thread.start()
        return self

    def shutdown(self) -> None:
        """Stop serving and close the socket; safe to call twice or before `start`."""
        thread = self._thread
        if thread is not None:
            self._thread = None
            super().shutdown()
            thread.join(timeout=10)
        self.server_close()

    def server_close(self) -> None:
        super().server_close()
        self._gate.stop()

    def process_request(self, request: Any, client_address: Any) -> None:
        """Hand the new connection to the header gate (the accepting thread never reads)."""
        self._gate.admit(request, client_address, b"", returning=False)

    def handle_connection(self, sock: socket.socket, address: Any, buffered: bytes) -> None:
        """A request thread: one request, then the connection goes back to the gate or closes."""
        leftover: bytes | None = None
        drain = False
        try:
            sock.setblocking(True)
            handler = self._handler_class(sock, address, self, buffered)
            leftover, drain = handler.leftover, handler.drain
        except Exception:
            self.handle_error(sock, address)
        if drain:
            try:
                sock.shutdown(socket.SHUT_WR)  # the answer is complete: no more from us
            except OSError:
                pass
            self._gate.admit(sock, address, b"", returning=True, drain=True)
        elif leftover is None:
            self._gate.release()
            self.shutdown_request(sock)
        else:
            self._gate.admit(sock, address, leftover, returning=True)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """One line, no traceback and no address: a vanished client is not news."""
        error = sys.exc_info()[1]
        if isinstance(error, OSError):
            return
        self.log(f"receiver error={type(error).__name__}")


def serve(
    verifier: Verifier,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    on_event: EventHandler | None = None,
    log: LogSink | None = None,
    capture: CaptureWriter | None = None,
    header_timeout: float = DEFAULT_HEADER_TIMEOUT,
    body_timeout: float = DEFAULT_BODY_TIMEOUT,
    max_connections: int | None = None,
    workers: int = DEFAULT_WORKERS,
) -> WebhookServer:
    """Start a receiver in the background; port 0 picks a free port (`.server_address`)."""
    server = WebhookServer(
        (host, port),
        verifier,
        max_body_bytes=max_body_bytes,
        on_event=on_event,
        log=log,
        capture=capture,
        header_timeout=header_timeout,
        body_timeout=body_timeout,
        max_connections=max_connections,
        workers=workers,
    )
    return server.start()


class WebhookRequestHandler(BaseHTTPRequestHandler):
    """POST any path: verify, claim, hand to `on_event`, answer; everything else is 405."""

    server: WebhookServer
    protocol_version = "HTTP/1.1"
    server_version = "enriched-webhook-receiver"
    sys_version = ""

    def __init__(
        self,
        request: socket.socket,
        client_address: Any,
        server: WebhookServer,
        buffered: bytes = b"",
    ) -> None:
        self._buffered = buffered
        self.leftover: bytes | None = None  # bytes of a next request, when the connection stays
        self.drain = False  # read the rest of a refused body away before closing
        super().__init__(request, client_address, server)

    def setup(self) -> None:
        super().setup()
        self.rfile.close()  # the socket closes only once every file made from it is closed
        self._reader = _DeadlineSocketReader(self.connection, self._buffered)
        self._buffered_reader = io.BufferedReader(self._reader, 65536)
        self.rfile = self._buffered_reader

    def handle(self) -> None:
        """One request (its headers are already buffered), then back to the gate or closed."""
        self.close_connection = True
        self._reader.deadline = time.monotonic() + self.server.body_timeout
        try:
            self.handle_one_request()
        except OSError:
            self.close_connection = True  # reset: nothing to answer
        if not self.close_connection:
            self._reader.nonblocking = True
            self.leftover = self._buffered_reader.peek()

    def do_POST(self) -> None:
        started = time.perf_counter()
        answer = self._answer_request()
        # Logged before answering, so whoever sees the answer can also see the line.
        kind, task = _loggable_fields(answer.event)
        elapsed = (time.perf_counter() - started) * 1000
        self.server.log(
            f"webhook id={loggable_id(self.headers.get(ID))} type={kind} task={task} "
            f"status={answer.status} verdict={answer.verdict} ms={elapsed:.1f}"
        )
        self._send(answer)

    def _refuse(self) -> None:
        self.close_connection = True
        self._send(WebhookAnswer(405, "MethodNotAllowed", "only POST is accepted"))

    do_GET = do_PUT = do_DELETE = do_PATCH = do_HEAD = _refuse  # noqa: N815

    def _answer_request(self) -> WebhookAnswer:
        if self.headers.get("transfer-encoding") is not None:
            self.close_connection = True
            return WebhookAnswer(
                411, "LengthRequired", "chunked bodies are not accepted; send Content-Length"
            )
        if self.headers.get("content-length") is None:
            self.close_connection = True
            return WebhookAnswer(411, "LengthRequired", "Content-Length is required")
        try:
            answer = answer_webhook(
                self.server.verifier,
                self.headers,
                self._read_body,
                self.server.on_event,
                max_body_bytes=self.server.max_body_bytes,
            )
        except TimeoutError:
            self.close_connection = True
            return WebhookAnswer(408, "RequestTimeout", "the body did not arrive in time")
        except _IncompleteBodyError:
            self.close_connection = True
            return WebhookAnswer(400, "IncompleteBody", "the body is shorter than Content-Length")
        if answer.status in (400, 413) and answer.event is None:
            self._discard_body(answer)
        return answer

    def _read_body(self) -> bytes:
        length = declared_length(self.headers["content-length"])  # checked: digits, in limit
        body = self.rfile.read(length)
        if len(body) != length:
            self.close_connection = True
            raise _IncompleteBodyError
        if self.server.capture is not None:
            # Every request that arrived whole, whatever its verdict: captures are for
            # debugging exactly the requests that fail.
            try:
                self.server.capture.write(self.headers.items(), body)
            except (CaptureFormatError, OSError) as error:
                self.server.log(f"capture skipped: {type(error).__name__}")
        return body

    def _discard_body(self, answer: WebhookAnswer) -> None:
        """After a refusal before the body: close; the gate drains a body that is not huge.

        Closing with unread bytes makes the kernel reset the connection, which can destroy
        the answer before the client reads it; the gate reads them away instead (as a
        lingering close), so the request thread never waits for the client.
        """
        self.close_connection = True
        if answer.verdict == "PayloadTooLarge":
            declared = declared_length(str(self.headers.get("content-length", "")))
            self.drain = declared <= DRAIN_LIMIT_BYTES

    def _send(self, answer: WebhookAnswer) -> None:
        payload = answer.content
        try:
            self.send_response(answer.status)
            if answer.content_type:
                self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(payload)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if payload and self.command != "HEAD":
                self.wfile.write(payload)
        except OSError:
            self.close_connection = True  # the client left before the answer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Silenced: the one line per request above is the log (client IPs stay out)."""


def _loggable_fields(event: VerifiedEvent | None) -> tuple[str, str]:
    """The event's type and Task id (safe to log), or "-" where there is none."""
    if event is None:
        return "-", "-"
    try:
        return event.type, event.task_id or "-"
    except WebhookVerificationError:
        return "-", "-"  # deferred parsing (validate_task=False) of an invalid payload


class _IncompleteBodyError(OSError):
    """The client closed before sending Content-Length bytes."""
