"""What operators can see and do with the outbox; the JSON API and the page both call it.

Only ids, times, states, status codes and error kinds leave here: never a body, never
Task content. Resends are idempotent where they can be: a row resent in the last
`RESEND_DEBOUNCE_SECONDS` is not attempted again (a double click is one attempt), a row
another attempt holds is left to it, and a delivered row is not sent again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db.models import F
from django.db.transaction import atomic

from ...models.outbox import WebhookAttempt, WebhookDelivery
from ...shared.payload import CONTENT_TYPE, serialize, unix_instant
from ...shared.ping import PING_EVENT, PING_TYPE, ping_envelope, ping_id
from ..config import PluginSettings
from . import breaker
from .catch_up import backfill as backfill_tasks
from .delivery import attempt
from .store import READ_ID_PREFIX, claim, create_row, new_claim_token, store_body

RESEND_DEBOUNCE_SECONDS = 10.0
PING_DEBOUNCE_SECONDS = 5.0
MAX_PAGE = 200
ROW_FIELDS = (
    "webhook_id",
    "event",
    "event_type",
    "task_id",
    "state",
    "attempts",
    "last_status",
    "last_error",
    "last_latency_ms",
    "created_at",
    "delivered_at",
    "next_attempt_at",
    "origin",
    "event_number",
)
TIME_FIELDS = ("created_at", "delivered_at", "next_attempt_at", "started_at")


def iso(unix: float | None) -> str | None:
    return None if unix is None else unix_instant(unix)


def parse_time(text: str) -> float:
    """An ISO 8601 date or date-time (UTC if it names no zone) as Unix seconds."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def _public(values: dict[str, Any]) -> dict[str, Any]:
    row = dict(values)
    row["type"] = row.pop("event_type", None)
    for name in TIME_FIELDS:
        if name in row:
            row[name] = iso(row[name])
    return row


def list_deliveries(
    state: str | None = None,
    task_id: str | None = None,
    since: float | None = None,
    until: float | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    rows = WebhookDelivery.objects.all()
    if state:
        rows = rows.filter(state=state)
    if task_id:
        rows = rows.filter(task_id=task_id)
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    if until is not None:
        rows = rows.filter(created_at__lt=until)
    limit = max(1, min(int(limit), MAX_PAGE))
    offset = max(0, int(offset))
    page = rows.order_by("-created_at", "-dbid").values(*ROW_FIELDS)[offset : offset + limit]
    return {
        "deliveries": [_public(values) for values in page],
        "total": rows.count(),
        "offset": offset,
        "limit": limit,
    }


def delivery_detail(webhook_id: str) -> dict[str, Any] | None:
    found = WebhookDelivery.objects.filter(webhook_id=webhook_id).values(*ROW_FIELDS).first()
    if found is None:
        return None
    detail = _public(found)
    attempts = WebhookAttempt.objects.filter(webhook_id=webhook_id).order_by("started_at", "number")
    detail["history"] = [
        _public(values)
        for values in attempts.values(
            "number", "phase", "started_at", "status", "latency_ms", "error", "outcome"
        )
    ]
    return detail


def _percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return round(ordered[index], 1)


def summary(settings: PluginSettings, now: float) -> dict[str, Any]:
    """Delivered and failed count by when that happened (the last 24 h); retrying and
    reading are what is waiting now, whatever its age (an outage can outlast a day)."""
    since = now - 86400
    failed_lately = WebhookAttempt.objects.filter(outcome="failed", started_at__gte=since)
    answered = WebhookAttempt.objects.filter(
        phase="send", started_at__gte=since, status__isnull=False
    ).values_list("latency_ms", flat=True)[:10000]
    latencies = [float(value) for value in answered if value is not None]
    next_due = (
        WebhookDelivery.objects.filter(state__in=["pending", "reading"])
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    found: dict[str, Any] = {
        "window_hours": 24,
        "delivered": WebhookDelivery.objects.filter(delivered_at__gte=since).count(),
        "retrying": WebhookDelivery.objects.filter(state="pending").count(),
        "reading": WebhookDelivery.objects.filter(state="reading").count(),
        "failed": WebhookDelivery.objects.filter(
            state="failed", webhook_id__in=failed_lately.values_list("webhook_id", flat=True)
        ).count(),
        "total_failed": failed_total(),
        "latency_p50_ms": _percentile(latencies, 0.5),
        "latency_p95_ms": _percentile(latencies, 0.95),
        "next_retry_at": iso(next_due),
    }
    found.update(breaker_state(settings))
    return found


def breaker_state(settings: PluginSettings) -> dict[str, Any]:
    """The breaker as the page and the API show it (the detail view needs only this)."""
    view = breaker.view(settings)
    return {
        "breaker_open": view.opened,
        "breaker_open_until": iso(view.open_until) if view.opened else None,
    }


def failed_total() -> int:
    """Failed rows of all time: the summary's and the app badge's number."""
    return int(WebhookDelivery.objects.filter(state="failed").count())


def hourly(now: float, days: int = 7) -> list[dict[str, Any]]:
    """Send attempts per hour by outcome, oldest hour first (one entry per hour)."""
    hours = days * 24
    last_hour = int(now // 3600) * 3600
    first_hour = last_hour - (hours - 1) * 3600
    counts = [{"delivered": 0, "retried": 0, "failed": 0} for _ in range(hours)]
    attempts = WebhookAttempt.objects.filter(phase="send", started_at__gte=first_hour)
    names = {"delivered": "delivered", "retry": "retried", "failed": "failed"}
    for started_at, outcome in attempts.values_list("started_at", "outcome"):
        index = int((started_at - first_hour) // 3600)
        name = names.get(outcome)
        if name is not None and 0 <= index < hours:
            counts[index][name] = counts[index][name] + 1
    return [dict(counts[index], hour=iso(first_hour + index * 3600)) for index in range(hours)]


def resend(settings: PluginSettings, webhook_id: str, now: float) -> dict[str, Any]:
    """Attempt a failed or waiting row once now (same webhook-id and body, fresh signature)."""
    row = WebhookDelivery.objects.filter(webhook_id=webhook_id).first()
    if row is None:
        return {"webhook_id": webhook_id, "result": "not-found"}
    if row.state == "delivered":
        return {"webhook_id": webhook_id, "result": "already-delivered", "state": row.state}
    if row.state == "reading":
        WebhookDelivery.objects.filter(dbid=row.dbid, state="reading").update(next_attempt_at=now)
        return {"webhook_id": webhook_id, "result": "read-scheduled", "state": row.state}
    if row.resent_at is not None and now - row.resent_at < RESEND_DEBOUNCE_SECONDS:
        return {"webhook_id": webhook_id, "result": "just-resent", "state": row.state}
    if row.state == "failed" and row.webhook_id.startswith(READ_ID_PREFIX):
        # Its Task was never read, so there is no body to send: read it again (the next tick
        # does, and sends it), with a new run of the schedule.
        _read_again(WebhookDelivery.objects.filter(dbid=row.dbid), now)
        return {"webhook_id": webhook_id, "result": "read-scheduled", "state": "reading"}
    token = new_claim_token()
    if not claim(row.dbid, ("failed", "pending"), now, settings.delivery.claim_seconds, token):
        return {"webhook_id": webhook_id, "result": "in-progress", "state": row.state}
    # A resend starts a new run of the retry schedule.
    WebhookDelivery.objects.filter(dbid=row.dbid).update(
        state="pending", schedule_start=row.attempts, resent_at=now
    )
    row.refresh_from_db()
    outcome = attempt(settings, row, token, settings.delivery.retry_timeouts)
    return {
        "webhook_id": webhook_id,
        "result": "attempted",
        "state": outcome.state,
        "status": outcome.status,
        "error": outcome.error,
    }


def resend_failed(
    settings: PluginSettings, since: float, now: float, webhook_ids: list[str] | None = None
) -> dict[str, Any]:
    """Make every failed row created since `since` (of `webhook_ids`, if given) due again;
    the next ticks send them."""
    failed = WebhookDelivery.objects.filter(state="failed", created_at__gte=since)
    if webhook_ids is not None:
        failed = failed.filter(webhook_id__in=webhook_ids)
    # One conditional UPDATE each; a new run of the schedule counts from the attempts so far.
    resent = failed.filter(body_parts__gt=0).update(
        state="pending", next_attempt_at=now, schedule_start=F("attempts")
    )
    unread = failed.filter(webhook_id__startswith=READ_ID_PREFIX)
    return {"resent": resent, "read_again": _read_again(unread, now)}


def _read_again(rows: Any, now: float) -> int:
    """Failed rows whose Task was never read become due reads, with a new run of the
    schedule (`schedule_start` counts from the reads made so far)."""
    return int(
        rows.filter(state="failed").update(
            state="reading",
            next_attempt_at=now,
            schedule_start=F("read_attempts"),
            resent_at=now,
        )
    )


def backfill(settings: PluginSettings, since: float, now: float) -> dict[str, Any]:
    """Enqueue Tasks created since `since` with no row; `complete` is False when the range
    holds more than one call adds: call again from `resume_since`."""
    enqueued, resume_from = backfill_tasks(settings, since, now)
    return {
        "enqueued": enqueued,
        "complete": resume_from is None,
        "resume_since": iso(resume_from),
    }


def send_ping(settings: PluginSettings, now: float) -> dict[str, Any]:
    """Send one test event (`ping`, no PHI) now; it is attempted once, never retried.

    It goes through the outbox like any event (a row, a fresh signature, the attempt log),
    so the page and the API show it; a failed ping ends `failed` at once: it tests the
    receiver now, and a retry hours later would test nothing. A ping asked for within
    `PING_DEBOUNCE_SECONDS` of the last one answers with that one (a double click is one).
    """
    recent = (
        WebhookDelivery.objects.filter(origin="ping", created_at__gte=now - PING_DEBOUNCE_SECONDS)
        .order_by("-created_at")
        .values("webhook_id", "state", "last_status", "last_error")
        .first()
    )
    if recent is not None:
        return {
            "webhook_id": recent["webhook_id"],
            "result": "just-sent",
            "state": recent["state"],
            "status": recent["last_status"],
            "error": recent["last_error"],
        }
    msg_id = ping_id()
    body = serialize(ping_envelope(settings.source, now))
    token = new_claim_token()
    with atomic():
        row = create_row(
            {
                "webhook_id": msg_id,
                "event": PING_EVENT,
                "event_type": PING_TYPE,
                "task_id": "",
                "state": "pending",
                "next_attempt_at": now,
                "claimed_until": now + settings.delivery.claim_seconds,
                "claim_token": token,
                "created_at": now,
                "origin": "ping",
                "content_type": CONTENT_TYPE,
            }
        )
        if row is None:  # 128 random bits collided: nothing was sent
            return {
                "webhook_id": msg_id,
                "result": "not-sent",
                "state": "not-sent",
                "status": None,
                "error": "",
            }
        parts = store_body(msg_id, body)
        WebhookDelivery.objects.filter(dbid=row.dbid).update(
            body_parts=parts, event_number=row.dbid
        )
    row.refresh_from_db()
    outcome = attempt(settings, row, token, settings.delivery.retry_timeouts)
    state = outcome.state
    if state == "pending":
        WebhookDelivery.objects.filter(dbid=row.dbid, state="pending").update(
            state="failed", next_attempt_at=None
        )
        state = "failed"
    return {
        "webhook_id": msg_id,
        "result": "sent",
        "state": state,
        "status": outcome.status,
        "error": outcome.error,
    }
