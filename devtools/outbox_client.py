"""Driving the outbox in a local runner: cron ticks, the operations API, Tasks in the database.

Canvas sends a CRON event each minute and turns `/plugin-io/api/<plugin>/...` requests into
SIMPLE_API events; locally nothing does, so tests, benchmarks and the demo send them here,
as Canvas would. `insert_tasks` writes Task rows into the runner's own SQLite database,
as Canvas's database would hold them, for catch-up and backfill runs.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .runner import PluginRunner

PLUGIN_NAME = "enriched_webhook"
TASK_TABLE = "canvas_sdk_data_api_task_001"


def tick(runner: PluginRunner, when: datetime | None = None) -> None:
    """One CRON event, as Canvas sends it each minute (the target is the ISO time)."""
    moment = when or datetime.now(UTC)
    runner.send_event("CRON", moment.replace(second=0, microsecond=0).isoformat())


def api(
    runner: PluginRunner,
    method: str,
    path: str,
    key: str | None,
    body: dict[str, Any] | None = None,
    query: str = "",
) -> tuple[int, Any]:
    """One operations-API request through the runner: (status, parsed JSON or None)."""
    headers = {"Authorization": key} if key is not None else {}
    raw = json.dumps(body).encode() if body is not None else b""
    if body is not None:
        headers["Content-Type"] = "application/json"
    context = {
        "plugin_name": PLUGIN_NAME,
        "method": method,
        "path": path,
        "query_string": query,
        "body": base64.b64encode(raw).decode(),
        "headers": headers,
    }
    (auth,) = runner.send_event("SIMPLE_API_AUTHENTICATE", "", context)
    if auth.payload["status_code"] != 200:
        return int(auth.payload["status_code"]), None
    (response,) = runner.send_event("SIMPLE_API_REQUEST", "", context)
    text = base64.b64decode(response.payload.get("body") or b"")
    return int(response.payload["status_code"]), json.loads(text) if text else None


def insert_tasks(database: Path, created: datetime, count: int) -> list[str]:
    """Add `count` Task rows created at `created` (UTC); returns their ids as FHIR ids."""
    ids = [uuid.uuid4() for _ in range(count)]
    stamp = created.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    with sqlite3.connect(database) as connection:
        connection.executemany(
            f"INSERT INTO {TASK_TABLE} (id, created, modified, task_type, tag, title,"  # noqa: S608
            " due_event, status) VALUES (?, ?, ?, 'T', '', 'local task', '', 'OPEN')",
            [(value.hex, stamp, stamp) for value in ids],
        )
    return [str(value) for value in ids]
