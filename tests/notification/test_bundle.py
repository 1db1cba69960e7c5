"""The notification Bundle as the plugin builds it and as the receiver library reads it.

In-process: `plugin.body.build_body` (what the outbox stores and sends), checked with
fhir.resources R4B and read back with `receiver.notification.parse_body` and the Verifier.
The runner tests (test_runner_notification.py) prove the same through the real sandbox.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.practitioner import Practitioner
from fhir.resources.R4B.task import Task
from standardwebhooks.webhooks import Webhook

from enriched_webhook.plugin.body import build_body
from enriched_webhook.plugin.config_errors import ConfigError
from enriched_webhook.plugin.signer import sign_request
from enriched_webhook.receiver.errors import (
    InvalidPayloadError,
    InvalidTaskError,
    InvalidTokenError,
)
from enriched_webhook.receiver.notification import parse_body
from enriched_webhook.receiver.verifier import Verifier
from enriched_webhook.shared.notification import (
    CONTENT_TYPE_FHIR,
    FORMAT_ENVELOPE,
    FORMAT_NOTIFICATION,
    TOPICS,
    Included,
    IncludedResource,
    IncludeGap,
)
from enriched_webhook.shared.payload import EVENT_TYPES, occurred_at, webhook_id
from tests.notification.support import (
    FHIR_BASE,
    HOOK,
    INCLUDE_THREE,
    SOURCE,
    TASKS,
    assert_backport_bundle,
    gap_entries,
    included_entries,
    loads,
    served,
    settings_for,
    task_named,
)
from tests.support import new_key_pair, new_whsec

NOW = 1_790_000_000.0
NOTIFY = settings_for(PAYLOAD_FORMAT="fhir-notification", FHIR_BASE_URL=FHIR_BASE)
CANVAS = task_named("canvas/task_read_response_200.json")


def canvas_included() -> Included:
    """The Canvas Task's patient and owner as served, and its requester as a 404 gap."""
    patient = "Patient/cfd91cd3bd9046db81199aa8ee4afd7f"
    owner = "Practitioner/a02cbf2403e140f7bc9a355c6ed420f3"
    return Included(
        (
            IncludedResource("Task:patient", patient, served(patient) or {}),
            IncludedResource("Task:owner", owner, served(owner) or {}),
        ),
        (
            IncludeGap(
                "Task:requester", "Practitioner/4150cd20de8a470aa570a852859ac87e", "http-404", 404
            ),
        ),
    )


@pytest.mark.parametrize("fixture", TASKS, ids=[f.name for f in TASKS])
@pytest.mark.parametrize("event", list(EVENT_TYPES))
def test_every_fixture_task_becomes_a_backport_bundle_the_receiver_reads_back(
    fixture: Any, event: str
) -> None:
    built = build_body(NOTIFY, event, fixture.task, None, 7, NOW)
    assert built.content_type == CONTENT_TYPE_FHIR
    built.body.encode("ascii")  # ASCII-only, like the envelope
    document = assert_backport_bundle(loads(built.body), fixture.task, event, 7, FHIR_BASE)
    assert len(document["entry"]) == 2
    assert document["meta"]["source"] == SOURCE
    parsed = parse_body(built.body.encode("ascii"), "Task/" + fixture.task_id)
    assert parsed.format == FORMAT_NOTIFICATION
    assert parsed.task == fixture.task
    assert parsed.type == EVENT_TYPES[event]
    assert parsed.topic == TOPICS[EVENT_TYPES[event]]
    assert parsed.event_number == 7
    assert parsed.included == [] and parsed.not_included == []


def test_the_same_event_gives_the_same_body_and_the_event_number_is_carried() -> None:
    first = build_body(NOTIFY, "TASK_CREATED", CANVAS.task, None, 41, NOW)
    again = build_body(NOTIFY, "TASK_CREATED", CANVAS.task, None, 41, NOW)
    later = build_body(NOTIFY, "TASK_CREATED", CANVAS.task, None, 42, NOW)
    assert first == again
    assert parse_body(later.body.encode()).event_number == 42


def test_created_is_a_post_and_the_other_events_a_put_of_the_task() -> None:
    created = loads(build_body(NOTIFY, "TASK_CREATED", CANVAS.task, None, 1, NOW).body)
    closed = loads(build_body(NOTIFY, "TASK_CLOSED", CANVAS.task, None, 1, NOW).body)
    assert created["entry"][1]["request"] == {"method": "POST", "url": "Task"}
    assert created["entry"][1]["response"] == {"status": "201"}
    assert closed["entry"][1]["request"] == {"method": "PUT", "url": "Task/" + CANVAS.task_id}


def test_the_event_timestamp_is_the_tasks_own_time_and_the_bundle_time_is_now() -> None:
    document = loads(build_body(NOTIFY, "TASK_CREATED", CANVAS.task, None, 1, NOW).body)
    parts = {p["name"]: p for p in document["entry"][0]["resource"]["parameter"][5]["part"]}
    assert CANVAS.task["lastModified"].startswith(parts["timestamp"]["valueInstant"][:19])
    assert document["timestamp"] == "2026-09-21T14:13:20Z"  # NOW


def test_included_resources_and_a_gap_are_entries_the_receiver_hands_back() -> None:
    built = build_body(NOTIFY, "TASK_CREATED", CANVAS.task, canvas_included(), 3, NOW)
    document = assert_backport_bundle(loads(built.body), CANVAS.task, "TASK_CREATED", 3, FHIR_BASE)
    entries = included_entries(document)
    assert [entry["request"]["url"] for entry in entries] == [
        "Patient/cfd91cd3bd9046db81199aa8ee4afd7f",
        "Practitioner/a02cbf2403e140f7bc9a355c6ed420f3",
    ]
    Patient.model_validate(entries[0]["resource"])
    Practitioner.model_validate(entries[1]["resource"])
    (gap,) = gap_entries(document)
    assert gap["response"]["status"] == "404"
    assert gap["response"]["outcome"]["issue"][0]["code"] == "not-found"
    context = [
        part["valueReference"]["reference"]
        for part in document["entry"][0]["resource"]["parameter"][5]["part"]
        if part["name"] == "additional-context"
    ]
    assert context == [entry["fullUrl"] for entry in entries]

    parsed = parse_body(built.body.encode())
    assert parsed.included == [entry["resource"] for entry in entries]
    assert parsed.not_included == [
        {"reference": "Practitioner/4150cd20de8a470aa570a852859ac87e", "reason": "http-404"}
    ]


def test_the_envelope_gains_included_only_when_include_is_set() -> None:
    plain = build_body(settings_for(), "TASK_CREATED", CANVAS.task, None, 1, NOW)
    assert "included" not in loads(plain.body)
    with_includes = build_body(
        settings_for(INCLUDE=INCLUDE_THREE), "TASK_CREATED", CANVAS.task, canvas_included(), 1, NOW
    )
    document = loads(with_includes.body)
    assert with_includes.content_type == "application/json"
    assert [r["resourceType"] for r in document["included"]] == ["Patient", "Practitioner"]
    assert document["not_included"] == [
        {
            "include": "Task:requester",
            "reference": "Practitioner/4150cd20de8a470aa570a852859ac87e",
            "reason": "http-404",
        }
    ]
    parsed = parse_body(with_includes.body.encode())
    assert parsed.format == FORMAT_ENVELOPE
    assert parsed.included == document["included"]
    assert parsed.event_number is None and parsed.topic is None


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PAYLOAD_FORMAT", "xml"),
        ("INCLUDE", "Task:nobody"),
        ("INCLUDE", "Patient:general-practitioner"),
        ("INCLUDE", "Task:patient:Practitioner"),
        ("INCLUDE", "Task:owner:not a type"),
        ("INCLUDE_BUDGET_SECONDS", "60"),
        ("INCLUDE_BUDGET_SECONDS", "soon"),
    ],
)
def test_a_bad_payload_variable_is_a_config_error_naming_it(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_for(**{variable: value})
    assert caught.value.variable == variable
    assert value not in caught.value.reason


def test_include_items_parse_with_optional_target_types() -> None:
    settings = settings_for(INCLUDE="Task:patient, Task:owner:Practitioner,Task:owner:Practitioner")
    specs = settings.payload.includes
    assert [(s.name, s.element, s.target) for s in specs] == [
        ("Task:patient", "for", "Patient"),
        ("Task:owner:Practitioner", "owner", "Practitioner"),
    ]


def signed_notification(
    included: Included | None = None, secret: str | None = None
) -> tuple[str, dict[str, str], str]:
    whsec = secret or new_whsec()
    settings = settings_for(
        PAYLOAD_FORMAT="fhir-notification", FHIR_BASE_URL=FHIR_BASE, WEBHOOK_SECRET=whsec
    )
    built = build_body(settings, "TASK_UPDATED", CANVAS.task, included, 9, NOW)
    msg_id = webhook_id("TASK_UPDATED", CANVAS.task_id, occurred_at(CANVAS.task))
    headers = sign_request(
        settings, msg_id, int(NOW), built.body, CANVAS.task_id, built.content_type
    )
    return built.body, headers, whsec


def test_the_verifier_gives_task_included_event_number_and_topic() -> None:
    body, headers, secret = signed_notification(canvas_included())
    assert headers["content-type"] == CONTENT_TYPE_FHIR
    event = Verifier(secrets=[secret], now=NOW).verify(body.encode(), headers)
    assert event.format == FORMAT_NOTIFICATION
    assert isinstance(event.task, Task) and event.task.id == CANVAS.task_id
    assert [type(model) for model in event.included] == [Patient, Practitioner]
    assert event.event_number == 9
    assert event.topic == TOPICS["task.updated"]
    assert event.type == "task.updated"
    assert event.source == SOURCE
    assert event.not_included[0]["reason"] == "http-404"


def test_standardwebhooks_verifies_a_notification_as_it_does_an_envelope() -> None:
    body, headers, secret = signed_notification()
    # standardwebhooks checks the timestamp against the clock: sign this one now.
    import time

    settings = settings_for(
        PAYLOAD_FORMAT="fhir-notification", FHIR_BASE_URL=FHIR_BASE, WEBHOOK_SECRET=secret
    )
    fresh = sign_request(
        settings, headers["webhook-id"], int(time.time()), body, CANVAS.task_id, CONTENT_TYPE_FHIR
    )
    assert Webhook(secret).verify(body, fresh) == loads(body)


def test_a_jwt_whose_sub_names_another_task_is_refused() -> None:
    pair = new_key_pair("ES256", kid="k1")
    settings = settings_for(
        PAYLOAD_FORMAT="fhir-notification",
        FHIR_BASE_URL=FHIR_BASE,
        SIGNING_MODE="jwt",
        JWT_PRIVATE_KEY=pair.private_pem,
        JWT_KEY_ID="k1",
    )
    built = build_body(settings, "TASK_CREATED", CANVAS.task, None, 1, NOW)
    msg_id = webhook_id("TASK_CREATED", CANVAS.task_id, occurred_at(CANVAS.task))
    other = sign_request(settings, msg_id, int(NOW), built.body, "another-task", CONTENT_TYPE_FHIR)
    good = sign_request(settings, msg_id, int(NOW), built.body, CANVAS.task_id, CONTENT_TYPE_FHIR)
    verifier = Verifier(jwks={"keys": [pair.public_jwk]}, audience=HOOK, now=NOW)
    claims = jwt.decode(
        good["Authorization"].split(" ")[1],
        jwt.PyJWK(pair.public_jwk).key,
        algorithms=["ES256"],
        audience=HOOK,
        options={"verify_exp": False},  # signed at the fixed NOW
    )
    assert claims["sub"] == "Task/" + CANVAS.task_id
    assert verifier.verify(built.body.encode(), good).event_number == 1
    with pytest.raises(InvalidTokenError):
        verifier.verify(built.body.encode(), other)


def _status(document: dict[str, Any]) -> dict[str, Any]:
    status: dict[str, Any] = document["entry"][0]["resource"]
    return status


def _named(document: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in _status(document)["parameter"] if p["name"] == name)


def _event_part(document: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in _named(document, "notification-event")["part"] if p["name"] == name)


BROKEN: list[tuple[str, Callable[[dict[str, Any]], None]]] = [
    ("not history", lambda d: d.update(type="collection")),
    ("no timestamp", lambda d: d.pop("timestamp")),
    ("timestamp without zone", lambda d: d.update(timestamp="2026-11-29T10:00:00")),
    ("status not first", lambda d: d["entry"].reverse()),
    ("first is not Parameters", lambda d: _status(d).update(resourceType="Basic")),
    ("no subscription", lambda d: _status(d)["parameter"].pop(0)),
    ("two topics", lambda d: _status(d)["parameter"].append(copy.deepcopy(_named(d, "topic")))),
    ("unknown topic", lambda d: _named(d, "topic").update(valueCanonical="urn:x:other")),
    ("status not a code", lambda d: _named(d, "status").update(valueCode="running")),
    ("a heartbeat", lambda d: _named(d, "type").update(valueCode="heartbeat")),
    ("type not a code", lambda d: _named(d, "type").update(valueCode="event")),
    ("event number not digits", lambda d: _event_part(d, "event-number").update(valueString="7a")),
    (
        "events since below event number",
        lambda d: _named(d, "events-since-subscription-start").update(valueString="6"),
    ),
    ("no notification-event", lambda d: _status(d)["parameter"].pop(5)),
    (
        "event time not an instant",
        lambda d: _event_part(d, "timestamp").update(valueInstant="2026"),
    ),
    (
        "event time not a real time",
        lambda d: _event_part(d, "timestamp").update(valueInstant="2024-02-30T25:61:61+99:99"),
    ),
    ("Bundle time not a real time", lambda d: d.update(timestamp="9999-99-99T99:99:99Z")),
    ("Bundle time on February 30th", lambda d: d.update(timestamp="2026-02-30T10:00:00Z")),
    (
        "focus names no entry",
        lambda d: _event_part(d, "focus").update(valueReference={"reference": "Task/elsewhere"}),
    ),
    ("entry without request (bdl-3)", lambda d: d["entry"][1].pop("request")),
    ("entry without response (bdl-4)", lambda d: d["entry"][1].pop("response")),
    ("focus url names another id", lambda d: d["entry"][1]["resource"].update(id="other-id")),
    ("no source", lambda d: d["meta"].pop("source")),
    ("only the status entry", lambda d: d["entry"].pop(1)),
    (
        "a resource-less entry that succeeded",
        lambda d: d["entry"].append(
            {"request": {"method": "GET", "url": "Patient/x"}, "response": {"status": "200"}}
        ),
    ),
]


@pytest.mark.parametrize(("rule", "mutate"), BROKEN, ids=[rule for rule, _ in BROKEN])
def test_a_bundle_breaking_a_backport_rule_is_refused(
    rule: str, mutate: Callable[[dict[str, Any]], None]
) -> None:
    document = loads(build_body(NOTIFY, "TASK_CREATED", CANVAS.task, None, 7, NOW).body)
    mutate(document)
    with pytest.raises(InvalidPayloadError) as caught:
        parse_body(json.dumps(document).encode())
    assert CANVAS.task_id not in str(caught.value)  # messages name rules, not values


def test_a_task_breaking_the_task_rules_inside_a_bundle_is_an_invalid_task() -> None:
    document = loads(build_body(NOTIFY, "TASK_CREATED", CANVAS.task, None, 7, NOW).body)
    document["entry"][1]["resource"]["status"] = "bogus"
    with pytest.raises(InvalidTaskError):
        parse_body(json.dumps(document).encode())


def test_an_included_resource_that_fails_r4b_validation_fails_verification() -> None:
    broken = Included(
        (
            IncludedResource(
                "Task:patient", "Patient/x", {"resourceType": "Patient", "id": "x", "gender": 5}
            ),
        )
    )
    body, headers, secret = signed_notification(broken)
    with pytest.raises(InvalidPayloadError) as caught:
        Verifier(secrets=[secret], now=NOW).verify(body.encode(), headers)
    assert "Patient" in str(caught.value)
    # A routing-only receiver still gets the event; the models fail when asked for.
    event = Verifier(secrets=[secret], now=NOW, validate_task=False).verify(body.encode(), headers)
    assert event.event_number == 9
    with pytest.raises(InvalidPayloadError):
        _ = event.included


@pytest.mark.parametrize(
    ("reason", "status", "wire_status"),
    [
        ("http-404", 404, "404"),
        ("http-500", 500, "500"),
        ("timeout", None, "504"),
        ("unreachable", None, "502"),
        ("not-json", 200, "502"),
        ("wrong-resource", 200, "502"),
        ("no-token", None, "502"),
    ],
)
def test_every_gap_kind_reaches_the_receiver_with_its_reason(
    reason: str, status: int | None, wire_status: str
) -> None:
    gap = IncludeGap("Task:owner", "Practitioner/a02cbf2403e140f7bc9a355c6ed420f3", reason, status)
    built = build_body(NOTIFY, "TASK_CREATED", CANVAS.task, Included((), (gap,)), 1, NOW)
    document = assert_backport_bundle(loads(built.body), CANVAS.task, "TASK_CREATED", 1, FHIR_BASE)
    (entry,) = gap_entries(document)
    assert entry["response"]["status"] == wire_status
    assert parse_body(built.body.encode()).not_included == [
        {"reference": gap.reference, "reason": reason}
    ]
