"""A FHIR notification whose Task read fails at first, and every event type, in the real runner.

docs/wire-format.md, "The event number": "a Task that could not be read at once keeps the
number of its event, and is sent when the read succeeds, after later events". Here Task A's
read is answered 503 (a `reading` row), Task B's event is delivered at once, and a CRON tick
reads A and sends it with its INCLUDE'd Patient: a valid Backport Bundle whose event number
is below B's although it arrives after B. The second test sends each event the plugin
subscribes to and checks the topic and the Task entry's `request` the doc's tables give.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from devtools.capture_receiver import CapturedRequest, CaptureReceiver
from devtools.event_log import event_fields
from devtools.fhir_server import LocalFhirServer
from devtools.outbox_client import tick
from devtools.runner import PluginRunner
from enriched_webhook.receiver.verifier import Verifier
from enriched_webhook.shared.notification import CONTENT_TYPE_FHIR
from enriched_webhook.shared.payload import occurred_at, webhook_id
from tests.notification.support import (
    assert_backport_bundle,
    gap_entries,
    included_entries,
    loads,
    parameter,
    serve_all,
    served,
    task_named,
)
from tests.support import new_whsec

pytestmark = pytest.mark.runner

DELAYED = task_named("canvas/task_read_response_200.json")  # for: Patient/cfd91cd3...
PROMPT = task_named("hl7/task-example1.json")  # for: Patient/example
# A failed read is due again this long after it (RETRY_SCHEDULE "1,1,1").
RETRY_SECONDS = 1.0
# docs/wire-format.md: the topic of each Canvas event, and the Task entry's request/response.
TOPIC_OF = {
    "TASK_CREATED": "urn:enriched-webhook:topic:task.created",
    "TASK_UPDATED": "urn:enriched-webhook:topic:task.updated",
    "TASK_COMPLETED": "urn:enriched-webhook:topic:task.completed",
    "TASK_CLOSED": "urn:enriched-webhook:topic:task.closed",
}


@pytest.fixture
def fhir() -> Iterator[LocalFhirServer]:
    with LocalFhirServer() as server:
        serve_all(server)
        yield server


def notification_variables(
    fhir: LocalFhirServer, receiver: CaptureReceiver, secret: str, **extra: str
) -> dict[str, str]:
    return fhir.plugin_variables(
        receiver.url,
        WEBHOOK_SECRET=secret,
        PAYLOAD_FORMAT="fhir-notification",
        INCLUDE="Task:patient",
        RETRY_SCHEDULE="1,1,1",
        **extra,
    )


def event_number(document: dict[str, Any]) -> int:
    (notification,) = parameter(document["entry"][0]["resource"], "notification-event")
    parts = {part["name"]: part for part in notification["part"]}
    return int(parts["event-number"]["valueString"])


def checked(request: CapturedRequest, secret: str) -> dict[str, Any]:
    """The body of a delivered notification that standardwebhooks verifies with `secret`."""
    assert request.answered == 204
    assert request.headers["content-type"] == CONTENT_TYPE_FHIR
    Webhook(secret).verify(request.body, request.headers)
    return loads(request.body)


def assert_patient_included(document: dict[str, Any], task: dict[str, Any]) -> None:
    """INCLUDE=Task:patient: the Task's Patient, as served, and no gap."""
    patient = task["for"]["reference"]
    (entry,) = included_entries(document)
    assert entry["request"] == {"method": "GET", "url": patient}
    assert entry["resource"] == served(patient)
    assert gap_entries(document) == []


def test_a_delayed_read_keeps_its_event_number_and_arrives_after_later_events(
    fhir: LocalFhirServer,
) -> None:
    secret = new_whsec()
    fhir.script_response("/Task/" + DELAYED.task_id, 503, b'{"resourceType": "OperationOutcome"}')
    with CaptureReceiver() as receiver:
        with PluginRunner(notification_variables(fhir, receiver, secret)) as runner:
            assert runner.send_event("TASK_CREATED", DELAYED.task_id) == []
            assert receiver.requests == []  # A is a `reading` row: nothing sent yet
            assert runner.send_event("TASK_CREATED", PROMPT.task_id) == []
            assert len(receiver.requests) == 1  # B is sent by compute() itself
            time.sleep(RETRY_SECONDS + 0.1)  # A's read is due again
            tick(runner)
            log = runner.log_text()
    events = [f for f in event_fields(log) if f.get("event") == "TASK_CREATED"]
    assert [f["outcome"] for f in events] == ["read-retry", "delivered"]
    assert "FHIR API answered 503" in log
    tick_lines = [line for line in log.splitlines() if "enriched-webhook cron " in line]
    assert len(tick_lines) == 1 and "read=1" in tick_lines[0] and "delivered=1" in tick_lines[0]

    first, second = receiver.requests  # in arrival order: B, then A
    prompt, delayed = checked(first, secret), checked(second, secret)
    assert prompt["entry"][1]["resource"]["id"] == PROMPT.task_id
    assert delayed["entry"][1]["resource"]["id"] == DELAYED.task_id
    number_b, number_a = event_number(prompt), event_number(delayed)
    # A keeps the number its event got when it happened: below B's, though sent after it.
    assert number_a < number_b
    assert_backport_bundle(delayed, DELAYED.task, "TASK_CREATED", number_a, fhir.base_url)
    assert_backport_bundle(prompt, PROMPT.task, "TASK_CREATED", number_b, fhir.base_url)
    assert_patient_included(delayed, DELAYED.task)
    assert_patient_included(prompt, PROMPT.task)
    # The Bundle is built when the read succeeds (its `timestamp`), the event's own time is
    # the Task's; its webhook-id is the occurrence's, not the key of the row while reading.
    assert second.headers["webhook-id"] == webhook_id(
        "TASK_CREATED", DELAYED.task_id, occurred_at(DELAYED.task)
    )
    assert delayed["timestamp"] > prompt["timestamp"]  # to the second, 1.1 s apart

    # The receiver library reads both as the doc says, the included Patient validated.
    verifier = Verifier(secrets=[secret], tolerance=600)
    for request, fixture, number in ((second, DELAYED, number_a), (first, PROMPT, number_b)):
        event = verifier.verify(request.body, request.headers)
        assert event.format == "fhir-notification"
        assert event.task is not None and event.task.id == fixture.task_id
        assert event.event_number == number
        assert event.topic == TOPIC_OF["TASK_CREATED"]
        assert [type(model).__name__ for model in event.included] == ["Patient"]
        assert event.not_included == []
    assert "Traceback" not in log


def test_every_subscribed_event_has_its_topic_and_task_request(fhir: LocalFhirServer) -> None:
    secret = new_whsec()
    with CaptureReceiver() as receiver:
        variables = notification_variables(fhir, receiver, secret, EVENTS=",".join(TOPIC_OF))
        with PluginRunner(variables) as runner:
            requests: dict[str, CapturedRequest] = {}
            for name in TOPIC_OF:
                before = len(receiver.requests)
                assert runner.send_event(name, DELAYED.task_id) == []
                (requests[name],) = receiver.requests[before:]
            log = runner.log_text()

    verifier = Verifier(secrets=[secret], tolerance=600)
    numbers = []
    for name, request in requests.items():
        document = checked(request, secret)
        numbers.append(event_number(document))
        assert_backport_bundle(document, DELAYED.task, name, numbers[-1], fhir.base_url)
        (topic,) = parameter(document["entry"][0]["resource"], "topic")
        assert topic["valueCanonical"] == TOPIC_OF[name]
        task_entry = document["entry"][1]
        if name == "TASK_CREATED":
            assert task_entry["request"] == {"method": "POST", "url": "Task"}
            assert task_entry["response"]["status"] == "201"
        else:
            assert task_entry["request"] == {"method": "PUT", "url": "Task/" + DELAYED.task_id}
            assert task_entry["response"]["status"] == "200"
        assert_patient_included(document, DELAYED.task)
        event = verifier.verify(request.body, request.headers)
        assert event.topic == TOPIC_OF[name]
        assert event.type == name.lower().replace("_", ".")
    # One occurrence of each event: four webhook-ids, four rising numbers.
    assert len({request.headers["webhook-id"] for request in requests.values()}) == 4
    assert numbers == sorted(numbers) and len(set(numbers)) == 4
    assert [f["outcome"] for f in event_fields(log) if "event" in f] == ["delivered"] * 4
