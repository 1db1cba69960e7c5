"""INCLUDE reads against the local FHIR server over real HTTP: what is read, what is named.

The reader runs in-process here (the runner tests prove it inside the sandbox); faults
are scripted per path on the server, never patched into the reader.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from devtools.fhir_server import LocalFhirServer
from enriched_webhook.plugin.includes import (
    MAX_NAMED,
    MAX_READS,
    parse_includes,
    plan_reads,
    read_includes,
)
from tests.notification.support import (
    INCLUDE_THREE,
    TASKS,
    expected_reads,
    serve_all,
    served,
    task_named,
)

THREE = parse_includes(INCLUDE_THREE)
CANVAS = task_named("canvas/task_read_response_200.json")


@pytest.fixture
def fhir() -> Iterator[LocalFhirServer]:
    with LocalFhirServer() as server:
        serve_all(server)
        yield server


def token_for(server: LocalFhirServer) -> str:
    token = "tok-" + "x" * 20
    with server.state.lock:
        server.state.tokens.add(token)
    return token


@pytest.mark.parametrize("fixture", TASKS, ids=[f.name for f in TASKS])
def test_every_fixture_tasks_patient_owner_and_requester_are_read_or_named(
    fhir: LocalFhirServer, fixture: object
) -> None:
    task = fixture.task  # type: ignore[attr-defined]
    included = read_includes(task, THREE, fhir.base_url, token_for(fhir))
    wanted = expected_reads(task)
    got = [item.path for item in included.resources] + [gap.reference for gap in included.gaps]
    assert sorted(got) == sorted(wanted)
    for item in included.resources:
        assert item.resource == served(item.path)  # exactly what the server answered
    for gap in included.gaps:
        assert served(gap.reference) is None and gap.reason == "http-404" and gap.status == 404


def test_the_canvas_task_gets_its_documented_patient_and_practitioners(
    fhir: LocalFhirServer,
) -> None:
    included = read_includes(CANVAS.task, THREE, fhir.base_url, token_for(fhir))
    assert [(i.include, i.path) for i in included.resources] == [
        ("Task:patient", "Patient/cfd91cd3bd9046db81199aa8ee4afd7f"),
        ("Task:owner", "Practitioner/a02cbf2403e140f7bc9a355c6ed420f3"),
        ("Task:requester", "Practitioner/4150cd20de8a470aa570a852859ac87e"),
    ]
    assert included.gaps == ()
    assert fhir.state.resource_requests == 3


@pytest.mark.parametrize(
    ("status", "reason"), [(404, "http-404"), (500, "http-500"), (403, "http-403")]
)
def test_a_failed_read_is_left_out_and_named(
    fhir: LocalFhirServer, status: int, reason: str
) -> None:
    fhir.script_response("/Practitioner/a02cbf2403e140f7bc9a355c6ed420f3", status, b"{}")
    included = read_includes(CANVAS.task, THREE, fhir.base_url, token_for(fhir))
    assert [i.path for i in included.resources] == [
        "Patient/cfd91cd3bd9046db81199aa8ee4afd7f",
        "Practitioner/4150cd20de8a470aa570a852859ac87e",
    ]
    (gap,) = included.gaps
    assert (gap.include, gap.reference, gap.reason, gap.status) == (
        "Task:owner",
        "Practitioner/a02cbf2403e140f7bc9a355c6ed420f3",
        reason,
        status,
    )


def test_a_read_past_the_budget_is_named_as_a_timeout(fhir: LocalFhirServer) -> None:
    fhir.state.read_delay = 1.0
    included = read_includes(CANVAS.task, THREE, fhir.base_url, token_for(fhir), 0.3)
    assert included.resources == ()
    assert [gap.reason for gap in included.gaps] == ["timeout"] * 3


def test_an_answer_that_is_not_the_referenced_resource_is_named(fhir: LocalFhirServer) -> None:
    patient = "/Patient/cfd91cd3bd9046db81199aa8ee4afd7f"
    other = json.dumps({"resourceType": "Patient", "id": "someone-else"}).encode()
    fhir.script_response(patient, 200, other)
    fhir.script_response("/Practitioner/a02cbf2403e140f7bc9a355c6ed420f3", 200, b"<html>")
    included = read_includes(CANVAS.task, THREE, fhir.base_url, token_for(fhir))
    assert [(g.include, g.reason) for g in included.gaps] == [
        ("Task:patient", "wrong-resource"),
        ("Task:owner", "not-json"),
    ]


def test_an_unreachable_fhir_api_names_every_read() -> None:
    with LocalFhirServer() as server:
        base = server.base_url
    included = read_includes(CANVAS.task, THREE, base, "tok")
    assert [gap.reason for gap in included.gaps] == ["unreachable"] * 3


def test_only_literal_references_are_followed_and_an_outside_host_is_named() -> None:
    task = {
        "resourceType": "Task",
        "id": "t1",
        "for": {"reference": "Group/g1"},  # Task:patient follows Patients only
        "owner": {"identifier": {"system": "urn:x", "value": "1"}},  # logical: nothing to read
        "requester": {"reference": "https://elsewhere.example/fhir/Practitioner/p1"},
        "partOf": [{"reference": "Task/t1"}],
        "basedOn": [
            {"reference": "#contained"},
            {"reference": "https://fhir.local/ServiceRequest/s1"},
        ],
    }
    specs = parse_includes(INCLUDE_THREE + ",Task:based-on,Task:part-of")
    reads, gaps = plan_reads(task, specs, "https://fhir.local")
    assert reads == [("Task:based-on", "ServiceRequest/s1")]  # not Task/t1 itself
    assert [(g.include, g.reference, g.reason) for g in gaps] == [
        ("Task:requester", "https://elsewhere.example/fhir/Practitioner/p1", "external-reference")
    ]


def test_the_same_reference_is_read_once_and_reads_are_bounded() -> None:
    many = [{"reference": f"ServiceRequest/s{index}"} for index in range(MAX_READS + 2)]
    task = {
        "resourceType": "Task",
        "id": "t1",
        "owner": {"reference": "Practitioner/p1"},
        "requester": {"reference": "Practitioner/p1"},
        "basedOn": many,
    }
    specs = parse_includes("Task:owner,Task:requester,Task:based-on")
    reads, gaps = plan_reads(task, specs, "https://fhir.local")
    assert reads[0] == ("Task:owner", "Practitioner/p1")
    assert len(reads) == MAX_READS
    assert [g.reason for g in gaps] == ["over-limit"] * 3


def test_past_forty_references_one_gap_counts_the_rest() -> None:
    task = {
        "resourceType": "Task",
        "id": "t1",
        "basedOn": [{"reference": f"ServiceRequest/s{index}"} for index in range(45)],
        "partOf": [{"reference": f"https://elsewhere.example/Task/{n}"} for n in range(3)],
    }
    specs = parse_includes("Task:based-on,Task:part-of")
    reads, gaps = plan_reads(task, specs, "https://fhir.local")
    assert len(reads) == MAX_READS and len(reads) + len(gaps) == MAX_NAMED + 2
    assert [(g.include, g.reference) for g in gaps[-2:]] == [
        ("Task:based-on", "5 more references"),
        ("Task:part-of", "3 more references"),
    ]


def test_a_typed_include_follows_only_that_type(fhir: LocalFhirServer) -> None:
    task = task_named("hl7/task-example1.json").task  # owner Organization, requester Practitioner
    specs = parse_includes("Task:owner:Practitioner,Task:requester:Practitioner")
    included = read_includes(task, specs, fhir.base_url, token_for(fhir))
    assert [i.path for i in included.resources] == ["Practitioner/example"]
    assert included.gaps == ()
