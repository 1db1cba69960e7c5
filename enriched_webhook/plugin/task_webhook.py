"""One Task event, end to end inside Canvas: read, check, build, sign, hand to delivery.

Every outcome is either an effect that sends the event or one log line with the reason,
never an exception out of `compute()` and never an unsigned request. The log line carries
ids, status codes and timings only; benchmarks parse it (`parse_event_line`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from canvas_sdk.effects import Effect

from ..shared.payload import envelope, occurred_at, serialize, webhook_id
from ..shared.task_rules import TaskRuleError, check_task, is_fhir_id
from .config import ConfigError, PluginSettings, load_settings
from .delivery import delivery_effect
from .fhir_client import FhirReadError, FhirTaskReader
from .signer import sign_request

LOG_PREFIX = "enriched-webhook"


@dataclass
class EventOutcome:
    """What happened to one event, as the log line and the effects to return."""

    event: str
    task_id: str
    outcome: str = "error"
    reason: str = ""
    msg_id: str = ""
    mode: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)
    effects: list[Effect] = field(default_factory=list)

    def log_line(self) -> str:
        parts = [LOG_PREFIX, "event=" + self.event, "task=" + self.task_id]
        if self.msg_id:
            parts.append("webhook_id=" + self.msg_id)
        if self.mode:
            parts.append("mode=" + self.mode)
        parts.append("outcome=" + self.outcome)
        for name in ("read", "build", "sign", "total"):
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
    """Run one event; `reader` is injectable for tests that count token fetches."""
    started = time.perf_counter()
    result = EventOutcome(event=event_name, task_id=_safe_id(target_id))
    try:
        settings = load_settings(secrets, environment)
    except ConfigError as error:
        result.outcome = "config-error"
        result.reason = str(error)
        return result
    if event_name not in settings.events:
        result.outcome = "skipped"
        result.reason = "event not enabled in EVENTS"
        return result
    result.mode = settings.signing_mode if settings.jwt is None else settings.jwt.algorithm
    try:
        run_pipeline(settings, event_name, result, reader, started)
    except FhirReadError as error:
        result.outcome = "fhir-error"
        result.reason = error.reason
    except TaskRuleError as error:
        result.outcome = "invalid-task"
        result.reason = str(error)
    except ConfigError as error:
        result.outcome = "config-error"
        result.reason = str(error)
    result.timings_ms["total"] = (time.perf_counter() - started) * 1000
    return result


def run_pipeline(
    settings: PluginSettings,
    event_name: str,
    result: EventOutcome,
    reader: FhirTaskReader | None,
    started: float,
) -> None:
    task_id = result.task_id
    source = reader if reader is not None else FhirTaskReader(settings)
    task = source.read(task_id)
    check_task(task, expected_id=task_id)
    read_done = time.perf_counter()
    result.timings_ms["read"] = (read_done - started) * 1000

    now = time.time()
    msg_id = webhook_id(event_name, task_id, occurred_at(task))
    result.msg_id = msg_id
    body = serialize(envelope(event_name, task, settings.source, now))
    built = time.perf_counter()
    result.timings_ms["build"] = (built - read_done) * 1000

    headers = sign_request(settings, msg_id, int(now), body, task_id)
    signed = time.perf_counter()
    result.timings_ms["sign"] = (signed - built) * 1000

    result.effects = [delivery_effect(settings.webhook_url, headers, body)]
    result.outcome = "queued"


def parse_event_line(line: str) -> dict[str, str] | None:
    """The fields of one event log line, or None if `line` is not one (for benchmarks)."""
    start = line.find(LOG_PREFIX + " event=")
    if start < 0:
        return None
    fields: dict[str, str] = {}
    for part in line[start:].split(" ")[1:]:
        if "=" in part:
            key, value = part.split("=", 1)
            fields[key] = value
    return fields
