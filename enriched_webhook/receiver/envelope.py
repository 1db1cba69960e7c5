"""The v1 envelope, parsed only after the signature has been verified.

The body was produced by `shared.payload.serialize` (ASCII JSON), so anything that is not
UTF-8 JSON with a JSON object at the top is refused rather than guessed at: `json.loads`
would otherwise sniff UTF-16/32 from raw bytes and accept `NaN`. Depth and size are
bounded by the caller's body limit and by catching RecursionError, so a deeply nested
body is an InvalidPayloadError, not a crash.
"""

from __future__ import annotations

import json
from typing import Any, TypeGuard

from ..shared.payload import EVENT_TYPES, PAYLOAD_VERSION, is_envelope_time
from ..shared.ping import PING_SUBJECT, PING_TYPE
from ..shared.task_rules import TaskRuleError, check_task
from .errors import InvalidPayloadError, InvalidTaskError, InvalidTokenError

KNOWN_TYPES = frozenset([*EVENT_TYPES.values(), PING_TYPE])
MAX_SOURCE_LENGTH = 2048


def _refuse_constant(name: str) -> Any:
    raise ValueError("non-standard JSON constant")


# json.loads with any keyword builds a new decoder per call; one built here is the same
# decoder (same parse_constant), minus ~3 us per request.
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


def decode_body(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, before any format's checks (receiver/notification.py)."""
    try:
        document = _DECODER.decode(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise InvalidPayloadError("the body is not UTF-8") from None
    except (ValueError, RecursionError):
        raise InvalidPayloadError("the body is not valid JSON") from None
    if not isinstance(document, dict):
        raise InvalidPayloadError("the body is not a JSON object")
    return document


def check_envelope(document: dict[str, Any], subject: str | None = None) -> dict[str, Any]:
    """The checked envelope: version 1, a known type, timestamp, source, a rule-abiding Task.

    `subject` is a verified JWT `sub` ("Task/<id>"), which must name the Task in the body.
    """
    version = document.get("version")
    if type(version) is not int or version != PAYLOAD_VERSION:
        raise InvalidPayloadError(f"the envelope version is not {PAYLOAD_VERSION}")
    kind = document.get("type")
    if not isinstance(kind, str) or kind not in KNOWN_TYPES:
        raise InvalidPayloadError("the envelope type is not a known event type")
    timestamp = document.get("timestamp")
    if not isinstance(timestamp, str) or not is_envelope_time(timestamp):
        raise InvalidPayloadError("the envelope timestamp is not a date-time")
    if not is_source(document.get("source")):
        raise InvalidPayloadError("the envelope source is missing or too long")
    data = document.get("data")
    if kind == PING_TYPE:
        # The test event: nothing in it but the envelope (docs/wire-format.md).
        if data != {}:
            raise InvalidPayloadError("a ping's data must be an empty object")
        if subject is not None and subject != PING_SUBJECT:
            raise InvalidTokenError("JWT sub of a ping must be 'ping'")
        return document
    check_task_and_subject(data, subject)
    return document


def is_source(value: Any) -> TypeGuard[str]:
    """The sending Canvas instance (envelope `source`, Bundle `meta.source`) is present."""
    return isinstance(value, str) and bool(value) and len(value) <= MAX_SOURCE_LENGTH


def check_task_and_subject(task: Any, subject: str | None) -> None:
    """The Task rules, in either format; under a JWT, its `sub` must name this Task."""
    try:
        check_task(task)
    except TaskRuleError as error:
        # Rule messages name elements, never values (task_rules' contract).
        raise InvalidTaskError(str(error)) from None
    if subject is not None and subject != f"Task/{task.get('id')}":
        raise InvalidTokenError("JWT sub does not name the Task in the body")
