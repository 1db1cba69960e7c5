"""A verified event; its body is parsed and its Task validated at most once, maybe never.

A receiver that only routes or queues events needs the id and the proof of origin, not a
parsed Task, so with `validate_task=False` parsing waits until `payload` or `task` is first
read. The Verifier otherwise forces both before returning, so that `verify` itself refuses
an invalid payload.
"""

from __future__ import annotations

from typing import Any

from .envelope import parse_envelope
from .task_model import validate_task

_UNSET: Any = object()


class VerifiedEvent:
    """One authenticated webhook: `id`, `timestamp` (webhook-timestamp, Unix seconds), `body`.

    `payload` is the envelope dict, `task` the fhir.resources R4B Task; reading either may
    raise InvalidPayloadError/InvalidTaskError when parsing was deferred.
    """

    __slots__ = ("_payload", "_subject", "_task", "body", "claims", "id", "timestamp")

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
        self._payload: Any = _UNSET
        self._task: Any = _UNSET

    def __repr__(self) -> str:
        # No payload: repr ends up in logs and tracebacks, and the Task is PHI.
        return f"VerifiedEvent(id={self.id!r}, timestamp={self.timestamp})"

    @property
    def payload(self) -> dict[str, Any]:
        """The envelope: version, type, timestamp, source, data (the Task as sent)."""
        payload = self._payload
        if payload is _UNSET:
            subject = None
            if self.claims is not None:
                sub = self.claims.get("sub")
                subject = sub if isinstance(sub, str) else None
            payload = self._payload = parse_envelope(self.body, subject)
        result: dict[str, Any] = payload
        return result

    @property
    def task(self) -> Any:
        """The Task as a validated `fhir.resources.R4B.task.Task`."""
        task = self._task
        if task is _UNSET:
            task = self._task = validate_task(self.payload["data"])
        return task

    @property
    def type(self) -> str:
        """The envelope's event type, e.g. "task.created"."""
        value: str = self.payload["type"]
        return value

    @property
    def task_id(self) -> str | None:
        """The Task's id (a FHIR id: safe to log, unlike the rest of the Task)."""
        value = self.payload["data"].get("id")
        return value if isinstance(value, str) else None

    @property
    def occurred_at(self) -> str:
        """When the event happened (the envelope's timestamp), as the sender wrote it."""
        value: str = self.payload["timestamp"]
        return value

    @property
    def source(self) -> str:
        """The Canvas instance that sent the event, e.g. https://x.canvasmedical.com."""
        value: str = self.payload["source"]
        return value

    def validate(self) -> VerifiedEvent:
        """Parse and validate now (what `validate_task=True` does inside `verify`)."""
        _ = self.task
        return self
