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

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from canvas_sdk.v1.data.task import Task

from ...models.outbox import WebhookDelivery
from ..config import PluginSettings
from .store import create_row, read_row_id

GRACE_SECONDS = 120.0
# Tasks are compared with the outbox a page at a time, at most MAX_SCANNED per call, and a
# call adds at most MAX_ENQUEUED rows (each an INSERT): a tick or a backfill request stays
# within a few seconds on an instance with many Tasks.
PAGE = 1000
MAX_SCANNED = 20000
MAX_ENQUEUED = 2000
CATCH_UP_EVENT = "TASK_CREATED"


@dataclass(frozen=True)
class Scan:
    """Tasks with no row, and where a scan that stopped short would go on from."""

    missing: list[str]
    resume_from: float | None  # a `created` time; None when the whole range was compared


def _when(unix: float) -> datetime:
    return datetime.fromtimestamp(unix, UTC)


def missing_task_ids(since: float, until: float, newest_first: bool = False) -> Scan:
    """Tasks created in [since, until) that have no TASK_CREATED row.

    Catch-up looks newest first (a Task missed a minute ago matters now; older ones were
    looked at by earlier ticks); backfill oldest first, so a range larger than one call
    goes on from `resume_from`.
    """
    order = ("-created", "-id") if newest_first else ("created", "id")
    tasks = Task.objects.filter(created__gte=_when(since), created__lt=_when(until)).order_by(
        *order
    )
    missing: list[str] = []
    scanned = 0
    while scanned < MAX_SCANNED:
        page = list(tasks.values_list("id", "created")[scanned : scanned + PAGE])
        if not page:
            return Scan(missing, None)
        scanned = scanned + len(page)
        ids = [str(task_id) for task_id, _created in page]
        have = set(
            WebhookDelivery.objects.filter(event=CATCH_UP_EVENT, task_id__in=ids).values_list(
                "task_id", flat=True
            )
        )
        for task_id, created in page:
            if str(task_id) not in have:
                missing.append(str(task_id))
                if len(missing) == MAX_ENQUEUED:
                    return Scan(missing, created.timestamp())
        if len(page) < PAGE:
            return Scan(missing, None)
    return Scan(missing, page[-1][1].timestamp())


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
    scan = missing_task_ids(since, now - GRACE_SECONDS, newest_first=True)
    return enqueue_reads(scan.missing, "catch-up", now)


def backfill(settings: PluginSettings, since: float, now: float) -> tuple[int, float | None]:
    """Like catch-up, from `since` (any age) to now: the operations API's backfill.

    Returns how many rows it added and, when the range was larger than one call, the time
    to call again from (the rows already added are skipped then).
    """
    scan = missing_task_ids(since, now)
    return enqueue_reads(scan.missing, "backfill", now), scan.resume_from
