"""Retries end to end: the outbox retries on 5xx, 429 and 409 in its cron ticks, and the
reference receiver, with its replay cache, handles each event exactly once, whatever was
lost on the way.

RETRY_SCHEDULE is "0,0,0" here, so each CRON event makes the next attempt of a row that
is still pending: four attempts in all, as many as the effect path's `max_retries=3`.
That the ticks wait for the schedule is shown in test_faults.py.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections import Counter, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from devtools.fhir_server import LocalFhirServer
from devtools.fixtures import fixture_tasks
from devtools.runner import PluginRunner
from enriched_webhook.receiver.event import VerifiedEvent
from enriched_webhook.receiver.http_server import serve
from enriched_webhook.verify import Verifier
from tests.e2e.test_runner_e2e import event_lines, tick
from tests.support import new_whsec

pytestmark = pytest.mark.runner

FIXTURES = fixture_tasks()


class FlakyFront:
    """A proxy in front of the receiver: answers scripted faults, or forwards.

    'drop-ack' forwards the request (the receiver handles it) but answers 503 to the
    sender, as when the receiver's response is lost on the way back.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.script: deque[int | str] = deque()
        self.answers: list[int] = []
        front = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                """Silent."""

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                step = front.script.popleft() if front.script else "forward"
                if isinstance(step, int):
                    status = step
                else:
                    status = front.forward(body, dict(self.headers.items()))
                    if step == "drop-ack":
                        status = 503
                front.answers.append(status)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def forward(self, body: bytes, headers: dict[str, str]) -> int:
        request = urllib.request.Request(self.upstream, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)

    @property
    def url(self) -> str:
        return "http://127.0.0.1:" + str(self.server.server_address[1]) + "/hook"

    def __enter__(self) -> FlakyFront:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_each_event_is_handled_exactly_once_through_faults_and_retries(
    fhir: LocalFhirServer,
) -> None:
    secret = new_whsec()
    handled: Counter[str] = Counter()
    failures = {"left": 1}
    lock = threading.Lock()

    def handle(event: VerifiedEvent) -> None:
        with lock:
            if event.task_id == FIXTURES[2].task_id and failures["left"]:
                failures["left"] = failures["left"] - 1
                raise RuntimeError("the receiver's database is down")  # answered 500
            handled[event.id] = handled[event.id] + 1

    receiver = serve(Verifier(secrets=[secret]), on_event=handle, log=lambda line: None)
    try:
        with FlakyFront(receiver.url + "hook") as front:
            variables = fhir.plugin_variables(
                front.url, WEBHOOK_SECRET=secret, RETRY_SCHEDULE="0,0,0"
            )
            with PluginRunner(variables) as runner:

                def deliver(target: str) -> list[int]:
                    """The event, then CRON ticks until one sends nothing: every answer."""
                    before = len(front.answers)
                    assert runner.send_event("TASK_CREATED", target) == []
                    for _ in range(6):
                        seen = len(front.answers)
                        tick(runner)
                        if len(front.answers) == seen:
                            break
                    return front.answers[before:]

                # 5xx and 429 at the front, then through.
                front.script.extend([503, 429])
                assert deliver(FIXTURES[0].task_id) == [503, 429, 204]
                # The receiver's own handler fails once: 500, the claim is released, the retry wins.
                assert deliver(FIXTURES[2].task_id) == [500, 204]
                # Handled, but the answer is lost: the retry gets 200 and is not handled twice.
                front.script.append("drop-ack")
                assert deliver(FIXTURES[3].task_id) == [503, 200]
                # Canvas sends an event a second time: one outbox row, nothing sent again.
                assert deliver(FIXTURES[0].task_id) == []
                # 409 (another worker holds the id) is retried, since that worker may fail.
                front.script.append(409)
                assert deliver(FIXTURES[4].task_id) == [409, 204]
                for fixture in FIXTURES[5:]:
                    assert deliver(fixture.task_id) == [204]
            log = runner.log_text()
    finally:
        receiver.shutdown()

    assert len(handled) == len(FIXTURES) - 1  # FIXTURES[1] was never sent
    assert set(handled.values()) == {1}, "handled more than once: " + str(handled)
    assert sum("outcome=duplicate" in line for line in event_lines(log)) == 1
    assert "Traceback" not in log and "reason=unexpected" not in log
