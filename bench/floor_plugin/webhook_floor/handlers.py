"""A handler that does the least a plugin can: log one line, as enriched-webhook's handler does.

Its per-event time (and the runner's round trip around it) is the floor against which the
real plugin's compute() is read: whatever the runner itself costs is in both.
"""

from __future__ import annotations

import time
from typing import ClassVar

from canvas_sdk.effects import Effect
from canvas_sdk.events import EventType
from canvas_sdk.handlers.base import BaseHandler
from logger import log


class LogOnlyHandler(BaseHandler):  # type: ignore[misc]
    """Logs `webhook-floor event=... total_ms=...` and returns no effect."""

    RESPONDS_TO: ClassVar[list[str]] = [EventType.Name(EventType.TASK_CREATED)]

    def compute(self) -> list[Effect]:
        started = time.perf_counter()
        line = "webhook-floor event=" + self.event.name + " task=" + str(self.event.target.id)
        elapsed = (time.perf_counter() - started) * 1000
        log.info(line + " total_ms=" + format(elapsed, ".3f"))
        return []
