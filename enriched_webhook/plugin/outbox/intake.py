"""From a Task id to a stored outbox row: read the Task, check it, build the body, store it.

Used for a new event in `compute()` and, for a row whose Task could not be read yet, by
the cron tick. A read that may succeed later (FHIR or the token endpoint down, a 5xx, a
timeout, a 404 that may be a race) leaves a `reading` row that the tick reads again on the
retry schedule; a Task that cannot be sent (refused read, Task rules broken, gone for good)
ends as a `failed` row with a reason that names no Task content. Nothing is dropped
without a row or a log line.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError
from django.db.transaction import atomic

from ...models.outbox import WebhookAttempt, WebhookDelivery
from ...shared.notification import Included
from ...shared.payload import EVENT_TYPES, occurred_at, webhook_id
from ...shared.task_rules import TaskRuleError, check_task
from ..body import build_body
from ..config import PluginSettings
from ..fhir_client import FhirReadError, FhirTaskReader
from ..includes import read_event_includes
from .retry_policy import next_read_at, task_gone
from .store import (
    create_row,
    delete_rows,
    find,
    read_row_id,
    record_attempt,
    store_body,
    update_claimed,
)

ALREADY_IN_OUTBOX = "this event occurrence is already in the outbox"


@dataclass
class Intake:
    """What storing one event did: `stored` rows are claimed by the caller's token."""

    outcome: str  # stored | duplicate | reading | failed
    row: Any = None
    reason: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)


def _row_fields(
    settings: PluginSettings, event_name: str, task_id: str, origin: str, now: float, token: str
) -> dict[str, Any]:
    return {
        "event": event_name,
        "event_type": EVENT_TYPES.get(event_name, event_name.lower()),
        "task_id": task_id,
        "state": "pending",
        "next_attempt_at": now,
        "claimed_until": now + settings.delivery.claim_seconds,
        "claim_token": token,
        "created_at": now,
        "origin": origin,
    }


def _read(reader: FhirTaskReader, task_id: str) -> dict[str, Any]:
    task = reader.read(task_id)
    check_task(task, expected_id=task_id)
    return task


def _finish_body(
    settings: PluginSettings,
    row: Any,
    event_name: str,
    task: dict[str, Any],
    now: float,
    included: Included,
) -> dict[str, Any]:
    built = build_body(settings, event_name, task, included, int(row.dbid), now)
    parts = store_body(row.webhook_id, built.body)
    return {
        "content_type": built.content_type,
        "body_parts": parts,
        "event_number": int(row.dbid),
    }


def intake_event(
    settings: PluginSettings,
    event_name: str,
    task_id: str,
    origin: str,
    reader: FhirTaskReader,
    now: float,
    token: str,
) -> Intake:
    """Store a new event occurrence; a `stored` row stays claimed by `token`."""
    started = time.perf_counter()
    fields = _row_fields(settings, event_name, task_id, origin, now, token)
    try:
        task = _read(reader, task_id)
    except FhirReadError as error:
        return _store_unread(settings, event_name, task_id, fields, error.reason, error.retryable)
    except TaskRuleError as error:
        reason = "invalid Task: " + str(error)
        return _store_unread(settings, event_name, task_id, fields, reason, False)
    read_done = time.perf_counter()
    msg_id = webhook_id(event_name, task_id, occurred_at(task))
    existing = find(msg_id)
    if existing is not None:  # cheap: a repeated event reads no includes
        return Intake("duplicate", existing, ALREADY_IN_OUTBOX)
    include_started = time.perf_counter()
    included = read_event_includes(settings, task, reader)
    include_ms = (time.perf_counter() - include_started) * 1000
    # The row and its body commit together: a row is never stored without its body.
    with atomic():
        row = create_row(dict(fields, webhook_id=msg_id))
        if row is None:
            return Intake("duplicate", find(msg_id), ALREADY_IN_OUTBOX)
        finish = _finish_body(settings, row, event_name, task, now, included)
        WebhookDelivery.objects.filter(dbid=row.dbid).update(**finish)
    for name, value in finish.items():
        setattr(row, name, value)
    intake = Intake("stored", row)
    if settings.payload.includes:
        intake.timings_ms["include"] = include_ms  # part of build
    intake.timings_ms["read"] = (read_done - started) * 1000
    intake.timings_ms["build"] = (time.perf_counter() - read_done) * 1000
    return intake


def _store_unread(
    settings: PluginSettings,
    event_name: str,
    task_id: str,
    fields: dict[str, Any],
    reason: str,
    retryable: bool,
) -> Intake:
    now = fields["created_at"]
    key = read_row_id(event_name, task_id)
    next_at = next_read_at(1, settings.delivery.retry_schedule, now) if retryable else None
    state = "reading" if next_at is not None else "failed"
    row = create_row(
        dict(
            fields,
            webhook_id=key,
            state=state,
            read_attempts=1,
            next_attempt_at=next_at,
            claimed_until=None,
            claim_token="",
            last_error=reason[:120],
        )
    )
    if row is None:
        return Intake("duplicate", find(key), "a read of this Task is already pending")
    _record_read(key, 1, now, reason, state)
    return Intake(state, row, reason)


def _record_read(webhook_id: str, number: int, now: float, reason: str, state: str) -> None:
    """The attempt log's entry for a failed Task read (state: reading again, or failed)."""
    record_attempt(
        {
            "webhook_id": webhook_id,
            "number": number,
            "phase": "read",
            "started_at": now,
            "error": reason[:120],
            "outcome": "retry" if state == "reading" else "failed",
        }
    )


def complete_read(
    settings: PluginSettings, row: Any, reader: FhirTaskReader, now: float, token: str
) -> Intake:
    """Read the Task of a claimed `reading` row again; on success the row becomes `pending`."""
    try:
        task = _read(reader, row.task_id)
    except (FhirReadError, TaskRuleError) as error:
        retryable = isinstance(error, FhirReadError) and error.retryable
        reason = error.reason if isinstance(error, FhirReadError) else "invalid Task: " + str(error)
        number = row.read_attempts + 1
        status = error.status if isinstance(error, FhirReadError) else None
        in_run = number - row.schedule_start
        next_at = (
            next_read_at(in_run, settings.delivery.retry_schedule, now, status)
            if retryable
            else None
        )
        spent = in_run > len(settings.delivery.retry_schedule)
        if retryable and task_gone(in_run, status) and not spent:
            reason = "Task not found on " + str(in_run) + " reads: gone"
        state = "reading" if next_at is not None else "failed"
        _record_read(row.webhook_id, number, now, reason, state)
        update_claimed(
            row.dbid,
            token,
            {
                "read_attempts": number,
                "state": state,
                "next_attempt_at": next_at,
                "last_error": reason[:120],
            },
        )
        return Intake(state, row, reason)
    msg_id = webhook_id(row.event, row.task_id, occurred_at(task))
    existing = find(msg_id)
    if existing is not None and existing.dbid != row.dbid:
        delete_rows([row.webhook_id])
        return Intake("duplicate", existing, ALREADY_IN_OUTBOX)
    included = read_event_includes(settings, task, reader)
    old_id = row.webhook_id
    # The new id, the attempt log's id, the body and the state change commit together.
    taken = False
    with atomic():
        try:
            with atomic():
                moved = WebhookDelivery.objects.filter(dbid=row.dbid, claim_token=token).update(
                    webhook_id=msg_id
                )
        except IntegrityError:
            taken = True  # another row took this id first: this one is its duplicate
            moved = 0
        if moved == 1:
            _take_new_id(settings, row, old_id, msg_id, task, now, included)
    if taken:
        delete_rows([old_id])
        return Intake("duplicate", find(msg_id), ALREADY_IN_OUTBOX)
    if moved != 1:  # the claim lapsed while reading: whoever holds it now finishes the row
        return Intake("reading", row, "claim lapsed during the read")
    row.refresh_from_db()
    return Intake("stored", row)


def _take_new_id(
    settings: PluginSettings,
    row: Any,
    old_id: str,
    msg_id: str,
    task: dict[str, Any],
    now: float,
    included: Included,
) -> None:
    """Inside complete_read's transaction: re-key the attempt log, store the body."""
    WebhookAttempt.objects.filter(webhook_id=old_id).update(webhook_id=msg_id)
    row.webhook_id = msg_id
    finish = _finish_body(settings, row, row.event, task, now, included)
    WebhookDelivery.objects.filter(dbid=row.dbid).update(
        state="pending", next_attempt_at=now, last_error="", schedule_start=0, **finish
    )
