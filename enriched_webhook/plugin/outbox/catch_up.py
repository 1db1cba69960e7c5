"""Finding Tasks the plugin never got an event for, through Canvas's data module.

A runner restart, a disabled plugin or a bug can lose a TASK_CREATED event; the Task still
exists. The cron tick lists Tasks created in the last CATCH_UP_HOURS (24 h by default) with
`Task.objects.filter(created__gte=...)` and stores a `reading` row (origin `catch-up`) for
each one with no TASK_CREATED row yet; the same tick reads and sends it. Tasks younger
than `GRACE_SECONDS` are left alone: their own event may still be in flight. The data
module is chosen over the FHIR search because it has the Task's creation time (the FHIR
search offers only `modified`), needs no token or HTTP round trip, and runs in
`canvas run-plugin` against its local database, where the tests prove it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from canvas_sdk.v1.data.task import Task

from ...models.outbox import WebhookDelivery
from ..config import PluginSettings
from .store import create_row, read_row_id

GRACE_SECONDS = 120.0
# At most this many Tasks are compared per tick; the rest wait for the next tick.
MAX_TASKS_PER_TICK = 2000
CATCH_UP_EVENT = "TASK_CREATED"


def _when(unix: float) -> datetime:
    return datetime.fromtimestamp(unix, UTC)


def missing_task_ids(since: float, until: float) -> list[str]:
    """Ids of Tasks created in [since, until) that have no TASK_CREATED row."""
    found = (
        Task.objects.filter(created__gte=_when(since), created__lt=_when(until))
        .order_by("created")
        .values_list("id", flat=True)[:MAX_TASKS_PER_TICK]
    )
    ids = [str(value) for value in found]
    if not ids:
        return []
    have = set(
        WebhookDelivery.objects.filter(event=CATCH_UP_EVENT, task_id__in=ids).values_list(
            "task_id", flat=True
        )
    )
    return [task_id for task_id in ids if task_id not in have]


def enqueue_reads(task_ids: list[str], origin: str, now: float) -> int:
    """A due `reading` row per Task id (an existing row for the id is left as it is)."""
    made = 0
    for task_id in task_ids:
        row: Any = create_row(
            {
                "webhook_id": read_row_id(CATCH_UP_EVENT, task_id),
                "event": CATCH_UP_EVENT,
                "event_type": "task.created",
                "task_id": task_id,
                "state": "reading",
                "next_attempt_at": now,
                "created_at": now,
                "origin": origin,
            }
        )
        made = made + (row is not None)
    return made


def catch_up(settings: PluginSettings, now: float) -> int:
    """Enqueue the Tasks of the catch-up window that the outbox has not seen."""
    if settings.delivery.catch_up_hours <= 0 or CATCH_UP_EVENT not in settings.events:
        return 0
    since = now - settings.delivery.catch_up_hours * 3600
    return enqueue_reads(missing_task_ids(since, now - GRACE_SECONDS), "catch-up", now)


def backfill(settings: PluginSettings, since: float, now: float) -> int:
    """Like catch-up, from `since` (any age) to now: the operations API's backfill."""
    return enqueue_reads(missing_task_ids(since, now), "backfill", now)
