"""The demo's FHIR notification scene: PAYLOAD_FORMAT=fhir-notification with INCLUDE.

Every fixture Task is sent as an R4 Subscriptions Backport notification Bundle with its
patient, owner and requester included; the local FHIR server serves Canvas's and HL7's
documented Patients and Practitioners, and not the HL7 Tasks' Organizations, so those
gaps are named in the Bundle. The reference receiver verifies each Bundle and validates
the Task and every included resource (its verdict is `ok` only then); the table adds the
event number and how many resources were included or named as gaps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from enriched_webhook.receiver.event import VerifiedEvent

from .fixture_resources import fixture_resources
from .fixtures import fixture_tasks

if TYPE_CHECKING:
    from .demo import Row, Scene
    from .fault_gate import FaultGate
    from .fhir_server import LocalFhirServer
    from .runner import PluginRunner

NOTIFICATION_VARIABLES = {
    "PAYLOAD_FORMAT": "fhir-notification",
    "INCLUDE": "Task:patient,Task:owner,Task:requester",
}


def summary(event: VerifiedEvent) -> str:
    """What the receiver handed the application for a notification (ids and counts only)."""
    return (
        f"event-number={event.event_number} included={len(event.included)}"
        f" named-gaps={len(event.not_included)}"
    )


def serve_resources(fhir: LocalFhirServer) -> None:
    """The Patients and Practitioners INCLUDE reads (fixtures/README.md names them)."""
    for resource in fixture_resources():
        fhir.add_resource(resource.path, resource.body)


def notification_scene(scene: Scene, runner: PluginRunner, _gate: FaultGate) -> list[Row]:
    fixtures = fixture_tasks()
    scene_name = "fhir-notification"
    print(
        f"  [{scene.mode}] scene 4: {len(fixtures)} Tasks as FHIR notification Bundles,"
        " INCLUDE=Task:patient,Task:owner,Task:requester",
        file=scene.out,
        flush=True,
    )
    rows = []
    for fixture in fixtures:
        runner.send_event("TASK_CREATED", fixture.task_id)
        row = scene.row(runner, scene_name, fixture.task_id)
        with scene.record.lock:
            found = scene.record.summaries.get(row.msg_id)
        if found is None:
            row.verdict = "FAILED not a notification: " + row.verdict
        else:
            row.verdict = row.verdict + " " + found
        rows.append(row)
    return rows
