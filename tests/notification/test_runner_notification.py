"""PAYLOAD_FORMAT=fhir-notification and INCLUDE in the real Canvas plugin runner (issue 12).

The plugin-only copy runs in `canvas run-plugin` (the RestrictedPython sandbox, so the
INCLUDE thread pool and `requests` reads run where Canvas runs them); the local FHIR
server serves the fixture Tasks, Patients and Practitioners; each request that reaches the
capture receiver is checked with other libraries than ours (standardwebhooks, PyJWT) and
with fhir.resources R4B, and read back with the receiver library.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from standardwebhooks.webhooks import Webhook

from devtools.capture_receiver import CapturedRequest, CaptureReceiver
from devtools.event_log import event_fields
from devtools.fhir_server import LocalFhirServer
from devtools.runner import PluginRunner
from enriched_webhook.receiver.verifier import Verifier
from enriched_webhook.shared.notification import CONTENT_TYPE_FHIR
from tests.notification.support import (
    INCLUDE_THREE,
    MODELS,
    SOURCE,
    TASKS,
    assert_backport_bundle,
    expected_reads,
    gap_entries,
    included_entries,
    loads,
    serve_all,
    served,
    task_named,
)
from tests.support import new_key_pair, new_whsec

pytestmark = pytest.mark.runner

CANVAS = task_named("canvas/task_read_response_200.json")
# Patient and Practitioner text that must never reach a log (names, addresses, phones).
PHI_SAMPLES = ["Samantha", "Chalmers", "Pieter", "Erewhon", "Jones", "Lisa", "(03) 5555 6473"]


@pytest.fixture
def fhir() -> Iterator[LocalFhirServer]:
    with LocalFhirServer() as server:
        serve_all(server)
        yield server


def send(runner: PluginRunner, receiver: CaptureReceiver, target: str) -> CapturedRequest:
    """One TASK_CREATED; the plugin sends it itself before `send_event` returns."""
    before = len(receiver.requests)
    assert runner.send_event("TASK_CREATED", target) == []
    (request,) = receiver.requests[before:]
    assert request.answered == 204
    return request


def check_request(request: CapturedRequest, secret: str) -> dict[str, Any]:
    """The body of a notification request that standardwebhooks verifies with `secret`."""
    assert request.headers["content-type"] == CONTENT_TYPE_FHIR
    request.body.decode("ascii")
    Webhook(secret).verify(request.body, request.headers)
    with pytest.raises(Exception):  # noqa: B017 - any verification failure
        Webhook(new_whsec()).verify(request.body, request.headers)
    return loads(request.body)


def assert_log_is_clean(log: str) -> None:
    for text in PHI_SAMPLES:
        assert text not in log, "leaked into the runner log: " + text[:6] + "..."
    assert "Traceback" not in log


@pytest.mark.parametrize("include", ["", INCLUDE_THREE], ids=["no-includes", "three-includes"])
def test_every_fixture_task_arrives_as_a_backport_bundle(
    fhir: LocalFhirServer, include: str
) -> None:
    secret = new_whsec()
    with CaptureReceiver() as receiver:
        variables = fhir.plugin_variables(
            receiver.url, WEBHOOK_SECRET=secret, PAYLOAD_FORMAT="fhir-notification", INCLUDE=include
        )
        with PluginRunner(variables) as runner:
            requests = [send(runner, receiver, fixture.task_id) for fixture in TASKS]
        log = runner.log_text()

    verifier = Verifier(secrets=[secret], tolerance=600)
    numbers = []
    for request, fixture in zip(requests, TASKS, strict=True):
        document = check_request(request, secret)
        status = document["entry"][0]["resource"]
        number = int(status["parameter"][4]["valueString"])
        numbers.append(number)
        assert_backport_bundle(document, fixture.task, "TASK_CREATED", number, fhir.base_url)
        # The Task entry is the FHIR server's Task, byte for byte once parsed.
        assert document["entry"][1]["resource"] == loads(fhir.state.tasks[fixture.task_id])
        assert document["meta"]["source"] == SOURCE
        event = verifier.verify(request.body, request.headers)
        assert event.format == "fhir-notification" and event.task.id == fixture.task_id
        assert event.event_number == number
        entries = included_entries(document)
        gaps = gap_entries(document)
        if not include:
            assert entries == [] and gaps == [] and event.included == []
            continue
        wanted = expected_reads(fixture.task)
        assert [e["request"]["url"] for e in entries] + [g["request"]["url"] for g in gaps] == [
            w for w in wanted if served(w) is not None
        ] + [w for w in wanted if served(w) is None]
        for entry in entries:
            resource = entry["resource"]
            assert resource == served(entry["request"]["url"])
            MODELS[resource["resourceType"]].model_validate(resource)
        for gap in gaps:  # the HL7 Tasks' Organizations: not served, named
            assert gap["response"]["status"] == "404"
            assert gap["request"]["url"].startswith("Organization/")
        assert [type(m).__name__ for m in event.included] == [
            e["resource"]["resourceType"] for e in entries
        ]
        assert [g["reference"] for g in event.not_included] == [g["request"]["url"] for g in gaps]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    events = [f for f in event_fields(log) if f.get("event") == "TASK_CREATED"]
    assert [f["outcome"] for f in events] == ["delivered"] * len(TASKS)
    # INCLUDE's reads are timed on the event line (part of build), only when INCLUDE is set.
    assert all(("include_ms" in f) == bool(include) for f in events)
    assert_log_is_clean(log)


@pytest.mark.parametrize("status", [404, 500])
def test_an_include_that_fails_is_named_and_the_event_still_delivered(
    fhir: LocalFhirServer, status: int
) -> None:
    secret = new_whsec()
    owner = "Practitioner/a02cbf2403e140f7bc9a355c6ed420f3"
    fhir.script_response("/" + owner, status, b'{"resourceType": "OperationOutcome"}')
    with CaptureReceiver() as receiver:
        variables = fhir.plugin_variables(
            receiver.url,
            WEBHOOK_SECRET=secret,
            PAYLOAD_FORMAT="fhir-notification",
            INCLUDE=INCLUDE_THREE,
        )
        with PluginRunner(variables) as runner:
            request = send(runner, receiver, CANVAS.task_id)
        log = runner.log_text()
    document = check_request(request, secret)
    assert [e["request"]["url"] for e in included_entries(document)] == [
        "Patient/cfd91cd3bd9046db81199aa8ee4afd7f",
        "Practitioner/4150cd20de8a470aa570a852859ac87e",
    ]
    (gap,) = gap_entries(document)
    assert gap["request"]["url"] == owner
    assert gap["response"]["status"] == str(status)
    assert gap["response"]["outcome"]["issue"][0]["details"]["coding"][0]["code"] == (
        "http-" + str(status)
    )
    event = Verifier(secrets=[secret], tolerance=600).verify(request.body, request.headers)
    assert event.not_included == [{"reference": owner, "reason": "http-" + str(status)}]
    assert_log_is_clean(log)


def test_the_envelope_carries_included_resources_and_names_the_gap(fhir: LocalFhirServer) -> None:
    secret = new_whsec()
    fhir.script_response("/Patient/cfd91cd3bd9046db81199aa8ee4afd7f", 500, b"{}")
    with CaptureReceiver() as receiver:
        variables = fhir.plugin_variables(
            receiver.url, WEBHOOK_SECRET=secret, INCLUDE=INCLUDE_THREE
        )
        with PluginRunner(variables) as runner:
            request = send(runner, receiver, CANVAS.task_id)
    Webhook(secret).verify(request.body, request.headers)
    document = loads(request.body)
    assert request.headers["content-type"] == "application/json"
    assert document["version"] == 1 and document["data"] == CANVAS.task
    assert document["included"] == [
        served("Practitioner/a02cbf2403e140f7bc9a355c6ed420f3"),
        served("Practitioner/4150cd20de8a470aa570a852859ac87e"),
    ]
    assert document["not_included"] == [
        {
            "include": "Task:patient",
            "reference": "Patient/cfd91cd3bd9046db81199aa8ee4afd7f",
            "reason": "http-500",
        }
    ]


def test_jwt_mode_signs_every_bundle_as_it_signs_the_envelope(fhir: LocalFhirServer) -> None:
    pair = new_key_pair("ES256", kid="k-notify")
    with CaptureReceiver() as receiver:
        variables = fhir.plugin_variables(
            receiver.url,
            SIGNING_MODE="jwt",
            JWT_PRIVATE_KEY=pair.private_pem,
            JWT_KEY_ID="k-notify",
            PAYLOAD_FORMAT="fhir-notification",
            INCLUDE=INCLUDE_THREE,
        )
        with PluginRunner(variables) as runner:
            requests = [send(runner, receiver, fixture.task_id) for fixture in TASKS]
        log = runner.log_text()
    verifier = Verifier(jwks={"keys": [pair.public_jwk]}, audience=receiver.url, tolerance=600)
    for request, fixture in zip(requests, TASKS, strict=True):
        assert request.headers["content-type"] == CONTENT_TYPE_FHIR
        assert "webhook-signature" not in request.headers
        token = request.headers["authorization"].removeprefix("Bearer ")
        claims = jwt.decode(
            token,
            jwt.PyJWK(pair.public_jwk).key,
            algorithms=["ES256"],
            audience=receiver.url,
            issuer=SOURCE,
        )
        assert claims["sub"] == "Task/" + fixture.task_id
        assert claims["jti"] == request.headers["webhook-id"]
        assert claims["request_body_sha256"] == hashlib.sha256(request.body).hexdigest()
        document = loads(request.body)
        number = int(document["entry"][0]["resource"]["parameter"][4]["valueString"])
        assert_backport_bundle(document, fixture.task, "TASK_CREATED", number, fhir.base_url)
        event = verifier.verify(request.body, request.headers)
        assert [type(m).__name__ for m in event.included] == [
            entry["resource"]["resourceType"] for entry in included_entries(document)
        ]
    canvas = loads(requests[[f.task_id for f in TASKS].index(CANVAS.task_id)].body)
    assert len(included_entries(canvas)) == 3
    assert_log_is_clean(log)
