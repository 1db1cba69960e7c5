"""The Task rules, owned once: what a Task must look like before it is signed or accepted.

The plugin applies them inside the sandbox (where `fhir.resources` cannot be imported)
to what Canvas's FHIR API returned, so that nothing is signed that a receiver would
refuse; the receiver applies the same rules before `fhir.resources` validation, because
fhir.resources checks structure but not codes (`"status": "bogus"` passes it).

A test fails if these names drift from fhir.resources' R4B Task model.
Messages name elements, never values: every Task field is treated as PHI.
"""

from __future__ import annotations

import re
from typing import Any

# FHIR R4 Task, every element (https://hl7.org/fhir/R4/task.html).
TASK_ELEMENTS = frozenset(
    {
        "resourceType",
        "id",
        "meta",
        "implicitRules",
        "language",
        "text",
        "contained",
        "extension",
        "modifierExtension",
        "identifier",
        "instantiatesCanonical",
        "instantiatesUri",
        "basedOn",
        "groupIdentifier",
        "partOf",
        "status",
        "statusReason",
        "businessStatus",
        "intent",
        "priority",
        "code",
        "description",
        "focus",
        "for",
        "encounter",
        "executionPeriod",
        "authoredOn",
        "lastModified",
        "requester",
        "performerType",
        "owner",
        "location",
        "reasonCode",
        "reasonReference",
        "insurance",
        "note",
        "relevantHistory",
        "restriction",
        "input",
        "output",
    }
)

# Primitive elements, which FHIR JSON may pair with a `_name` element for their extensions.
PRIMITIVE_ELEMENTS = frozenset(
    {
        "id",
        "implicitRules",
        "language",
        "instantiatesCanonical",
        "instantiatesUri",
        "status",
        "intent",
        "priority",
        "description",
        "authoredOn",
        "lastModified",
    }
)

# Required bindings (R4): task-status, task-intent, request-priority.
TASK_STATUS = frozenset(
    {
        "draft",
        "requested",
        "received",
        "accepted",
        "rejected",
        "ready",
        "cancelled",
        "in-progress",
        "on-hold",
        "failed",
        "completed",
        "entered-in-error",
    }
)
TASK_INTENT = frozenset(
    {
        "unknown",
        "proposal",
        "plan",
        "order",
        "original-order",
        "reflex-order",
        "filler-order",
        "instance-order",
        "option",
    }
)
REQUEST_PRIORITY = frozenset({"routine", "urgent", "asap", "stat"})

CODED_ELEMENTS = (
    ("status", TASK_STATUS, True),
    ("intent", TASK_INTENT, True),
    ("priority", REQUEST_PRIORITY, False),
)

# FHIR's `id` datatype.
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_NAME_SHAPE = re.compile(r"_?[A-Za-z][A-Za-z0-9]{0,63}")


class TaskRuleError(ValueError):
    """What came back is not a Task a receiver will accept; the message names the element."""


def is_fhir_id(value: object) -> bool:
    """True for a FHIR `id` (letters, digits, '-', '.', at most 64): safe in a URL path."""
    return isinstance(value, str) and FHIR_ID.fullmatch(value) is not None


def _is_element(name: str) -> bool:
    if name in TASK_ELEMENTS:
        return True
    return name.startswith("_") and name[1:] in PRIMITIVE_ELEMENTS


def check_task(task: Any, expected_id: str | None = None) -> None:
    """Raise TaskRuleError unless `task` is an R4 Task with valid required codes.

    `expected_id` is the event's target: a Task with another id is refused, so a
    misrouted response cannot be signed as this event.
    """
    if not isinstance(task, dict):
        raise TaskRuleError("the resource is not a JSON object")
    if task.get("resourceType") != "Task":
        raise TaskRuleError("resourceType is not 'Task'")
    task_id = task.get("id")
    if expected_id is not None:
        if task_id != expected_id:
            raise TaskRuleError("Task.id is not the event's target id")
    elif task_id is not None and not is_fhir_id(task_id):
        raise TaskRuleError("Task.id is not a FHIR id")
    unknown = sorted(name for name in task if not isinstance(name, str) or not _is_element(name))
    if unknown:
        shown = [name if _NAME_SHAPE.fullmatch(name) else "<unprintable>" for name in unknown[:5]]
        raise TaskRuleError("Task has elements that R4 does not define: " + ", ".join(shown))
    for element, allowed, required in CODED_ELEMENTS:
        if element not in task:
            if required:
                raise TaskRuleError("Task." + element + " is missing")
            continue
        value = task[element]
        if not isinstance(value, str) or value not in allowed:
            raise TaskRuleError("Task." + element + " is not in its required value set")
