"""Either payload format, parsed once after the signature is verified: `parse_body`.

The format comes from the signed body itself (a FHIR `Bundle`, or envelope v1), never from
a header, so a forged content type cannot switch the checks. A notification Bundle is held
to the Subscriptions Backport rules this library relies on (docs/wire-format.md, "FHIR
notifications"): a `history` Bundle, a backport SubscriptionStatus `Parameters` first, one
`event-notification` event whose focus is the Task entry, every entry with its request and
response (bdl-3, bdl-4). Messages name elements, never values: every entry may be PHI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from ..shared.notification import (
    FORMAT_ENVELOPE,
    FORMAT_NOTIFICATION,
    GAP_REASON_SYSTEM,
    NOTIFICATION_TYPES,
    RELATIVE_REFERENCE,
    SUBSCRIPTION_STATUSES,
    TOPIC_TYPES,
    is_instant,
)
from .envelope import check_envelope, check_task_and_subject, decode_body, is_source
from .errors import InvalidPayloadError

# Parameters the backport status profile allows at most once, and those it requires.
SINGLE_PARAMETERS = ("subscription", "topic", "status", "type", "events-since-subscription-start")
REQUIRED_PARAMETERS = ("subscription", "status", "type")
MAX_ENTRIES = 64


@dataclass(frozen=True)
class ParsedBody:
    """One verified body, whichever format: what VerifiedEvent hands the application.

    `included` holds the included resources as sent (dicts; VerifiedEvent validates them),
    `not_included` the ones the sender could not read: `{"reference", "reason"}` (and
    `include` in the envelope). `event_number` and `topic` exist for notifications only.
    """

    format: str
    document: dict[str, Any]
    type: str
    timestamp: str
    source: str
    task: dict[str, Any]
    included: list[dict[str, Any]] = field(default_factory=list)
    not_included: list[dict[str, Any]] = field(default_factory=list)
    event_number: int | None = None
    topic: str | None = None


def parse_body(body: bytes, subject: str | None = None) -> ParsedBody:
    """The checked body; InvalidPayloadError/InvalidTaskError/InvalidTokenError if not."""
    document = decode_body(body)
    if document.get("resourceType") == "Bundle":
        return parse_notification(document, subject)
    checked = check_envelope(document, subject)
    return ParsedBody(
        format=FORMAT_ENVELOPE,
        document=checked,
        type=checked["type"],
        timestamp=checked["timestamp"],
        source=checked["source"],
        task=checked["data"],
        included=_object_list(checked, "included"),
        not_included=_object_list(checked, "not_included"),
    )


def _object_list(document: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """An optional additive field: absent, or a list of JSON objects."""
    value = document.get(name, [])
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise InvalidPayloadError(f"the envelope {name} is not a list of objects")
    return value


def _refuse(rule: str) -> InvalidPayloadError:
    return InvalidPayloadError(f"the notification Bundle breaks a Backport rule: {rule}")


def _parameters(status: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    parameters = status.get("parameter")
    if not isinstance(parameters, list):
        raise _refuse("the SubscriptionStatus has no parameter list")
    named: dict[str, list[dict[str, Any]]] = {}
    for parameter in parameters:
        if not isinstance(parameter, dict) or not isinstance(parameter.get("name"), str):
            raise _refuse("a SubscriptionStatus parameter has no name")
        named.setdefault(parameter["name"], []).append(parameter)
    for name in SINGLE_PARAMETERS:
        if len(named.get(name, [])) > 1:
            raise _refuse(f"parameter {name} appears more than once")
    for name in REQUIRED_PARAMETERS:
        if name not in named:
            raise _refuse(f"parameter {name} is missing")
    return named


def _value(parameter: dict[str, Any], kind: str, what: str) -> Any:
    value = parameter.get(kind)
    if value is None or (isinstance(value, str) and not value):
        raise _refuse(f"{what} has no {kind}")
    return value


def _count(text: Any, what: str) -> int:
    if not isinstance(text, str) or not text.isascii() or not text.isdigit() or len(text) > 18:
        raise _refuse(f"{what} is not a whole number")
    return int(text)


def _event(named: dict[str, list[dict[str, Any]]]) -> tuple[int, str, str]:
    """(event number, timestamp, focus reference) of the one notification-event."""
    events = named.get("notification-event", [])
    if len(events) != 1:
        raise _refuse("an event notification from this sender carries one notification-event")
    parts = events[0].get("part")
    if not isinstance(parts, list) or not all(isinstance(part, dict) for part in parts):
        raise _refuse("notification-event has no parts")
    by_name: dict[str, list[dict[str, Any]]] = {}
    for part in parts:
        by_name.setdefault(str(part.get("name")), []).append(part)
    for name in ("event-number", "timestamp", "focus"):
        if len(by_name.get(name, [])) != 1:
            raise _refuse(f"notification-event needs exactly one {name}")
    number = _count(
        _value(by_name["event-number"][0], "valueString", "event-number"), "event-number"
    )
    timestamp = _value(by_name["timestamp"][0], "valueInstant", "timestamp")
    if not isinstance(timestamp, str) or not is_instant(timestamp):
        raise _refuse("the event timestamp is not an instant")
    focus = _value(by_name["focus"][0], "valueReference", "focus")
    reference = focus.get("reference") if isinstance(focus, dict) else None
    if not isinstance(reference, str) or not reference:
        raise _refuse("the event focus has no reference")
    return number, timestamp, reference


def _status(entry: Any) -> tuple[str, int, str, str]:
    """(topic, event number, event timestamp, focus reference) of the status entry."""
    status = entry.get("resource") if isinstance(entry, dict) else None
    if not isinstance(status, dict) or status.get("resourceType") != "Parameters":
        raise _refuse("the first entry is not a Parameters (backport-notification-bundle-r4-1)")
    named = _parameters(status)
    subscription = _value(named["subscription"][0], "valueReference", "subscription")
    if not isinstance(subscription, dict):
        raise _refuse("subscription is not a Reference")
    code = _value(named["status"][0], "valueCode", "status")
    if not isinstance(code, str) or code not in SUBSCRIPTION_STATUSES:
        raise _refuse("status is not a subscription-status code")
    kind = _value(named["type"][0], "valueCode", "type")
    if not isinstance(kind, str) or kind not in NOTIFICATION_TYPES:
        raise _refuse("type is not a subscription-notification-type code")
    if kind != "event-notification":
        raise _refuse("type is not event-notification (this sender sends no other)")
    topics = named.get("topic", [])
    topic = _value(topics[0], "valueCanonical", "topic") if topics else None
    if not isinstance(topic, str) or topic not in TOPIC_TYPES:
        raise _refuse("topic is not one of this sender's topics")
    number, timestamp, focus = _event(named)
    since = named.get("events-since-subscription-start", [])
    if since:
        total = _count(
            _value(since[0], "valueString", "events-since-subscription-start"),
            "events-since-subscription-start",
        )
        if total < number:
            raise _refuse("events-since-subscription-start is below the event-number")
    return str(topic), number, timestamp, focus


def _check_entries(entries: list[Any]) -> None:
    """bdl-3, bdl-4 (a history Bundle: request and response on every entry), bdl-5."""
    for entry in entries:
        if not isinstance(entry, dict):
            raise _refuse("an entry is not an object")
        request = entry.get("request")
        response = entry.get("response")
        if not isinstance(request, dict) or not request.get("method") or not request.get("url"):
            raise _refuse("an entry has no request (bdl-3)")
        if not isinstance(response, dict) or not isinstance(response.get("status"), str):
            raise _refuse("an entry has no response status (bdl-4)")
        resource = entry.get("resource")
        if resource is not None and (
            not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str)
        ):
            raise _refuse("an entry's resource has no resourceType")


def _task_entry(entries: list[Any], focus: str, subject: str | None) -> dict[str, Any]:
    matches = [entry for entry in entries[1:] if entry.get("fullUrl") == focus]
    if len(matches) != 1 or not isinstance(matches[0].get("resource"), dict):
        raise _refuse("the event focus is not exactly one entry with its resource")
    task: dict[str, Any] = matches[0]["resource"]
    check_task_and_subject(task, subject)
    if not focus.endswith(f"/Task/{task.get('id')}"):
        raise _refuse("the focus fullUrl does not end with the Task's id")
    return task


def _gap(entry: dict[str, Any]) -> dict[str, Any]:
    """A read the sender could not make: the reference and why (shared/notification.py)."""
    reason = f"http-{entry['response']['status']}"
    outcome = entry["response"].get("outcome")
    issues = outcome.get("issue") if isinstance(outcome, dict) else None
    if isinstance(issues, list) and issues and isinstance(issues[0], dict):
        details = issues[0].get("details")
        codings = details.get("coding") if isinstance(details, dict) else None
        for coding in codings if isinstance(codings, list) else []:
            if isinstance(coding, dict) and coding.get("system") == GAP_REASON_SYSTEM:
                reason = str(coding.get("code"))
    return {"reference": str(entry["request"]["url"]), "reason": reason}


def parse_notification(document: dict[str, Any], subject: str | None = None) -> ParsedBody:
    """A checked Backport notification Bundle (the plugin's `fhir-notification` format)."""
    if document.get("type") != "history":
        raise _refuse("Bundle.type is not history")
    timestamp = document.get("timestamp")
    if not isinstance(timestamp, str) or not is_instant(timestamp):
        raise _refuse("Bundle.timestamp is not an instant")
    entries = document.get("entry")
    if not isinstance(entries, list) or len(entries) < 2 or len(entries) > MAX_ENTRIES:
        raise _refuse("the Bundle needs the status entry and the Task (and at most 64 entries)")
    _check_entries(entries)
    topic, number, event_time, focus = _status(entries[0])
    task = _task_entry(entries, focus, subject)
    included: list[dict[str, Any]] = []
    not_included: list[dict[str, Any]] = []
    for entry in entries[1:]:
        if entry.get("fullUrl") == focus:
            continue
        resource = entry.get("resource")
        if isinstance(resource, dict):
            included.append(resource)
        elif not str(entry["response"]["status"]).startswith("2"):
            not_included.append(_gap(entry))
        else:
            raise _refuse("an entry has neither a resource nor a failed read")
    meta = document.get("meta")
    source = meta.get("source") if isinstance(meta, dict) else None
    if not is_source(source):
        raise _refuse("Bundle.meta.source (the Canvas instance) is missing or too long")
    return ParsedBody(
        format=FORMAT_NOTIFICATION,
        document=document,
        type=TOPIC_TYPES[topic],
        timestamp=event_time,
        source=source,
        task=task,
        included=included,
        not_included=not_included,
        event_number=number,
        topic=topic,
    )


@cache
def model_class(resource_type: str) -> Any:
    """The fhir.resources R4B class for a resource type (imported once per type)."""
    from fhir.resources.R4B import get_fhir_model_class

    return get_fhir_model_class(resource_type)


def validate_resource(resource: dict[str, Any]) -> Any:
    """An included resource as a validated fhir.resources model; InvalidPayloadError if not."""
    kind = resource.get("resourceType")
    if not isinstance(kind, str) or RELATIVE_REFERENCE.fullmatch(f"{kind}/x") is None:
        raise InvalidPayloadError("an included resource has no valid resourceType")
    try:
        model = model_class(kind)
    except ValueError:
        raise InvalidPayloadError("an included resource has an unknown resourceType") from None
    try:
        return model.model_validate(resource)
    except Exception:
        # No pydantic detail: its messages quote the input, and included resources are PHI.
        raise InvalidPayloadError(f"an included {kind} fails FHIR R4B validation") from None
