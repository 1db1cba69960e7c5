"""The reference receiver: a small stdlib HTTP server around `Verifier.process`.

It shows (and tests) the answers a sender needs: 204 handled, 200 for a duplicate of a
handled event (so the sender stops), 409 while another worker holds the event (so it
retries), 400 for what can never succeed, 401 for what is not authenticated, 413 for an
oversized body, 503 when the replay store is down. Headers that decide authentication
(signature, id, timestamp, Authorization) must appear once: with two signature headers,
which one a framework hands over is an accident, and accidents are how checks get bypassed.

One log line per request, to stderr: webhook-id, type, Task id, status, verdict. Never the
body: every Task field is PHI.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .capture import CaptureFormatError, CaptureWriter
from .errors import WebhookVerificationError
from .event import VerifiedEvent
from .verifier import Verifier

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
# Bodies up to this size are read and discarded after a 413, so the client sees the
# answer instead of a reset connection; anything larger just gets the connection closed.
DRAIN_LIMIT_BYTES = 16 * 1024 * 1024
SINGLE_HEADERS = ("webhook-signature", "webhook-id", "webhook-timestamp", "authorization")
_LOGGABLE_ID = re.compile(r"[^A-Za-z0-9_.:-]")

EventHandler = Callable[[VerifiedEvent], None]
LogSink = Callable[[str], None]


def stderr_log(line: str) -> None:
    """Default sink: one line per request on stderr."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def loggable_id(value: Any) -> str:
    """A header value safe to log before it is verified: no newlines, no escapes, short."""
    if not isinstance(value, str) or not value:
        return "-"
    return _LOGGABLE_ID.sub("?", value[:80])


class WebhookServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer that knows its Verifier; `serve` starts one in a thread."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        verifier: Verifier,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        on_event: EventHandler | None = None,
        log: LogSink | None = None,
        capture: CaptureWriter | None = None,
    ) -> None:
        super().__init__(address, WebhookRequestHandler)
        self.verifier = verifier
        self.max_body_bytes = max_body_bytes
        self.on_event = on_event
        self.capture = capture
        self.log = log if log is not None else stderr_log
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        shown = host if isinstance(host, str) else bytes(host).decode()
        if ":" in shown:
            shown = "[" + shown + "]"
        return "http://" + shown + ":" + str(port) + "/"

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


def serve(
    verifier: Verifier,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    on_event: EventHandler | None = None,
    log: LogSink | None = None,
    capture: CaptureWriter | None = None,
) -> WebhookServer:
    """Start a receiver in the background; port 0 picks a free port (`.server_address`)."""
    server = WebhookServer(
        (host, port),
        verifier,
        max_body_bytes=max_body_bytes,
        on_event=on_event,
        log=log,
        capture=capture,
    )
    return server.start()


class WebhookRequestHandler(BaseHTTPRequestHandler):
    """POST any path: verify, claim, hand to `on_event`, answer; everything else is 405."""

    server: WebhookServer
    protocol_version = "HTTP/1.1"
    server_version = "enriched-webhook-receiver"
    sys_version = ""
    timeout = 30  # a client that stalls mid-body does not hold a thread forever

    def do_POST(self) -> None:
        started = time.perf_counter()
        fields = {"type": "-", "task": "-"}
        status, verdict, message = self._handle(fields)
        # Logged before answering, so whoever sees the answer can also see the line.
        elapsed = (time.perf_counter() - started) * 1000
        self.server.log(
            "webhook id="
            + loggable_id(self.headers.get("webhook-id"))
            + " type="
            + fields["type"]
            + " task="
            + fields["task"]
            + " status="
            + str(status)
            + " verdict="
            + verdict
            + " ms="
            + format(elapsed, ".1f")
        )
        self._answer(status, verdict, message)

    def _refuse(self) -> None:
        self.close_connection = True
        self._answer(405, "MethodNotAllowed", "only POST is accepted")

    do_GET = do_PUT = do_DELETE = do_PATCH = do_HEAD = _refuse  # noqa: N815

    def _handle(self, fields: dict[str, str]) -> tuple[int, str, str]:
        for name in SINGLE_HEADERS:
            if len(self.headers.get_all(name, [])) > 1:
                self.close_connection = True
                return 400, "DuplicateHeader", "header " + name + " appears more than once"
        if self.headers.get("transfer-encoding") is not None:
            self.close_connection = True
            return 411, "LengthRequired", "chunked bodies are not accepted; send Content-Length"
        length_text = self.headers.get("content-length")
        if length_text is None or not length_text.isascii() or not length_text.isdigit():
            self.close_connection = True
            return 411, "LengthRequired", "Content-Length is required"
        length = int(length_text)
        if length > self.server.max_body_bytes:
            self._discard(length)
            return 413, "PayloadTooLarge", "the body exceeds the receiver's limit"
        body = self.rfile.read(length)
        if len(body) != length:
            self.close_connection = True
            return 400, "IncompleteBody", "the body is shorter than Content-Length"
        if self.server.capture is not None:
            # Every request that arrived whole, whatever its verdict: captures are for
            # debugging exactly the requests that fail.
            try:
                self.server.capture.write(self.headers.items(), body)
            except (CaptureFormatError, OSError) as error:
                self.server.log("capture skipped: " + type(error).__name__)
        try:
            with self.server.verifier.process(body, self.headers) as event:
                fields["type"] = event.type
                fields["task"] = event.task_id or "-"
                handler = self.server.on_event
                if handler is not None:
                    handler(event)
        except WebhookVerificationError as error:
            return error.http_status, type(error).__name__, str(error)
        except Exception as error:
            # The claim was released by process(): the sender's retry may succeed.
            return 500, type(error).__name__, "the receiver failed to handle the event"
        return 204, "ok", ""

    def _discard(self, length: int) -> None:
        self.close_connection = True
        if length > DRAIN_LIMIT_BYTES:
            return
        remaining = length
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 65536))
            if not chunk:
                return
            remaining = remaining - len(chunk)

    def _answer(self, status: int, verdict: str, message: str) -> None:
        payload = b""
        if status != 204:
            document = {"verdict": verdict}
            if message:
                document["message"] = message
            payload = json.dumps(document).encode("ascii")
        self.send_response(status)
        if payload:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if payload and self.command != "HEAD":
            self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Silenced: the one line per request above is the log (client IPs stay out)."""
