"""The published JSON Schema of payload v1: the envelope and the Task inside it.

Built from the two sources of truth rather than written by hand: element names, required
codes and event types from the shared rules the plugin and receiver apply, and each
element's shape (list, object, or primitive) from fhir.resources' R4B Task model. The
committed copy (`schema/payload-v1.schema.json`) is checked against this in the tests.
"""

from __future__ import annotations

import json
import typing
from typing import Any

from ..shared.payload import EVENT_TYPES, PAYLOAD_VERSION
from ..shared.task_rules import CODED_ELEMENTS, FHIR_ID, PRIMITIVE_ELEMENTS, TASK_ELEMENTS

SCHEMA_ID = "urn:enriched-webhook:payload:v1"
# Where events come from: a Canvas instance (both formats' schemas).
SOURCE_PATTERN = "^https://[a-z0-9-]+\\.canvasmedical\\.com$"


def _element_shapes() -> dict[str, str]:
    """'array', 'object' or 'string' for each Task element, read off fhir.resources."""
    from fhir.resources.R4B.task import Task

    shapes: dict[str, str] = {}
    for name, field in Task.model_fields.items():
        alias = field.alias or name
        if alias not in TASK_ELEMENTS:
            continue
        text = str(field.annotation)
        if "List[" in text or typing.get_origin(field.annotation) is list:
            shapes[alias] = "array"
        elif "Annotated[" in text:
            shapes[alias] = "string"
        else:
            shapes[alias] = "object"
    return shapes


def task_schema() -> dict[str, Any]:
    shapes = _element_shapes()
    properties: dict[str, Any] = {"resourceType": {"const": "Task"}}
    for element in sorted(TASK_ELEMENTS - {"resourceType"}):
        shape = shapes[element]
        if shape == "array":
            properties[element] = {"type": "array", "items": {"type": "object"}}
        else:
            properties[element] = {"type": shape}
    properties["id"] = {"type": "string", "pattern": f"^{FHIR_ID.pattern}$"}
    for element, allowed, _required in CODED_ELEMENTS:
        properties[element] = {"type": "string", "enum": sorted(allowed)}
    for element in sorted(PRIMITIVE_ELEMENTS):
        properties[f"_{element}"] = {"type": "object"}
    return {
        "type": "object",
        "description": "A FHIR R4 Task exactly as Canvas's FHIR API returned it.",
        "required": ["resourceType", *[e for e, _a, required in CODED_ELEMENTS if required]],
        "properties": properties,
        "additionalProperties": False,
    }


def payload_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of a v1 request body."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "enriched-webhook payload v1",
        "type": "object",
        "required": ["version", "type", "timestamp", "source", "data"],
        "additionalProperties": False,
        "properties": {
            "version": {"const": PAYLOAD_VERSION},
            "type": {"enum": list(EVENT_TYPES.values())},
            "timestamp": {
                "type": "string",
                "description": "When the event happened: the Task's lastModified, else authoredOn, "
                "as UTC ISO 8601 (a date without time zone is passed on as written)",
            },
            "source": {"type": "string", "pattern": SOURCE_PATTERN},
            "data": task_schema(),
            # Additive v1 fields, present only when INCLUDE is set: older receivers ignore them.
            "included": {
                "type": "array",
                "description": "INCLUDE only: the referenced resources, as read",
                "items": {"type": "object", "required": ["resourceType", "id"]},
            },
            "not_included": {
                "type": "array",
                "description": "INCLUDE only: the references that could not be read, and why",
                "items": {
                    "type": "object",
                    "required": ["include", "reference", "reason"],
                    "additionalProperties": False,
                    "properties": {
                        "include": {"type": "string"},
                        "reference": {"type": "string"},
                        "reason": {"type": "string"},
                    },
                },
            },
        },
    }


def schema_text() -> str:
    """The schema as committed: stable key order, two-space indent, final newline."""
    return f"{json.dumps(payload_schema(), indent=2)}\n"
