"""A receiver that records every request exactly as it arrived, for the end-to-end checks.

Answers come from a script of status codes (default 204), so retries can be provoked.
The reference receiver that verifies is `enriched_webhook.receiver`; this one only
captures, so that tests verify with other libraries, independently of ours.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class CapturedRequest:
    """One request: method, path, headers (names lower-cased), the raw body bytes."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int


class CaptureHandler(BaseHTTPRequestHandler):
    server: CaptureHttpServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Silent: tests read `requests`."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        owner = self.server.owner
        with owner.lock:
            status = owner.statuses.popleft() if owner.statuses else owner.default_status
            owner.requests.append(
                CapturedRequest(
                    method="POST",
                    path=self.path,
                    headers={name.lower(): value for name, value in self.headers.items()},
                    body=body,
                    answered=status,
                )
            )
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


class CaptureHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, owner: CaptureReceiver) -> None:
        super().__init__(("127.0.0.1", 0), CaptureHandler)
        self.owner = owner


class CaptureReceiver:
    """Context manager: records requests on a free port of 127.0.0.1."""

    def __init__(self, statuses: list[int] | None = None, default_status: int = 204) -> None:
        self.lock = threading.Lock()
        self.requests: list[CapturedRequest] = []
        self.statuses: deque[int] = deque(statuses or [])
        self.default_status = default_status
        self.server = CaptureHttpServer(self)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return "http://127.0.0.1:" + str(self.server.server_address[1]) + "/hook"

    def __enter__(self) -> CaptureReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
