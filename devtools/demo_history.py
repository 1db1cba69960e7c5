"""A week of delivery history for the Deliveries page's chart, made by real events.

The chart counts attempts per hour over 7 days; a fresh outbox holds only the last minute.
This sends real TASK_CREATED events through the runner (the receiver accepts most; during a
six-hour "outage" it answers 503, and each of those rows is resent once it is over), then
moves each row and attempt back to the hour it stands for, in the runner's own database.
Only times move: every row and attempt was written by the plugin. All of it ends delivered
more than a day ago, so the page's 24-hour figures are the current rows' alone.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .outbox_client import api
from .runner import PluginRunner

# One delivery every EVERY_HOURS over the week, and OUTAGE_TASKS answered 503 in the hours
# OUTAGE_HOURS_AGO, delivered in the hour after the outage.
EVERY_HOURS = 3
WEEK_HOURS = 7 * 24
OUTAGE_HOURS_AGO = range(80, 74, -1)
OUTAGE_TASKS = 12
OUTAGE_STATUS = 503


@dataclass(frozen=True)
class History:
    delivered: int
    outage_tasks: int
    outage_hours: int

    def line(self) -> str:
        return (
            f"past week: {self.delivered} deliveries over 7 days, among them an outage of"
            f" {self.outage_hours} h ({self.outage_tasks} Tasks answered {OUTAGE_STATUS},"
            " resent once it was over)"
        )


def normal_hours() -> list[int]:
    """Hours ago of the everyday deliveries: every EVERY_HOURS, none inside the outage."""
    outage = set(OUTAGE_HOURS_AGO)
    return [hour for hour in range(26, WEEK_HOURS, EVERY_HOURS) if hour not in outage]


def hour_start(now: float, hours_ago: int) -> float:
    """The start of the clock hour `hours_ago` hours before now (one bar of the chart)."""
    return (now // 3600 - hours_ago) * 3600


def add_past_week(
    runner: PluginRunner, receiver: Any, task_ids: list[str], api_key: str, now: float
) -> History:
    """Deliver `task_ids` (as many as normal_hours() + OUTAGE_TASKS) and date them back in
    the runner's database."""
    database = runner.database
    hours = normal_hours()
    everyday, outage = task_ids[: len(hours)], task_ids[len(hours) :][:OUTAGE_TASKS]
    for task_id in outage:
        receiver.answers[task_id] = OUTAGE_STATUS
    for task_id in everyday + outage:
        runner.send_event("TASK_CREATED", task_id)
    for task_id in outage:
        del receiver.answers[task_id]
    ids = _webhook_ids(database, everyday + outage)
    for task_id in outage:
        status, _ = api(runner, "POST", f"/api/deliveries/{ids[task_id]}/resend", api_key)
        if status != 200:
            raise RuntimeError(f"the demo's resend answered {status}")
    with sqlite3.connect(database) as connection:
        for task_id, hours_ago in zip(everyday, hours, strict=True):
            _date_back(connection, ids[task_id], [hour_start(now, hours_ago) + 600])
        recovered = hour_start(now, min(OUTAGE_HOURS_AGO) - 1) + 300
        per_hour = -(-len(outage) // len(OUTAGE_HOURS_AGO))
        for index, task_id in enumerate(outage):
            hour, within = divmod(index, per_hour)
            failed_at = hour_start(now, OUTAGE_HOURS_AGO[hour]) + 60 + within * 600
            _date_back(connection, ids[task_id], [failed_at, recovered + index * 30])
    return History(len(everyday) + len(outage), len(outage), len(OUTAGE_HOURS_AGO))


def _webhook_ids(database: Path, task_ids: list[str]) -> dict[str, str]:
    marks = ",".join("?" * len(task_ids))
    with sqlite3.connect(database) as connection:
        found = connection.execute(
            f"SELECT task_id, webhook_id FROM webhookdelivery WHERE task_id IN ({marks})",  # noqa: S608
            task_ids,
        ).fetchall()
    return {str(task_id): str(webhook_id) for task_id, webhook_id in found}


def _date_back(connection: sqlite3.Connection, webhook_id: str, attempt_times: list[float]) -> None:
    """Give a delivered row's attempts these times (in order); the row follows them."""
    numbers = [
        number
        for (number,) in connection.execute(
            "SELECT number FROM webhookattempt WHERE webhook_id = ? ORDER BY number", (webhook_id,)
        )
    ]
    if len(numbers) != len(attempt_times):
        raise RuntimeError(f"expected {len(attempt_times)} attempts, found {len(numbers)}")
    for number, when in zip(numbers, attempt_times, strict=True):
        connection.execute(
            "UPDATE webhookattempt SET started_at = ? WHERE webhook_id = ? AND number = ?",
            (when, webhook_id, number),
        )
    connection.execute(
        "UPDATE webhookdelivery SET created_at = ?, delivered_at = ?, resent_at = NULL"
        " WHERE webhook_id = ?",
        (attempt_times[0] - 0.5, attempt_times[-1] + 0.2, webhook_id),
    )
