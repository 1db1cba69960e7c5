"""Rows of the shape `plugin.outbox.operations` returns, for the in-process page tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

SCRIPT = "<script>alert(1)</script>"


def row(index: int, state: str = "delivered", **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "webhook_id": "msg_" + format(index, "032x"),
        "event": "TASK_CREATED",
        "type": "task.created",
        "task_id": "task-" + str(index),
        "state": state,
        "attempts": 1,
        "last_status": 204 if state == "delivered" else 503,
        "last_error": "" if state == "delivered" else "http-503",
        "last_latency_ms": 12.5,
        "created_at": "2026-11-29T13:00:00Z",
        "delivered_at": "2026-11-29T13:00:01Z" if state == "delivered" else None,
        "next_attempt_at": None,
        "origin": "event",
        "event_number": index,
    }
    values.update(overrides)
    return values


def hostile_row(index: int) -> dict[str, Any]:
    """Every text field holds markup, as if a receiver's text had reached each of them."""
    return row(
        index,
        state="failed",
        event=SCRIPT,
        type=SCRIPT,
        task_id=SCRIPT,
        last_error=SCRIPT,
        origin=SCRIPT,
        created_at=SCRIPT,
        webhook_id='msg_"><img src=x onerror=alert(1)>',
    )


def summary(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "window_hours": 24,
        "delivered": 7,
        "retrying": 2,
        "reading": 0,
        "failed": 3,
        "total_failed": 4,
        "latency_p50_ms": 41.2,
        "latency_p95_ms": 180.7,
        "breaker_open": False,
        "breaker_open_until": None,
        "next_retry_at": "2026-11-29T13:05:00Z",
    }
    values.update(overrides)
    return values


def hours(busy_index: int = 167) -> list[dict[str, Any]]:
    """168 hours ending 2026-11-29T13:00Z, empty but for some attempts in one of them."""
    last = datetime(2026, 11, 29, 13, tzinfo=UTC)
    out = []
    for index in range(168):
        moment = last - timedelta(hours=167 - index)
        counts = {"delivered": 0, "retried": 0, "failed": 0}
        if index == busy_index:
            counts = {"delivered": 5, "retried": 2, "failed": 1}
        out.append({"hour": moment.strftime("%Y-%m-%dT%H:%M:%SZ"), **counts})
    return out
