"""The Task fixtures a local run serves, each with the id the FHIR server answers for.

Canvas's create and update request bodies carry no id (Canvas assigns one on create), so
they are served with a fixed id added, as the API would return them after creation. The
search entry is the read response again and is not served twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The repository's one copy of the fixtures (fixtures/README.md names their sources).
FIXTURES_DIR = Path(__file__).resolve().parent.parent / "fixtures"

ASSIGNED_IDS = {
    "canvas/task_create_request.json": "fixture-create-request",
    "canvas/task_update_request.json": "fixture-update-request",
}
NOT_TASKS = (
    "task_read_response_404.json",
    "task_search_response_200.json",
    "task_search_entry_1.json",
)


@dataclass(frozen=True)
class FixtureTask:
    """A Task as served: its fixture name, id, the exact JSON bytes, and parsed."""

    name: str
    task_id: str
    body: bytes

    @property
    def task(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


def fixture_tasks() -> list[FixtureTask]:
    """Every Task fixture, in a stable order: Canvas's, HL7's, then ours."""
    root = FIXTURES_DIR
    found: list[FixtureTask] = []
    for folder in ("canvas", "hl7", "local"):
        entries = sorted((root / folder).iterdir(), key=lambda entry: entry.name)
        for entry in entries:
            if not entry.name.endswith(".json") or entry.name in NOT_TASKS:
                continue
            if not entry.name.startswith("task"):
                continue  # the Patient and Practitioner fixtures (devtools/fixture_resources.py)
            name = folder + "/" + entry.name
            body = entry.read_bytes()
            assigned = ASSIGNED_IDS.get(name)
            if assigned is not None:
                task = json.loads(body)
                body = json.dumps({"resourceType": "Task", "id": assigned, **task}).encode("utf-8")
            found.append(
                FixtureTask(name=name, task_id=assigned or json.loads(body)["id"], body=body)
            )
    return found
