"""What the outbox tests share: a counting reference receiver behind a fault gate, Tasks.

The receiver is the library's reference receiver (`enriched_webhook.receiver.http_server`),
verifying and deduplicating; it also keeps every request's raw headers and body, so tests
verify each one again with `standardwebhooks` at its default tolerance.
"""

from __future__ import annotations

import copy
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from standardwebhooks.webhooks import Webhook

from devtools.fault_gate import FaultGate
from devtools.fhir_server import LocalFhirServer
from devtools.fixtures import fixture_tasks
from devtools.outbox_client import api
from devtools.runner import PluginRunner
from enriched_webhook.receiver.event import VerifiedEvent
from enriched_webhook.receiver.http_server import serve
from enriched_webhook.receiver.verifier import Verifier
from tests.support import new_whsec

API_KEY = "ops-" + "k" * 28
BASE_TASK = next(f for f in fixture_tasks() if f.name == "canvas/task_read_response_200.json")


def distinct_tasks(fhir: LocalFhirServer, prefix: str, count: int) -> list[str]:
    """`count` Tasks served by `fhir`, each with its own id and lastModified."""
    ids = []
    for index in range(count):
        task = copy.deepcopy(BASE_TASK.task)
        task["id"] = f"{prefix}-{index}"
        task["lastModified"] = f"2026-11-29T10:{index // 60 % 60:02d}:{index % 60:02d}Z"
        fhir.add_task(task)
        ids.append(task["id"])
    return ids


@dataclass
class Arrival:
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class CountingReceiver:
    """The reference receiver with what it handled per webhook-id and every raw request."""

    secret: str
    handled: Counter[str] = field(default_factory=Counter)
    arrivals: list[Arrival] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: Any = None

    def write(self, headers: Iterable[tuple[str, str]], body: bytes) -> None:
        """The capture hook: called with each request's raw headers and body."""
        with self.lock:
            self.arrivals.append(Arrival({k.lower(): v for k, v in headers}, body, time.time()))

    def on_event(self, event: VerifiedEvent) -> None:
        with self.lock:
            self.handled[event.id] += 1

    def __enter__(self) -> CountingReceiver:
        self.server = serve(
            Verifier(secrets=[self.secret]),
            on_event=self.on_event,
            capture=self,
            log=lambda _: None,
        )
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def verify_all_with_standardwebhooks(self) -> int:
        """Every request that arrived verifies with the reference library, default tolerance."""
        checker = Webhook(self.secret)
        for arrival in self.arrivals:
            checker.verify(arrival.body, arrival.headers)
        return len(self.arrivals)


def outbox_variables(fhir: LocalFhirServer, url: str, secret: str, **extra: str) -> dict[str, str]:
    """The plugin's variables for an outbox run: short schedule and timeouts, an API key."""
    variables = {
        "WEBHOOK_SECRET": secret,
        "RETRY_SCHEDULE": "1,1,1,1,1,1",
        "FIRST_ATTEMPT_TIMEOUTS": "1,1",
        "RETRY_TIMEOUTS": "1,1",
        "FHIR_TIMEOUTS": "1,2",
        "BREAKER_THRESHOLD": "3",
        "OPERATIONS_API_KEY": API_KEY,
    }
    variables.update(extra)
    return fhir.plugin_variables(url, **variables)


def rows(runner: PluginRunner, **query: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    offset = 0
    while True:
        text = "&".join(
            f"{k}={v}" for k, v in {**query, "limit": "200", "offset": str(offset)}.items()
        )
        status, page = api(runner, "GET", "/api/deliveries", API_KEY, query=text)
        assert status == 200
        found += page["deliveries"]
        offset += len(page["deliveries"])
        if offset >= page["total"] or not page["deliveries"]:
            return found


def detail(runner: PluginRunner, webhook_id: str) -> dict[str, Any]:
    status, found = api(runner, "GET", f"/api/deliveries/{webhook_id}", API_KEY)
    assert status == 200
    return dict(found)


def until(condition: Callable[[], bool], step: Callable[[], None], limit: int) -> int:
    """Run `step` until `condition` holds, at most `limit` times; returns the steps taken."""
    for count in range(limit):
        if condition():
            return count
        step()
    assert condition(), f"not reached after {limit} steps"
    return limit


__all__ = [
    "API_KEY",
    "CountingReceiver",
    "FaultGate",
    "PluginRunner",
    "detail",
    "distinct_tasks",
    "new_whsec",
    "outbox_variables",
    "rows",
    "until",
]
