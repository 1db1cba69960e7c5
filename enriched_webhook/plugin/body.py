"""The exact body of one event, built once when the event is stored in the outbox.

Every attempt later sends these same bytes (only the signature headers are fresh), so the
body is built here, from the Task as read, and never rebuilt. The payload format is
chosen by PAYLOAD_FORMAT (docs/wire-format.md); envelope v1 is the default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..shared.payload import CONTENT_TYPE, envelope, serialize
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
    included: Any,
    event_number: int,
    now: float,
) -> BuiltBody:
    """The body for `task`; `included` and `event_number` serve the other formats."""
    return BuiltBody(CONTENT_TYPE, serialize(envelope(event_name, task, settings.source, now)))
