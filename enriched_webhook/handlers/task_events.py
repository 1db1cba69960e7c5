"""The entry point Canvas calls for Task events; the work is in `plugin.task_webhook`.

It responds to every Task event the plugin knows and lets the EVENTS variable choose,
since RESPONDS_TO is fixed at load time and variables can change at any time.
"""

from __future__ import annotations

from typing import ClassVar

from canvas_sdk.effects import Effect
from canvas_sdk.events import EventType
from canvas_sdk.handlers.base import BaseHandler
from logger import log

from ..plugin.task_webhook import LOG_PREFIX, handle_task_event


class TaskWebhookHandler(BaseHandler):
    """Sends each enabled Task event as a signed webhook carrying the full FHIR Task."""

    RESPONDS_TO: ClassVar[list[str]] = [
        EventType.Name(EventType.TASK_CREATED),
        EventType.Name(EventType.TASK_UPDATED),
        EventType.Name(EventType.TASK_COMPLETED),
        EventType.Name(EventType.TASK_CLOSED),
    ]

    def compute(self) -> list[Effect]:
        event_name = self.event.name
        try:
            result = handle_task_event(
                event_name, self.event.target.id, self.secrets, self.environment
            )
        except Exception as error:
            # Last line of defence: the type only, since messages can carry data.
            log.error(
                LOG_PREFIX
                + " event="
                + event_name
                + " outcome=error reason=unexpected "
                + type(error).__name__
            )
            return []
        if result.is_error:
            log.error(result.log_line())
        else:
            # Delivered, stored for the cron tick, a duplicate, or a Task event left out of
            # EVENTS (the configuration working): not errors.
            log.info(result.log_line())
        return []
