"""fhir.resources R4B validation of a Task that already passed the shared Task rules.

Importing fhir.resources takes about a third of a second, so it happens on first use
(or when a Verifier that validates is constructed), never at `import enriched_webhook.verify`.
Pydantic's messages quote the offending input; ours keep only the element paths and error
kinds, because every Task field is treated as PHI.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from .errors import InvalidTaskError

MAX_REPORTED_ERRORS = 5


@cache
def task_class() -> Any:
    """The R4B Task model, imported once."""
    from fhir.resources.R4B.task import Task

    return Task


def validate_task(data: dict[str, Any]) -> Any:
    """The fhir.resources Task for `data`, or InvalidTaskError naming the bad elements."""
    model = task_class()
    try:
        return model.model_validate(data)
    except Exception as error:
        raise InvalidTaskError(f"Task fails FHIR R4B validation: {_describe(error)}") from None


def _describe(error: Exception) -> str:
    errors = getattr(error, "errors", None)
    if not callable(errors):
        return type(error).__name__
    try:
        details = errors(include_input=False, include_url=False, include_context=False)
    except Exception:
        return type(error).__name__
    parts = []
    for detail in details[:MAX_REPORTED_ERRORS]:
        location = ".".join(str(part) for part in detail.get("loc", ()) if _safe(part))
        parts.append(f"{location or 'Task'} ({detail.get('type', 'invalid')})")
    if len(details) > MAX_REPORTED_ERRORS:
        parts.append(f"and {len(details) - MAX_REPORTED_ERRORS} more")
    return "; ".join(parts)


def _safe(part: Any) -> bool:
    """Element names and indexes only: a dict key from the input could itself be PHI."""
    if isinstance(part, int):
        return True
    return isinstance(part, str) and len(part) <= 64 and part.replace("_", "").isalnum()
