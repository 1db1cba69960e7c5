"""Payload envelope v1 and the webhook id: the wire format both sides agree on.

The same event occurrence must always give the same id and the same body, so that a
re-sent event is recognised as a duplicate by the receiver. Both are derived from the
Task's own `lastModified`/`authoredOn`, never from the clock, unless the Task has neither.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any

PAYLOAD_VERSION = 1

# Canvas event names and the envelope `type` each becomes.
EVENT_TYPES = {
    "TASK_CREATED": "task.created",
    "TASK_UPDATED": "task.updated",
    "TASK_COMPLETED": "task.completed",
    "TASK_CLOSED": "task.closed",
}
DEFAULT_EVENTS = ("TASK_CREATED",)

# What an envelope `timestamp` may be: a FHIR dateTime, in UTC with `Z` when it has a time
# (a date without one is passed on as written). The receiver refuses anything else, so
# the plugin never signs anything else.
ENVELOPE_TIME = re.compile(
    r"(\d{4})(-(\d{2})(-(\d{2})(T(\d{2}):(\d{2})(:(\d{2})(\.\d{1,9})?)?"
    r"(Z|[+-](\d{2}):(\d{2}))?)?)?)?"
)


def is_envelope_time(value: str) -> bool:
    """True for a timestamp of ENVELOPE_TIME's shape that is also a real time.

    The pattern alone passes `9999-99-99T99:99:99Z`; the calendar decides the day (and
    February 29th), hours stop at 23, seconds at 60 (a leap second, as FHIR allows),
    offsets at 14 hours.
    """
    found = ENVELOPE_TIME.fullmatch(value)
    if found is None:
        return False
    parts = found.groups()
    year, month, day = int(parts[0]), int(parts[2] or "1"), int(parts[4] or "1")
    try:
        datetime(year, month, day)
    except ValueError:
        return False
    hour, minute, second = int(parts[6] or "0"), int(parts[7] or "0"), int(parts[9] or "0")
    zone_hours, zone_minutes = int(parts[12] or "0"), int(parts[13] or "0")
    return hour < 24 and minute < 60 and second <= 60 and zone_hours <= 14 and zone_minutes < 60


HEADER_ID = "webhook-id"
HEADER_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"
HEADER_AUTHORIZATION = "Authorization"
CONTENT_TYPE = "application/json"


def occurred_at(task: dict[str, Any]) -> str:
    """The Task's own time of this event: `lastModified`, else `authoredOn`, else ''."""
    for element in ("lastModified", "authoredOn"):
        value = task.get(element)
        if isinstance(value, str) and value:
            return value
    return ""


def webhook_id(event_name: str, task_id: str, when: str) -> str:
    """`msg_` + 32 hex digits of SHA-256 of `{EVENT}:{task id}:{when}` (docs/wire-format.md)."""
    digest = hashlib.sha256((event_name + ":" + task_id + ":" + when).encode("utf-8")).hexdigest()
    return "msg_" + digest[:32]


def utc_iso(when: str, fallback_unix: float) -> str:
    """`when` as UTC ISO 8601 with a `Z`, to the second.

    A FHIR dateTime without a time zone (a bare date, say) cannot be placed in UTC, so it
    is passed on as written rather than guessed at; with no usable `when` (absent, or not
    a FHIR dateTime), the handling time is used, so the receiver never sees a timestamp
    it refuses.
    """
    if when and is_envelope_time(when):
        try:
            parsed = datetime.fromisoformat(when)
        except ValueError:
            return when  # a FHIR dateTime Python cannot read (a year, a year-month)
        if parsed.tzinfo is None:
            return when
        return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return unix_instant(fallback_unix)


def unix_instant(unix: float) -> str:
    """Unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (UTC, to the second): envelope and Bundle
    timestamps, and every time the operations API shows."""
    return datetime.fromtimestamp(int(unix), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def envelope(event_name: str, task: dict[str, Any], source: str, now: float) -> dict[str, Any]:
    """The v1 envelope around the Task, which is carried unchanged in `data`."""
    return {
        "version": PAYLOAD_VERSION,
        "type": EVENT_TYPES[event_name],
        "timestamp": utc_iso(occurred_at(task), now),
        "source": source,
        "data": task,
    }


def serialize(document: dict[str, Any]) -> str:
    """Serialize once, ASCII-only, so every text encoding yields the bytes that were signed."""
    return json.dumps(document, ensure_ascii=True, separators=(",", ":"))
