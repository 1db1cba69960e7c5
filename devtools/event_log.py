"""The plugin's per-event log line, read back: for the load test and the benchmark.

`enriched_webhook.plugin.task_webhook.EventOutcome.log_line` writes one line per event,
`enriched-webhook event=... task=... outcome=... read_ms=... build_ms=... send_ms=...
total_ms=...`; this reads its `key=value` fields. It lives here, outside the shipped
plugin, because only tests and benchmarks parse logs.
"""

from __future__ import annotations

EVENT_LINE_MARK = "enriched-webhook event="


def parse_event_line(line: str) -> dict[str, str] | None:
    """The fields of one event log line, or None if `line` is not one."""
    start = line.find(EVENT_LINE_MARK)
    if start < 0:
        return None
    fields: dict[str, str] = {}
    for part in line[start:].split(" ")[1:]:
        if "=" in part:
            key, value = part.split("=", 1)
            fields.setdefault(key, value)
    return fields


def event_fields(log: str) -> list[dict[str, str]]:
    """The fields of every event line of a runner log, in order."""
    return [fields for line in log.splitlines() if (fields := parse_event_line(line))]
