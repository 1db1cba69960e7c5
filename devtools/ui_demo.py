"""`python -m devtools demo --ui`: the Webhook deliveries page on a local runner, in a browser.

Starts a local FHIR server, a receiver, the plugin in the real `canvas run-plugin`, and the
gateway that plays Canvas's `/plugin-io/api/<plugin>/...` with a stand-in staff session.
It fills the outbox with a realistic mix through real events: Tasks the receiver accepts
(delivered), Tasks it refuses with a 400 (failed at once), Tasks it answers 503 (retrying
on the schedule), after a week of history for the chart (devtools/demo_history.py: real
events, an outage among them, dated back), then prints the URL to open. A CRON event goes
to the runner every minute, as Canvas sends it, so retries happen while you watch. After
the fill the receiver accepts the refused Tasks (their bug is fixed), so "Resend" on a
failed row delivers it. Ctrl-C stops everything it started.
"""

from __future__ import annotations

import argparse
import copy
import json
import secrets
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from enriched_webhook.receiver.errors import AlreadyHandledError, WebhookVerificationError
from enriched_webhook.receiver.verifier import Verifier
from enriched_webhook.tools.keys import new_hmac_secret

from .demo_history import OUTAGE_TASKS, add_past_week, normal_hours
from .fhir_server import LocalFhirServer
from .fixtures import fixture_tasks
from .gateway import SimpleApiGateway
from .outbox_client import tick
from .runner import PluginRunner, RunnerError

# What a receiver in trouble sends back: an error page that tries to run script. The page
# must show it as text wherever receiver text appears.
HOSTILE_ERROR_TEXT = b"<script>alert(1)</script>"
DEMO_VARIABLES = {
    # Long enough that retrying rows stay retrying while you look at them.
    "RETRY_SCHEDULE": "300,900,3600,21600,86400,172800",
    "FIRST_ATTEMPT_TIMEOUTS": "1,2",
    "RETRY_TIMEOUTS": "1,2",
    "FHIR_TIMEOUTS": "1,2",
    "BREAKER_THRESHOLD": "20",
}


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """The sender closing a kept-alive connection is not an error worth a traceback."""


class ScriptedReceiver:
    """Verifies like the reference receiver; answers a scripted status for chosen Tasks.

    `answers[task_id] = 400` makes every request for that Task fail with that status (and a
    hostile error body); any other request is verified with the library and answered 204
    (200 for a duplicate), so deliveries counted in `handled` are authenticated ones.
    """

    def __init__(self, secret: str) -> None:
        self.verifier = Verifier(secrets=[secret], validate_task=False)
        self.answers: dict[str, int] = {}
        self.handled: Counter[str] = Counter()
        self.requests: Counter[str] = Counter()
        # The last request per webhook-id, as it arrived (for checks with other verifiers).
        self.last_request: dict[str, tuple[dict[str, str], bytes]] = {}
        self.lock = threading.Lock()
        self.server = QuietServer(("127.0.0.1", 0), self.handler_class())
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return "http://127.0.0.1:" + str(self.server.server_address[1]) + "/hook"

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                """Silent: the demo prints its own lines."""

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, content = receiver.answer(body, dict(self.headers.items()))
                self.send_response(status)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

        return Handler

    def answer(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        task_id = envelope_task_id(body)
        with self.lock:
            self.requests[task_id] += 1
            self.last_request[headers.get("webhook-id", "")] = (headers, body)
            scripted = self.answers.get(task_id)
        if scripted is not None:
            return scripted, HOSTILE_ERROR_TEXT
        try:
            with self.verifier.process(body, headers) as event:
                with self.lock:
                    self.handled[event.id] += 1
        except AlreadyHandledError:
            return 200, b""
        except WebhookVerificationError as error:
            return error.http_status, b""
        return 204, b""

    def __enter__(self) -> ScriptedReceiver:
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def envelope_task_id(body: bytes) -> str:
    """The Task id in an envelope's `data` (\"\" for a ping or anything unreadable)."""
    try:
        data = json.loads(body).get("data")
    except (ValueError, AttributeError):
        return ""
    return str(data.get("id", "")) if isinstance(data, dict) else ""


def demo_tasks(fhir: LocalFhirServer, count: int, prefix: str = "demo-task-") -> list[str]:
    """`count` Tasks with their own ids and times, from the repository's fixture Tasks."""
    bases = [fixture.task for fixture in fixture_tasks()]
    ids = []
    for index in range(count):
        task = copy.deepcopy(bases[index % len(bases)])
        task["id"] = prefix + str(index + 1).zfill(3)
        task["lastModified"] = (
            "2026-11-29T0" + str(index // 60 % 10) + ":" + str(index % 60).zfill(2) + ":00Z"
        )
        fhir.add_task(task)
        ids.append(task["id"])
    return ids


def fill(runner: PluginRunner, fhir: LocalFhirServer, receiver: ScriptedReceiver) -> dict[str, int]:
    """Send TASK_CREATED for a realistic mix; return how many of each the receiver made."""
    ids = demo_tasks(fhir, 24)
    refused, down = ids[5:8], ids[14:18]
    for task_id in refused:
        receiver.answers[task_id] = 400
    for task_id in down:
        receiver.answers[task_id] = 503
    for task_id in ids:
        runner.send_event("TASK_CREATED", task_id)
    # The receiver's bug for the refused Tasks is fixed; the outage of the others goes on.
    for task_id in refused:
        del receiver.answers[task_id]
    return {
        "delivered": len(ids) - len(refused) - len(down),
        "failed": len(refused),
        "retrying": len(down),
    }


# A tick's own budget is under a minute; the demo waits that long for one in flight at stop.
CRON_JOIN_SECONDS = 60.0


def cron_every_minute(runner: PluginRunner, stop: threading.Event) -> None:
    """A CRON event at the start of each minute, as Canvas sends it, until stop is set."""
    while not stop.wait(60 - time.time() % 60):
        try:
            tick(runner)
        except Exception as error:
            print(
                "  cron tick failed: " + type(error).__name__ + ": " + str(error), file=sys.stderr
            )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools demo --ui")
    parser.add_argument("--port", type=int, default=8765, help="the gateway's port (127.0.0.1)")
    parser.add_argument(
        "--seconds", type=float, default=0, help="stop after this long (default: on Ctrl-C)"
    )
    args = parser.parse_args(argv)
    secret = new_hmac_secret()
    stop = threading.Event()
    try:
        with LocalFhirServer() as fhir, ScriptedReceiver(secret) as receiver:
            api_key = "demo-" + secrets.token_urlsafe(24)
            variables = fhir.plugin_variables(
                receiver.url, WEBHOOK_SECRET=secret, OPERATIONS_API_KEY=api_key, **DEMO_VARIABLES
            )
            print("enriched-webhook demo --ui: the Webhook deliveries page on a local runner")
            print("  starting the Canvas plugin runner (real sandbox) ...")
            with PluginRunner(variables) as runner:
                with SimpleApiGateway(runner, port=args.port) as gateway:
                    past = demo_tasks(fhir, len(normal_hours()) + OUTAGE_TASKS, "past-task-")
                    history = add_past_week(runner, receiver, past, api_key, time.time())
                    print("  " + history.line())
                    made = fill(runner, fhir, receiver)
                    print(
                        "  outbox filled: "
                        + ", ".join(name + " " + str(count) for name, count in made.items())
                    )
                    cron = threading.Thread(
                        target=cron_every_minute, args=(runner, stop), daemon=True
                    )
                    cron.start()
                    try:
                        print("  open (stand-in staff session): " + gateway.login_url())
                        print(
                            "  the page itself: " + gateway.page_url + " (401 without the session)"
                        )
                        print("  Ctrl-C stops the runner, the gateway and the servers")
                        deadline = time.monotonic() + args.seconds if args.seconds else None
                        while deadline is None or time.monotonic() < deadline:
                            time.sleep(0.2)
                    finally:
                        # The cron thread finishes its tick before the runner goes away: a tick
                        # on a stopping runner would fail for no fault of the plugin.
                        stop.set()
                        cron.join(timeout=CRON_JOIN_SECONDS)
    except KeyboardInterrupt:
        print("  stopped")
    except (RunnerError, OSError) as error:
        print("demo --ui failed: " + str(error), file=sys.stderr)
        return 1
    finally:
        stop.set()
    return 0


if __name__ == "__main__":
    sys.exit(main())
