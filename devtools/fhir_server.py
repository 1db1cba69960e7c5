"""A local stand-in for Canvas's FHIR API: the token endpoint, `GET /Task/{id}`, and
`GET /{Type}/{id}` for other resources (the Patients and Practitioners INCLUDE reads).

Canvas's hosted API cannot run here, so this serves its documented responses (the Task
read response, the OperationOutcome 404) over real HTTP on 127.0.0.1. Faults are
scripted per path (`script`), so tests can make any request fail in any documented way;
`read_delay` adds a fixed wait to every read, so benchmarks can show whether reads overlap.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from .fixtures import FIXTURES_DIR

TOKEN_PATH = "/auth/token/"  # noqa: S105 - a path, not a password
TOKEN_LIFETIME_SECONDS = 36000


def canvas_not_found_body() -> bytes:
    """Canvas's documented 404 body for a Task read (an OperationOutcome)."""
    return (FIXTURES_DIR / "canvas" / "task_read_response_404.json").read_bytes()


@dataclass
class ScriptedResponse:
    """One canned answer: status, body bytes, content type."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"


@dataclass
class FhirServerState:
    """What the server serves and what it has seen; shared with the handler threads."""

    client_id: str
    client_secret: str
    token_prefix: str = ""
    tasks: dict[str, bytes] = field(default_factory=dict)
    # Other resources by read path ("Patient/example").
    resources: dict[str, bytes] = field(default_factory=dict)
    read_delay: float = 0.0
    tokens: set[str] = field(default_factory=set)
    script: dict[str, deque[ScriptedResponse]] = field(default_factory=dict)
    token_requests: int = 0
    task_requests: int = 0
    resource_requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def scripted(self, path: str) -> ScriptedResponse | None:
        with self.lock:
            queue = self.script.get(path)
            if queue:
                return queue.popleft()
        return None


class FhirHandler(BaseHTTPRequestHandler):
    server: FhirHttpServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Silent: request lines carry Task ids, and tests read their own counters."""

    def send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
        if self.path != TOKEN_PATH:
            self.send(404, b'{"error": "not found"}')
            return
        with state.lock:
            state.token_requests = state.token_requests + 1
        canned = state.scripted(TOKEN_PATH)
        if canned is not None:
            self.send(canned.status, canned.body, canned.content_type)
            return
        if (
            form.get("grant_type") != ["client_credentials"]
            or form.get("client_id") != [state.client_id]
            or form.get("client_secret") != [state.client_secret]
        ):
            self.send(401, b'{"error": "invalid_client"}')
            return
        token = state.token_prefix + secrets.token_urlsafe(24)
        with state.lock:
            state.tokens.add(token)
        document = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME_SECONDS,
            "scope": "system/Task.read",
        }
        self.send(200, json.dumps(document).encode("utf-8"))

    def do_GET(self) -> None:
        state = self.server.state
        if state.read_delay:
            time.sleep(state.read_delay)
        if not self.path.startswith("/Task/"):
            self.serve_resource(state)
            return
        task_id = self.path[len("/Task/") :]
        with state.lock:
            state.task_requests = state.task_requests + 1
        if self.answered_before_lookup(state):
            return
        body = state.tasks.get(task_id)
        if body is None:
            self.send(404, canvas_not_found_body())
            return
        self.send(200, body)

    def answered_before_lookup(self, state: FhirServerState) -> bool:
        """Any read's gate: a scripted answer, else 401 without a token we issued."""
        canned = state.scripted(self.path)
        if canned is not None:
            self.send(canned.status, canned.body, canned.content_type)
            return True
        auth = self.headers.get("Authorization") or ""
        with state.lock:
            authorized = auth.startswith("Bearer ") and auth[len("Bearer ") :] in state.tokens
        if not authorized:
            self.send(401, b'{"resourceType": "OperationOutcome", "issue": []}')
            return True
        return False

    def serve_resource(self, state: FhirServerState) -> None:
        """A non-Task read: scripted answer, else 401 without a token, else the resource."""
        with state.lock:
            state.resource_requests = state.resource_requests + 1
        if self.answered_before_lookup(state):
            return
        with state.lock:
            body = state.resources.get(self.path[1:])
        if body is None:
            self.send(404, canvas_not_found_body())
            return
        self.send(200, body)


class FhirHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: FhirServerState) -> None:
        super().__init__(("127.0.0.1", 0), FhirHandler)
        self.state = state


class LocalFhirServer:
    """Context manager: a FHIR server on a free port of 127.0.0.1, in a thread."""

    def __init__(
        self,
        client_id: str = "local-client",
        client_secret: str | None = None,
        token_prefix: str = "",
    ) -> None:
        """`token_prefix` marks every issued token, so tests can scan logs for leaked ones."""
        self.state = FhirServerState(
            client_id=client_id,
            client_secret=client_secret or secrets.token_urlsafe(16),
            token_prefix=token_prefix,
        )
        self.server = FhirHttpServer(self.state)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return "http://127.0.0.1:" + str(self.server.server_address[1])

    @property
    def token_url(self) -> str:
        return self.base_url + TOKEN_PATH

    def plugin_variables(self, webhook_url: str, **extra: str) -> dict[str, str]:
        """The plugin's variables for a local run against this server and `webhook_url`."""
        variables = {
            "WEBHOOK_URL": webhook_url,
            "ALLOW_LOCAL_URLS": "true",
            "FHIR_CLIENT_ID": self.state.client_id,
            "FHIR_CLIENT_SECRET": self.state.client_secret,
            "FHIR_BASE_URL": self.base_url,
            "FHIR_TOKEN_URL": self.token_url,
        }
        variables.update(extra)
        return variables

    def add_task(self, task: dict[str, Any] | bytes, task_id: str | None = None) -> str:
        """Serve a Task (as given: bytes are served unchanged); return its id."""
        body = task if isinstance(task, bytes) else json.dumps(task).encode("utf-8")
        ident = task_id or json.loads(body)["id"]
        with self.state.lock:
            self.state.tasks[ident] = body
        return str(ident)

    def add_resource(self, path: str, body: bytes) -> None:
        """Serve `body` unchanged at `GET /{path}` (e.g. path "Patient/example")."""
        with self.state.lock:
            self.state.resources[path] = body

    def script_response(
        self, path: str, status: int, body: bytes = b"", content_type: str = "application/json"
    ) -> None:
        """Answer the next request to `path` with this, before normal service resumes."""
        with self.state.lock:
            self.state.script.setdefault(path, deque()).append(
                ScriptedResponse(status, body, content_type)
            )

    def revoke_tokens(self) -> None:
        """Forget every issued token, as when Canvas rotates or revokes them."""
        with self.state.lock:
            self.state.tokens.clear()

    def __enter__(self) -> LocalFhirServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
