"""`schema` publishes both formats and `audit` checks both, through the real command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest

from enriched_webhook.plugin.body import build_body
from enriched_webhook.shared.notification import Included, IncludedResource, IncludeGap
from enriched_webhook.shared.payload import EVENT_TYPES
from enriched_webhook.tools.notification_schema import notification_schema_text
from enriched_webhook.tools.payload_schema import schema_text
from tests.cli.run_cli import REPO, cli
from tests.notification.support import (
    FHIR_BASE,
    INCLUDE_THREE,
    TASKS,
    served,
    settings_for,
    task_named,
)

NOW = 1_790_000_000.0
NOTIFY = settings_for(PAYLOAD_FORMAT="fhir-notification", FHIR_BASE_URL=FHIR_BASE)
CANVAS = task_named("canvas/task_read_response_200.json")
PATIENT = "Patient/cfd91cd3bd9046db81199aa8ee4afd7f"
INCLUDED = Included(
    (IncludedResource("Task:patient", PATIENT, served(PATIENT) or {}),),
    (
        IncludeGap("Task:owner", "Practitioner/a02cbf2403e140f7bc9a355c6ed420f3", "timeout"),
        IncludeGap(
            "Task:requester", "https://elsewhere.example/Practitioner/1", "external-reference"
        ),
    ),
)


def committed(name: str) -> str:
    return (REPO / "schema" / name).read_text()


def test_schema_prints_both_committed_schemas() -> None:
    envelope = cli("schema")
    notification = cli("schema", "--format", "fhir-notification")
    assert envelope.returncode == 0 and notification.returncode == 0
    regenerate = "enriched-webhook schema [--format fhir-notification] > schema/..."
    assert envelope.stdout == committed("payload-v1.schema.json") == schema_text(), regenerate
    assert (
        notification.stdout
        == committed("fhir-notification-v1.schema.json")
        == notification_schema_text()
    ), regenerate


def notification_validator() -> Any:
    schema = json.loads(committed("fhir-notification-v1.schema.json"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("event", list(EVENT_TYPES))
def test_every_bundle_the_plugin_builds_matches_the_published_schema(event: str) -> None:
    validator = notification_validator()
    for fixture in TASKS:
        for included in (None, INCLUDED):
            body = build_body(NOTIFY, event, fixture.task, included, 5, NOW).body
            validator.validate(json.loads(body))


def test_the_envelope_schema_takes_the_additive_include_fields() -> None:
    schema = json.loads(committed("payload-v1.schema.json"))
    settings = settings_for(INCLUDE=INCLUDE_THREE)
    body = build_body(settings, "TASK_CREATED", CANVAS.task, INCLUDED, 1, NOW).body
    jsonschema.validate(json.loads(body), schema)
    broken = json.loads(body)
    broken["not_included"][0]["why"] = "x"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


@pytest.mark.parametrize(
    ("change", "value"),
    [("type", "collection"), ("timestamp", "2026-11-29"), ("resourceType", "Parameters")],
)
def test_the_schema_refuses_what_the_backport_profile_refuses(change: str, value: str) -> None:
    document = json.loads(build_body(NOTIFY, "TASK_CREATED", CANVAS.task, None, 5, NOW).body)
    document[change] = value
    with pytest.raises(jsonschema.ValidationError):
        notification_validator().validate(document)


def test_audit_checks_both_formats_and_names_what_is_wrong(tmp_path: Path) -> None:
    bundle = build_body(NOTIFY, "TASK_CREATED", CANVAS.task, INCLUDED, 12, NOW).body
    envelope = build_body(
        settings_for(INCLUDE=INCLUDE_THREE), "TASK_CREATED", CANVAS.task, INCLUDED, 1, NOW
    ).body
    broken = json.loads(bundle)
    broken["entry"].reverse()
    bad_patient = json.loads(bundle)
    bad_patient["entry"][2]["resource"]["gender"] = 12
    files = {
        "bundle.json": bundle,
        "envelope.json": envelope,
        "capture.json": json.dumps({"headers": {"webhook-id": "msg_1"}, "body": bundle}),
        "broken.json": json.dumps(broken),
        "bad-patient.json": json.dumps(bad_patient),
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    result = cli("audit", *(str(tmp_path / name) for name in files))
    verdicts = [line for line in result.stdout.splitlines() if line.startswith(("PASS", "FAIL"))]
    lines = dict(zip(files, verdicts, strict=True))
    assert result.returncode == 1
    assert lines["bundle.json"].startswith("PASS")
    assert "fhir-notification event-number 12" in lines["bundle.json"]
    assert "included 1  not included 2" in lines["bundle.json"]
    assert lines["envelope.json"].startswith("PASS") and "included 1" in lines["envelope.json"]
    assert lines["capture.json"].startswith("PASS  ") and "capture" in lines["capture.json"]
    assert lines["broken.json"].startswith("FAIL") and "Backport rule" in lines["broken.json"]
    assert lines["bad-patient.json"].startswith("FAIL") and "Patient" in lines["bad-patient.json"]
    assert "Samantha" not in result.stdout + result.stderr  # no PHI in the verdicts
