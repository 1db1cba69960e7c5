"""A local stand-in for Canvas's `/plugin-io/api/<plugin>/...`: HTTP in, SimpleAPI events out.

Canvas serves a plugin's SimpleAPI routes on the instance's origin: it strips any
`canvas-logged-in-user-*` headers the browser sent, sets them from the session cookie of a
logged-in user, sends `SIMPLE_API_AUTHENTICATE` to the plugin runner and, if the plugin
answers 200, `SIMPLE_API_REQUEST`; the plugin's response effect becomes the HTTP response.
This gateway does the same against the real runner (`PluginRunner.send_event`), with
stand-in sessions instead of Canvas's login: opening `login_url()` sets a random session
cookie (HttpOnly, SameSite=Lax, like Django's session cookie) that the gateway maps to one
staff member (or, for the tests of who is refused, one patient). Without the cookie the
plugin sees no session.

Local use only: it listens on 127.0.0.1 and its sessions live in memory for one run.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .runner import PACKAGE_NAME, PluginRunner

COOKIE = "canvas_session"
API_ROOT = "/plugin-io/api/"
# Headers Canvas sets itself from the session; a browser's copies never reach the plugin.
SESSION_HEADERS = ("canvas-logged-in-user-id", "canvas-logged-in-user-type")
HOP_HEADERS = ("connection", "keep-alive", "transfer-encoding", "cookie", "host")


class GatewayHandler(BaseHTTPRequestHandler):
    server: GatewayServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Silent: the demo prints its own lines, the tests assert on responses."""

    def do_GET(self) -> None:
        self.handle_any("GET")

    def do_POST(self) -> None:
        self.handle_any("POST")

    def do_PUT(self) -> None:
        self.handle_any("PUT")

    def do_PATCH(self) -> None:
        self.handle_any("PATCH")

    def do_DELETE(self) -> None:
        self.handle_any("DELETE")

    def handle_any(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        gateway = self.server.owner
        if method == "GET" and parts.path.startswith("/_session/"):
            self.start_session(parts.path.removeprefix("/_session/"), parts.query)
            return
        prefix = API_ROOT + gateway.plugin_name + "/"
        if not parts.path.startswith(prefix):
            self.reply(404, {"Content-Type": "text/plain"}, b"not found")
            return
        status, headers, content = gateway.forward(
            method,
            "/" + parts.path.removeprefix(prefix),
            parts.query,
            body,
            [(name, value) for name, value in self.headers.items()],
        )
        self.reply(status, headers, content)

    def start_session(self, token: str, query: str) -> None:
        gateway = self.server.owner
        user = gateway.sessions.get(token)
        target = (parse_qs(query).get("next") or [gateway.page_path])[0]
        if user is None or not target.startswith(API_ROOT + gateway.plugin_name + "/"):
            self.reply(403, {"Content-Type": "text/plain"}, b"unknown session")
            return
        cookie = COOKIE + "=" + token + "; Path=/; HttpOnly; SameSite=Lax"
        self.reply(303, {"Location": target, "Set-Cookie": cookie}, b"")

    def reply(self, status: int, headers: dict[str, str], content: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)


class GatewayServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A browser closing a kept-alive connection is not an error worth a traceback."""

    def __init__(self, owner: SimpleApiGateway, port: int) -> None:
        super().__init__(("127.0.0.1", port), GatewayHandler)
        self.owner = owner


class SimpleApiGateway:
    """`with SimpleApiGateway(runner) as gateway:` serves the plugin's SimpleAPI to a browser."""

    def __init__(
        self,
        runner: PluginRunner,
        plugin_name: str = PACKAGE_NAME,
        page_path: str = "/app/deliveries",
        port: int = 0,
    ) -> None:
        self.runner = runner
        self.plugin_name = plugin_name
        self.page_path = API_ROOT + plugin_name + page_path
        self.sessions: dict[str, tuple[str, str]] = {}
        self.staff_session = self.new_session("Staff", "stand-in-staff-1")
        self.patient_session = self.new_session("Patient", "stand-in-patient-1")
        self.server = GatewayServer(self, port)
        self.thread: threading.Thread | None = None

    def new_session(self, user_type: str, user_id: str) -> str:
        token = secrets.token_urlsafe(24)
        self.sessions[token] = (user_type, user_id)
        return token

    @property
    def origin(self) -> str:
        return "http://127.0.0.1:" + str(self.server.server_address[1])

    @property
    def page_url(self) -> str:
        return self.origin + self.page_path

    def login_url(self, session: str | None = None) -> str:
        """Opening this URL starts the stand-in staff session and lands on the page."""
        return self.origin + "/_session/" + (session or self.staff_session)

    def cookie_header(self, session: str | None = None) -> str:
        """The Cookie header of a browser in that session (for HTTP clients in tests)."""
        return COOKIE + "=" + (session or self.staff_session)

    def forward(
        self,
        method: str,
        path: str,
        query: str,
        body: bytes,
        request_headers: list[tuple[str, str]],
    ) -> tuple[int, dict[str, str], bytes]:
        """One request through the runner as Canvas does it: authenticate, then request."""
        headers: dict[str, str] = {}
        cookie = SimpleCookie()
        for name, value in request_headers:
            lowered = name.lower()
            if lowered == "cookie":
                cookie.load(value)
                continue
            if lowered in SESSION_HEADERS or lowered in HOP_HEADERS:
                continue
            headers[name] = headers[name] + ", " + value if name in headers else value
        morsel = cookie.get(COOKIE)
        user = self.sessions.get(morsel.value) if morsel is not None else None
        if user is not None:
            headers["canvas-logged-in-user-type"] = user[0]
            headers["canvas-logged-in-user-id"] = user[1]
        context = {
            "plugin_name": self.plugin_name,
            "method": method,
            "path": path,
            "query_string": query,
            "body": base64.b64encode(body).decode("ascii"),
            "headers": headers,
        }
        status, response_headers, content = self.response_of(
            self.runner.send_event("SIMPLE_API_AUTHENTICATE", "", context)
        )
        if status != 200:
            return status, response_headers, content
        return self.response_of(self.runner.send_event("SIMPLE_API_REQUEST", "", context))

    @staticmethod
    def response_of(effects: list[Any]) -> tuple[int, dict[str, str], bytes]:
        responses = [effect for effect in effects if effect.type == "SIMPLE_API_RESPONSE"]
        if len(responses) != 1:
            message = {"error": "the plugin gave " + str(len(responses)) + " responses"}
            return 502, {"Content-Type": "application/json"}, json.dumps(message).encode()
        payload = responses[0].payload
        headers = {str(name): str(value) for name, value in (payload.get("headers") or {}).items()}
        content = base64.b64decode(payload.get("body") or "")
        return int(payload.get("status_code", 500)), headers, content

    def __enter__(self) -> SimpleApiGateway:
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self.thread is not None:
            self.thread.join(timeout=5)
