"""One attempt of one outbox row: load the body, sign afresh, POST, record, decide.

`prepare` (body and fresh signature) and `finish` (record and decide) serve every attempt:
the first one in `compute()`, the cron tick's (which sends several rows' requests at once
between the two) and an operator's resend, so every attempt is signed, bounded, logged and
classified alike. The caller holds the row's claim; the outcome is written only if the
claim still holds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.db.transaction import atomic

from ..config import PluginSettings
from ..signer import sign_request
from . import breaker
from .retry_policy import Verdict, verdict
from .sender import SendResult, post
from .store import delete_body, load_body, record_attempt, update_claimed


@dataclass(frozen=True)
class AttemptOutcome:
    """What one attempt did to its row."""

    state: str  # delivered | pending | failed
    status: int | None
    error: str
    latency_ms: float
    number: int


@dataclass(frozen=True)
class Prepared:
    """One attempt ready to go: the stored body and this attempt's fresh headers."""

    body: str
    headers: dict[str, str]
    started_at: float  # the attempt's log time (the signature's timestamp is whole seconds)


def prepare(settings: PluginSettings, row: Any, token: str) -> Prepared | None:
    """Load the body and sign it now; None (and the row failed) if the body is missing."""
    body = load_body(row.webhook_id)
    if body is None:
        # Never send a partial or missing body: end the row with a reason an operator sees.
        update_claimed(row.dbid, token, {"state": "failed", "last_error": "stored body missing"})
        return None
    started_at = time.time()
    headers = sign_request(
        settings, row.webhook_id, int(started_at), body, row.task_id, row.content_type
    )
    return Prepared(body, headers, started_at)


def finish(
    settings: PluginSettings, row: Any, token: str, prepared: Prepared, result: SendResult
) -> AttemptOutcome:
    """Record what the attempt got and decide the row's next state."""
    number = row.attempts + 1
    now = time.time()
    decided = verdict(result, number - row.schedule_start, settings.delivery.retry_schedule, now)
    # The attempt's log entry, the row's new state and the body's removal commit together.
    with atomic():
        _record(settings, row, token, number, prepared.started_at, result, decided, now)
    return AttemptOutcome(decided.state, result.status, result.error, result.latency_ms, number)


MISSING_BODY = AttemptOutcome("failed", None, "stored body missing", 0.0, 0)


def attempt(
    settings: PluginSettings,
    row: Any,
    token: str,
    timeouts: tuple[float, float],
) -> AttemptOutcome:
    """Send `row` once (claimed with `token`) and record the outcome."""
    prepared = prepare(settings, row, token)
    if prepared is None:
        return MISSING_BODY
    result = post(settings.webhook_url, prepared.headers, prepared.body, timeouts)
    return finish(settings, row, token, prepared, result)


def _record(
    settings: PluginSettings,
    row: Any,
    token: str,
    number: int,
    started_at: float,
    result: SendResult,
    decided: Verdict,
    now: float,
) -> None:
    record_attempt(
        {
            "webhook_id": row.webhook_id,
            "number": number,
            "phase": "send",
            "started_at": started_at,
            "status": result.status,
            "latency_ms": round(result.latency_ms, 3),
            "error": result.error,
            "outcome": "retry" if decided.state == "pending" else decided.state,
        }
    )
    fields: dict[str, Any] = {
        "attempts": number,
        "state": decided.state,
        "next_attempt_at": decided.next_attempt_at,
        "last_status": result.status,
        "last_error": decided.reason or result.error,
        "last_latency_ms": round(result.latency_ms, 3),
    }
    if decided.state == "delivered":
        fields["delivered_at"] = now
        fields["body_parts"] = 0
    if update_claimed(row.dbid, token, fields) and decided.state == "delivered":
        delete_body(row.webhook_id)  # PHI leaves the outbox once delivered
    breaker.record(settings, result, now)
