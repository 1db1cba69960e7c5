"""The FHIR notification format: an R4 Subscriptions Backport notification Bundle.

`PAYLOAD_FORMAT=fhir-notification` sends what FHIR-native receivers (integration engines,
FHIR servers) already consume: a `history` Bundle whose first entry is the backport
SubscriptionStatus (a `Parameters` resource in R4), then the Task, full-resource, then any
INCLUDE'd resources. Both sides import this module, so the names, URLs and rules the plugin
writes are the ones the receiver checks. Imports only what Canvas's sandbox allows.

Canvas has no Subscription resource, so the `subscription` parameter names one stable
URN per Canvas instance and webhook URL, and the topics are this project's URNs (as the
payload schema's id is): a receiver matches them, it never resolves them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from .payload import EVENT_TYPES, is_envelope_time, occurred_at, unix_instant, utc_iso

FORMAT_ENVELOPE = "envelope"
FORMAT_NOTIFICATION = "fhir-notification"
PAYLOAD_FORMATS = (FORMAT_ENVELOPE, FORMAT_NOTIFICATION)
CONTENT_TYPE_FHIR = "application/fhir+json"

BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
BUNDLE_PROFILE = BACKPORT + "backport-subscription-notification-r4"
STATUS_PROFILE = BACKPORT + "backport-subscription-status-r4"
SUBSCRIPTION_URN = "urn:enriched-webhook:subscription:"
TOPIC_URN = "urn:enriched-webhook:topic:"
# The coding system of a gap's reason in its OperationOutcome (IncludeGap.reason codes).
GAP_REASON_SYSTEM = "urn:enriched-webhook:include-gap"
# Envelope type -> topic canonical, one per event (docs/wire-format.md, "FHIR notifications").
TOPICS = {kind: TOPIC_URN + kind for kind in EVENT_TYPES.values()}
TOPIC_TYPES = {topic: kind for kind, topic in TOPICS.items()}

# The value sets the backport status profile binds `status` and `type` to (required).
SUBSCRIPTION_STATUSES = frozenset(("requested", "active", "error", "off", "entered-in-error"))
NOTIFICATION_TYPES = frozenset(
    ("handshake", "heartbeat", "event-notification", "query-status", "query-event")
)
# A FHIR instant: a full date-time with seconds and a time zone.
INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})")


def is_instant(value: str) -> bool:
    """A FHIR instant that is also a real time (the pattern alone passes 9999-99-99T99:...)."""
    return INSTANT.fullmatch(value) is not None and is_envelope_time(value)


# A literal relative reference `Type/id`, optionally versioned `Type/id/_history/v`.
RELATIVE_REFERENCE = re.compile(
    r"([A-Z][A-Za-z]{1,63})/([A-Za-z0-9\-.]{1,64})(/_history/[A-Za-z0-9\-.]{1,64})?"
)


@dataclass(frozen=True)
class IncludedResource:
    """A resource read for an INCLUDE: which include, its read path, the resource as read."""

    include: str
    path: str
    resource: dict[str, Any]


@dataclass(frozen=True)
class IncludeGap:
    """A referenced resource that is not in the payload, and why (never a silent gap).

    `reason` is a kind, never text from the FHIR API: `http-<status>`, `timeout`,
    `unreachable`, `not-json`, `wrong-resource`, `external-reference`, `over-limit`,
    `no-token`.
    """

    include: str
    reference: str
    reason: str
    status: int | None = None


@dataclass(frozen=True)
class Included:
    """What INCLUDE added to one event: the resources read and the ones that could not be."""

    resources: tuple[IncludedResource, ...] = ()
    gaps: tuple[IncludeGap, ...] = ()


NO_INCLUDES = Included()


def event_instant(task: dict[str, Any], now: float) -> str:
    """When the event happened, as a FHIR instant: the envelope timestamp's rule (the Task's
    lastModified, else authoredOn, in UTC), else `now` when that is no instant (a date)."""
    when = utc_iso(occurred_at(task), now)
    return when if is_instant(when) else unix_instant(now)


def subscription_reference(source: str, webhook_url: str) -> str:
    """The stable name of this Canvas instance's "subscription" to one webhook URL."""
    digest = hashlib.sha256((source + " " + webhook_url).encode("utf-8")).hexdigest()
    return SUBSCRIPTION_URN + digest[:32]


def uuid_urn(seed: str) -> str:
    """A `urn:uuid:` fullUrl derived from `seed`, so the same event gets the same Bundle."""
    digest = hashlib.sha256(seed.encode("utf-8")).hexdigest()
    return "urn:uuid:" + "-".join(
        (digest[0:8], digest[8:12], digest[12:16], digest[16:20], digest[20:32])
    )


def _part(name: str, kind: str, value: Any) -> dict[str, Any]:
    return {"name": name, kind: value}


def _gap_status(gap: IncludeGap) -> str:
    """The entry's response status: the FHIR API's error status, else what a gateway would
    say (an answer that was not the resource, as an unusable 200, is a 502: never a 2xx,
    which would read as a successful entry)."""
    if gap.status is not None and not 200 <= gap.status < 300:
        return str(gap.status)
    if gap.reason == "timeout":
        return "504"
    return "502"


def _gap_issue_code(gap: IncludeGap) -> str:
    if gap.status == 404 or gap.status == 410:
        return "not-found"
    if gap.reason == "timeout":
        return "timeout"
    if gap.status in (401, 403):
        return "forbidden"
    if gap.reason in ("external-reference", "over-limit"):
        return "not-supported"
    return "exception"


def gap_entry(base_url: str, gap: IncludeGap) -> dict[str, Any]:
    """A history entry with no resource: the read that failed, and an OperationOutcome."""
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": _gap_issue_code(gap),
                "details": {"coding": [{"system": GAP_REASON_SYSTEM, "code": gap.reason}]},
                "diagnostics": "INCLUDE " + gap.include + ": not included (" + gap.reason + ")",
            }
        ],
    }
    entry: dict[str, Any] = {}
    relative = RELATIVE_REFERENCE.fullmatch(gap.reference) is not None
    if relative:
        entry["fullUrl"] = base_url + "/" + gap.reference.split("/_history/")[0]
    entry["request"] = {"method": "GET", "url": gap.reference}
    entry["response"] = {"status": _gap_status(gap), "outcome": outcome}
    return entry


def notification_bundle(
    event_name: str,
    task: dict[str, Any],
    included: Included,
    *,
    source: str,
    fhir_base_url: str,
    webhook_url: str,
    msg_id: str,
    event_number: int,
    now: float,
) -> dict[str, Any]:
    """The notification Bundle for one event; the Task and included resources unchanged.

    `event_number` is the outbox's number for this event; `now` (Unix seconds) is when the
    Bundle is made, its `timestamp`.
    """
    bundle_time = unix_instant(now)
    event_time = event_instant(task, now)
    kind = EVENT_TYPES[event_name]
    task_id = str(task["id"])
    base_url = fhir_base_url.rstrip("/")
    task_url = base_url + "/Task/" + task_id
    subscription = subscription_reference(source, webhook_url)
    status_urn = uuid_urn("status:" + msg_id)
    number = str(event_number)
    event_parts = [
        _part("event-number", "valueString", number),
        _part("timestamp", "valueInstant", event_time),
        _part("focus", "valueReference", {"reference": task_url}),
    ]
    for item in included.resources:
        context_url = base_url + "/" + item.path.split("/_history/")[0]
        event_parts.append(
            _part("additional-context", "valueReference", {"reference": context_url})
        )
    status = {
        "resourceType": "Parameters",
        "id": status_urn[len("urn:uuid:") :],
        "meta": {"profile": [STATUS_PROFILE]},
        "parameter": [
            _part("subscription", "valueReference", {"reference": subscription}),
            _part("topic", "valueCanonical", TOPICS[kind]),
            _part("status", "valueCode", "active"),
            _part("type", "valueCode", "event-notification"),
            _part("events-since-subscription-start", "valueString", number),
            {"name": "notification-event", "part": event_parts},
        ],
    }
    if kind == "task.created":
        task_request = {"method": "POST", "url": "Task"}
        task_response = {"status": "201"}
    else:
        task_request = {"method": "PUT", "url": "Task/" + task_id}
        task_response = {"status": "200"}
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": status_urn,
            "resource": status,
            "request": {
                "method": "GET",
                "url": "Subscription/" + subscription[len(SUBSCRIPTION_URN) :] + "/$status",
            },
            "response": {"status": "200"},
        },
        {"fullUrl": task_url, "resource": task, "request": task_request, "response": task_response},
    ]
    for item in included.resources:
        entries.append(
            {
                "fullUrl": base_url + "/" + item.path.split("/_history/")[0],
                "resource": item.resource,
                "request": {"method": "GET", "url": item.path},
                "response": {"status": "200"},
            }
        )
    for gap in included.gaps:
        entries.append(gap_entry(base_url, gap))
    return {
        "resourceType": "Bundle",
        "id": uuid_urn("bundle:" + msg_id)[len("urn:uuid:") :],
        "meta": {"profile": [BUNDLE_PROFILE], "source": source},
        "type": "history",
        "timestamp": bundle_time,
        "entry": entries,
    }


def envelope_includes(included: Included) -> dict[str, Any]:
    """The envelope's additive v1 fields for INCLUDE: `included` and `not_included`."""
    return {
        "included": [item.resource for item in included.resources],
        "not_included": [
            {"include": gap.include, "reference": gap.reference, "reason": gap.reason}
            for gap in included.gaps
        ],
    }
