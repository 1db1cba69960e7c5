"""The published JSON Schema of the `fhir-notification` format (schema/fhir-notification-v1).

Built from the same sources as the envelope's schema: the Task part is the envelope's own
Task schema (one definition of what a Task may carry), and the Bundle's names, profiles,
codes and topics come from `shared/notification.py`, which the plugin and the receiver
import. JSON Schema cannot say everything the Backport profile says (that the focus names
the Task entry, for one); the receiver library checks those (docs/wire-format.md).
"""

from __future__ import annotations

import json
from typing import Any

from ..shared.notification import (
    BUNDLE_PROFILE,
    INSTANT,
    NOTIFICATION_TYPES,
    STATUS_PROFILE,
    SUBSCRIPTION_STATUSES,
    TOPICS,
)
from .payload_schema import SOURCE_PATTERN, task_schema

SCHEMA_ID = "urn:enriched-webhook:fhir-notification:v1"
INSTANT_PATTERN = f"^{INSTANT.pattern}$"
WHOLE_NUMBER = {"type": "string", "pattern": "^[0-9]{1,18}$"}


def _named(name: str, value: dict[str, Any]) -> dict[str, Any]:
    """A parameter (or part) called `name` whose value element is `value`."""
    return {
        "type": "object",
        "required": ["name"],
        "properties": {"name": {"const": name}, **value},
    }


def _exactly_once(name: str, value: dict[str, Any]) -> dict[str, Any]:
    return {
        "contains": _named(name, value),
        "minContains": 1,
        "maxContains": 1,
    }


def _reference() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["reference"],
        "properties": {"reference": {"type": "string", "minLength": 1}},
    }


def status_schema() -> dict[str, Any]:
    """The backport SubscriptionStatus (R4: Parameters) as this sender writes it."""
    event_parts = {
        "type": "array",
        "allOf": [
            _exactly_once("event-number", {"valueString": WHOLE_NUMBER}),
            _exactly_once(
                "timestamp", {"valueInstant": {"type": "string", "pattern": INSTANT_PATTERN}}
            ),
            _exactly_once("focus", {"valueReference": _reference()}),
        ],
        "items": {"type": "object", "required": ["name"]},
    }
    return {
        "type": "object",
        "required": ["resourceType", "parameter"],
        "properties": {
            "resourceType": {"const": "Parameters"},
            "meta": {
                "type": "object",
                "properties": {"profile": {"contains": {"const": STATUS_PROFILE}}},
            },
            "parameter": {
                "type": "array",
                "items": {"type": "object", "required": ["name"]},
                "allOf": [
                    _exactly_once("subscription", {"valueReference": _reference()}),
                    _exactly_once("topic", {"valueCanonical": {"enum": sorted(TOPICS.values())}}),
                    _exactly_once("status", {"valueCode": {"enum": sorted(SUBSCRIPTION_STATUSES)}}),
                    _exactly_once(
                        "type",
                        {
                            "valueCode": {
                                "const": "event-notification",
                                "description": (
                                    f"one of {', '.join(sorted(NOTIFICATION_TYPES))};"
                                    " this sender sends event-notification only"
                                ),
                            }
                        },
                    ),
                    _exactly_once("events-since-subscription-start", {"valueString": WHOLE_NUMBER}),
                    _exactly_once("notification-event", {"part": event_parts}),
                ],
            },
        },
    }


def _request() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["method", "url"],
        "properties": {
            "method": {"enum": ["GET", "POST", "PUT"]},
            "url": {"type": "string", "minLength": 1},
        },
    }


def _entry(resource: dict[str, Any] | None, status: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "fullUrl": {"type": "string"},
        "request": _request(),
        "response": {
            "type": "object",
            "required": ["status"],
            "properties": {"status": status, "outcome": {"type": "object"}},
        },
    }
    required = ["request", "response"]
    if resource is not None:
        properties["resource"] = resource
        required.append("resource")
    return {"type": "object", "required": required, "properties": properties}


def notification_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of a `fhir-notification` request body."""
    included = {
        "type": "object",
        "required": ["resourceType", "id"],
        "description": "A resource INCLUDE read (Patient, Practitioner, ...), as read",
    }
    gap = _entry(None, {"type": "string", "pattern": "^[3-5][0-9][0-9]$"})
    gap["description"] = (
        "A referenced resource that could not be read: the read and an OperationOutcome."
    )
    gap["not"] = {"required": ["resource"]}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "enriched-webhook FHIR notification (R4 Subscriptions Backport Bundle)",
        "type": "object",
        "required": ["resourceType", "type", "timestamp", "meta", "entry"],
        "properties": {
            "resourceType": {"const": "Bundle"},
            "id": {"type": "string"},
            "meta": {
                "type": "object",
                "required": ["source"],
                "properties": {
                    "profile": {"contains": {"const": BUNDLE_PROFILE}},
                    "source": {
                        "type": "string",
                        "pattern": SOURCE_PATTERN,
                    },
                },
            },
            "type": {"const": "history"},
            "timestamp": {"type": "string", "pattern": INSTANT_PATTERN},
            "entry": {
                "type": "array",
                "minItems": 2,
                "prefixItems": [
                    _entry(status_schema(), {"const": "200"}),
                    _entry(task_schema(), {"enum": ["200", "201"]}),
                ],
                "items": {"anyOf": [_entry(included, {"const": "200"}), gap]},
            },
        },
    }


def notification_schema_text() -> str:
    """The schema as committed: stable key order, two-space indent, final newline."""
    return f"{json.dumps(notification_schema(), indent=2)}\n"
