"""The exact body of one event, built once when the event is stored in the outbox.

Every attempt later sends these same bytes (only the signature headers are fresh), so the
body is built here, from the Task as read, and never rebuilt. The payload format is
chosen by PAYLOAD_FORMAT (docs/wire-format.md); envelope v1 is the default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..shared.notification import (
    CONTENT_TYPE_FHIR,
    FORMAT_NOTIFICATION,
    NO_INCLUDES,
    Included,
    envelope_includes,
    notification_bundle,
)
from ..shared.payload import CONTENT_TYPE, envelope, occurred_at, serialize, webhook_id
from .config import PluginSettings


@dataclass(frozen=True)
class BuiltBody:
    """The content type and the serialized body (ASCII-only JSON)."""

    content_type: str
    body: str


def build_body(
    settings: PluginSettings,
    event_name: str,
    task: dict[str, Any],
    included: Included | None,
    event_number: int,
    now: float,
) -> BuiltBody:
    """The body for `task`: envelope v1 (plus `included`/`not_included` when INCLUDE is
    set), or the FHIR notification Bundle; `included` is what plugin/includes.py read."""
    extra = included if included is not None else NO_INCLUDES
    if settings.payload.format == FORMAT_NOTIFICATION:
        bundle = notification_bundle(
            event_name,
            task,
            extra,
            source=settings.source,
            fhir_base_url=settings.fhir_base_url,
            webhook_url=settings.webhook_url,
            msg_id=webhook_id(event_name, str(task["id"]), occurred_at(task)),
            event_number=event_number,
            now=now,
        )
        return BuiltBody(CONTENT_TYPE_FHIR, serialize(bundle))
    document = envelope(event_name, task, settings.source, now)
    if settings.payload.includes:
        document.update(envelope_includes(extra))
    return BuiltBody(CONTENT_TYPE, serialize(document))
