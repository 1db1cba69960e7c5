"""One Task event inside Canvas: store it in the outbox, then make the first attempt.

`compute()` reads the Task, builds the body, stores the row (durable before anything is
sent), and makes the first attempt itself with FIRST_ATTEMPT_TIMEOUTS (2 s to connect, 5 s
to answer by default), unless the circuit breaker says the receiver is down: then the row
is only stored and the cron tick takes it. Every outcome is a row, or one log line with
the reason; never an exception out of `compute()`, never an unsigned request. The log
line carries ids, status codes and timings only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ..shared.task_rules import is_fhir_id
from .config import PluginSettings, load_settings
from .config_errors import ConfigError
from .fhir_client import FhirTaskReader
from .outbox import breaker
from .outbox.delivery import attempt
from .outbox.intake import intake_event
from .outbox.store import new_claim_token, update_claimed

LOG_PREFIX = "enriched-webhook"


@dataclass
class EventOutcome:
    """What happened to one event, as one log line."""

    event: str
    task_id: str
    outcome: str = "error"
    reason: str = ""
    msg_id: str = ""
    mode: str = ""
    status: int | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def is_error(self) -> bool:
        return self.outcome in ("error", "config-error", "failed", "invalid-target")

    def log_line(self) -> str:
        parts = [LOG_PREFIX, "event=" + self.event, "task=" + self.task_id]
        if self.msg_id:
            parts.append("webhook_id=" + self.msg_id)
        if self.mode:
            parts.append("mode=" + self.mode)
        parts.append("outcome=" + self.outcome)
        if self.status is not None:
            parts.append("status=" + str(self.status))
        for name in ("read", "include", "build", "send", "total"):
            if name in self.timings_ms:
                parts.append(name + "_ms=" + str(round(self.timings_ms[name], 3)))
        if self.reason:
            parts.append('reason="' + self.reason.replace('"', "'") + '"')
        return " ".join(parts)


def _safe_id(value: Any) -> str:
    """The target id as it may appear in a log: a FHIR id, nothing that could be text."""
    return value if is_fhir_id(value) else "<invalid>"


def handle_task_event(
    event_name: str,
    target_id: Any,
    secrets: dict[str, Any],
    environment: dict[str, Any],
    reader: FhirTaskReader | None = None,
) -> EventOutcome:
    """Run one event; `reader` is injectable for tests that share a token cache."""
    started = time.perf_counter()
    task_id = _safe_id(target_id)
    try:
        settings = load_settings(secrets, environment)
    except ConfigError as error:
        return EventOutcome(event_name, task_id, "config-error", str(error))
    if event_name not in settings.events:
        return EventOutcome(event_name, task_id, "skipped", "event not enabled in EVENTS")
    if task_id == "<invalid>":
        reason = "the event's target is not a FHIR id"
        return EventOutcome(event_name, task_id, "invalid-target", reason)
    mode = settings.signing_mode if settings.jwt is None else settings.jwt.algorithm
    try:
        result = store_and_send(settings, event_name, task_id, reader)
    except ConfigError as error:
        result = EventOutcome(event_name, task_id, "config-error", str(error))
    result.mode = mode
    result.timings_ms["total"] = (time.perf_counter() - started) * 1000
    return result


def store_and_send(
    settings: PluginSettings, event_name: str, task_id: str, reader: FhirTaskReader | None
) -> EventOutcome:
    """Store the event in the outbox, then make the first attempt unless the breaker is open."""
    now = time.time()
    token = new_claim_token()
    source = reader if reader is not None else FhirTaskReader(settings)
    intake = intake_event(settings, event_name, task_id, "event", source, now, token)
    result = EventOutcome(event_name, task_id, timings_ms=dict(intake.timings_ms))
    if intake.row is not None:
        result.msg_id = intake.row.webhook_id
    if intake.outcome != "stored":
        result.outcome = {"reading": "read-retry"}.get(intake.outcome, intake.outcome)
        result.reason = intake.reason
        return result
    if breaker.view(settings).opened:
        update_claimed(intake.row.dbid, token, {"next_attempt_at": now})
        result.outcome = "stored"
        result.reason = "receiver circuit open: the cron tick delivers it"
        return result
    sent = time.perf_counter()
    try:
        outcome = attempt(settings, intake.row, token, settings.delivery.first_attempt_timeouts)
    except ConfigError as error:
        # Stored, but the key cannot sign: the row waits (due) until the variable is fixed.
        update_claimed(intake.row.dbid, token, {})
        result.outcome = "config-error"
        result.reason = str(error)
        return result
    result.timings_ms["send"] = (time.perf_counter() - sent) * 1000
    result.status = outcome.status
    result.outcome = {"pending": "retry-scheduled"}.get(outcome.state, outcome.state)
    if outcome.state != "delivered":
        result.reason = outcome.error or "not delivered"
    return result
