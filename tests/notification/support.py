"""What the notification tests share: plugin settings, fixture lookups, the R4B checks."""

from __future__ import annotations

import json
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.parameters import Parameters
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.practitioner import Practitioner
from fhir.resources.R4B.task import Task

from devtools.fixture_resources import FixtureResource, fixture_resources
from devtools.fixtures import FixtureTask, fixture_tasks
from enriched_webhook.plugin.config import PluginSettings, load_settings
from enriched_webhook.shared.notification import (
    BUNDLE_PROFILE,
    STATUS_PROFILE,
    TOPICS,
)
from enriched_webhook.shared.payload import EVENT_TYPES

ENV = {"CUSTOMER_IDENTIFIER": "local"}
SOURCE = "https://local.canvasmedical.com"
HOOK = "https://hooks.example.com/canvas"
FHIR_BASE = "https://fumage-local.canvasmedical.com"
TASKS = fixture_tasks()
RESOURCES = fixture_resources()
MODELS: dict[str, Any] = {"Patient": Patient, "Practitioner": Practitioner, "Task": Task}
INCLUDE_THREE = "Task:patient,Task:owner,Task:requester"


def settings_for(**extra: str) -> PluginSettings:
    variables = {
        "WEBHOOK_URL": HOOK,
        "WEBHOOK_SECRET": "whsec_" + "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        "FHIR_CLIENT_ID": "client",
        "FHIR_CLIENT_SECRET": "client-secret",
    }
    variables.update(extra)
    return load_settings(variables, ENV)


def served(path: str) -> dict[str, Any] | None:
    """The resource the local FHIR server answers for `path`, if it serves one."""
    for resource in RESOURCES:
        if resource.path == path:
            return resource.resource
    return None


def task_named(name: str) -> FixtureTask:
    return next(fixture for fixture in TASKS if fixture.name == name)


def serve_all(server: Any) -> None:
    """Every fixture Task and every Patient/Practitioner on a LocalFhirServer."""
    for fixture in TASKS:
        server.add_task(fixture.body, fixture.task_id)
    for resource in RESOURCES:
        server.add_resource(resource.path, resource.body)


def parameter(status: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [item for item in status["parameter"] if item["name"] == name]


def assert_backport_bundle(
    document: dict[str, Any],
    task: dict[str, Any],
    event: str,
    event_number: int,
    fhir_base: str,
) -> dict[str, Any]:
    """The Bundle validates with fhir.resources R4B and carries the Backport parameters."""
    Bundle.model_validate(document)
    assert document["type"] == "history"
    assert document["meta"]["profile"] == [BUNDLE_PROFILE]
    status_entry, task_entry = document["entry"][0], document["entry"][1]
    status = status_entry["resource"]
    Parameters.model_validate(status)
    assert status["meta"]["profile"] == [STATUS_PROFILE]
    assert status_entry["request"]["method"] == "GET"
    assert status_entry["request"]["url"].endswith("/$status")
    (subscription,) = parameter(status, "subscription")
    assert subscription["valueReference"]["reference"].startswith(
        "urn:enriched-webhook:subscription:"
    )
    (topic,) = parameter(status, "topic")
    assert topic["valueCanonical"] == TOPICS[EVENT_TYPES[event]]
    assert [p["valueCode"] for p in parameter(status, "status")] == ["active"]
    assert [p["valueCode"] for p in parameter(status, "type")] == ["event-notification"]
    (since,) = parameter(status, "events-since-subscription-start")
    assert since["valueString"] == str(event_number)
    (notification,) = parameter(status, "notification-event")
    parts = {part["name"]: part for part in notification["part"]}
    assert parts["event-number"]["valueString"] == str(event_number)
    assert parts["timestamp"]["valueInstant"]
    task_url = fhir_base + "/Task/" + task["id"]
    assert parts["focus"]["valueReference"] == {"reference": task_url}
    assert task_entry["fullUrl"] == task_url
    assert task_entry["resource"] == task
    Task.model_validate(task_entry["resource"])
    for entry in document["entry"]:
        assert entry["request"] and entry["response"]["status"]  # bdl-3, bdl-4
    return document


def included_entries(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [entry for entry in document["entry"][2:] if "resource" in entry]


def gap_entries(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [entry for entry in document["entry"][2:] if "resource" not in entry]


def expected_reads(task: dict[str, Any]) -> list[str]:
    """The literal references INCLUDE_THREE follows in `task`, in include order, once each."""
    found: list[str] = []
    subject = task.get("for", {}).get("reference", "")
    if subject.startswith("Patient/"):
        found.append(subject)
    for element in ("owner", "requester"):
        reference = task.get(element, {}).get("reference")
        if reference and reference not in found:
            found.append(reference)
    return found


def loads(body: bytes | str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(body)
    return document


__all__ = [
    "ENV",
    "FHIR_BASE",
    "HOOK",
    "INCLUDE_THREE",
    "MODELS",
    "RESOURCES",
    "SOURCE",
    "TASKS",
    "FixtureResource",
    "assert_backport_bundle",
    "expected_reads",
    "gap_entries",
    "included_entries",
    "loads",
    "parameter",
    "serve_all",
    "served",
    "settings_for",
    "task_named",
]
