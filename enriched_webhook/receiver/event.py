"""A verified event; its body is parsed and its Task validated at most once, maybe never.

A receiver that only routes or queues events needs the id and the proof of origin, not a
parsed Task, so with `validate_task=False` parsing waits until `payload` or `task` is first
read. The Verifier otherwise forces both before returning, so that `verify` itself refuses
an invalid payload. Both payload formats (envelope v1, FHIR notification Bundle) give the
same properties; `receiver/notification.py` tells them apart by the signed body.
"""

from __future__ import annotations

from typing import Any

from ..shared.ping import PING_TYPE
from .notification import ParsedBody, parse_body, validate_resource
from .task_model import validate_task

_UNSET: Any = object()


class VerifiedEvent:
    """One authenticated webhook: `id`, `timestamp` (webhook-timestamp, Unix seconds), `body`.

    `payload` is the body as sent (the envelope dict, or the notification Bundle), `task`
    the fhir.resources R4B Task, `included` the INCLUDE'd resources as validated models;
    reading any may raise InvalidPayloadError/InvalidTaskError when parsing was deferred.
    """

    __slots__ = ("_included", "_parsed", "_task", "body", "claims", "id", "timestamp")

    def __init__(
        self,
        msg_id: str,
        timestamp: int,
        body: bytes,
        claims: dict[str, Any] | None = None,
    ) -> None:
        self.id = msg_id
        self.timestamp = timestamp
        self.body = body
        self.claims = claims
        self._parsed: Any = _UNSET
        self._task: Any = _UNSET
        self._included: Any = _UNSET

    def __repr__(self) -> str:
        # No payload: repr ends up in logs and tracebacks, and the Task is PHI.
        return f"VerifiedEvent(id={self.id!r}, timestamp={self.timestamp})"

    @property
    def parsed(self) -> ParsedBody:
        """The checked body, whichever format (receiver/notification.py)."""
        parsed = self._parsed
        if parsed is _UNSET:
            subject = None
            if self.claims is not None:
                sub = self.claims.get("sub")
                subject = sub if isinstance(sub, str) else None
            parsed = self._parsed = parse_body(self.body, subject)
        result: ParsedBody = parsed
        return result

    @property
    def payload(self) -> dict[str, Any]:
        """The body as sent: the envelope (version, type, timestamp, source, data), or the
        notification Bundle."""
        return self.parsed.document

    @property
    def format(self) -> str:
        """`envelope` or `fhir-notification` (PAYLOAD_FORMAT), read off the signed body."""
        return self.parsed.format

    @property
    def is_ping(self) -> bool:
        """A test event (`ping`): no Task, no PHI; answer 2xx and do nothing else."""
        return self.parsed.type == PING_TYPE

    @property
    def task(self) -> Any:
        """The Task as a validated `fhir.resources.R4B.task.Task` (None for a ping)."""
        task = self._task
        if task is _UNSET:
            task = self._task = None if self.is_ping else validate_task(self.parsed.task)
        return task

    @property
    def included(self) -> list[Any]:
        """The INCLUDE'd resources (Patient, Practitioner, ...) as validated R4B models."""
        included = self._included
        if included is _UNSET:
            included = self._included = [validate_resource(r) for r in self.parsed.included]
        result: list[Any] = included
        return result

    @property
    def not_included(self) -> list[dict[str, Any]]:
        """References INCLUDE asked for that the sender could not read: reference, reason."""
        return self.parsed.not_included

    @property
    def event_number(self) -> int | None:
        """A notification's event-number (None for the envelope)."""
        return self.parsed.event_number

    @property
    def topic(self) -> str | None:
        """A notification's topic URL (None for the envelope)."""
        return self.parsed.topic

    @property
    def type(self) -> str:
        """The event type, e.g. "task.created"."""
        return self.parsed.type

    @property
    def task_id(self) -> str | None:
        """The Task's id (a FHIR id: safe to log, unlike the rest of the Task)."""
        value = self.parsed.task.get("id")
        return value if isinstance(value, str) else None

    @property
    def occurred_at(self) -> str:
        """When the event happened (envelope timestamp, notification-event timestamp)."""
        return self.parsed.timestamp

    @property
    def source(self) -> str:
        """The Canvas instance that sent the event, e.g. https://x.canvasmedical.com."""
        return self.parsed.source

    def validate(self) -> VerifiedEvent:
        """Parse and validate now (what `validate_task=True` does inside `verify`)."""
        _ = self.task
        _ = self.included
        return self
