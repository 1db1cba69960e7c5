"""The Patient and Practitioner fixtures the local FHIR server serves for INCLUDE reads.

HL7's R4 examples carry the ids the HL7 Task examples reference (`Patient/example`,
`Practitioner/f202`, ...), so they are served as published. Canvas's documented Patient
and Practitioner have other ids than the ones Canvas's documented Task references, so
each is also served under the id that Task names, with only `id` changed: that is what
Canvas's API would answer for the Task's patient, owner and requester (fixtures/README.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .fixtures import FIXTURES_DIR

# fixture file -> the ids it is also served under (the Canvas Task's references).
SERVED_AS = {
    "canvas/patient_read_response_200.json": ("cfd91cd3bd9046db81199aa8ee4afd7f",),
    "canvas/practitioner_read_response_200.json": (
        "a02cbf2403e140f7bc9a355c6ed420f3",
        "4150cd20de8a470aa570a852859ac87e",
    ),
}
RESOURCE_PREFIXES = ("patient", "practitioner")


@dataclass(frozen=True)
class FixtureResource:
    """A resource as served: fixture name, its read path (`Patient/example`), JSON bytes."""

    name: str
    path: str
    body: bytes

    @property
    def resource(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


def fixture_resources() -> list[FixtureResource]:
    """Every Patient and Practitioner fixture, as published and under the served-as ids."""
    found: list[FixtureResource] = []
    for folder in ("canvas", "hl7"):
        for entry in sorted((FIXTURES_DIR / folder).iterdir(), key=lambda item: item.name):
            if not entry.name.endswith(".json") or not entry.name.startswith(RESOURCE_PREFIXES):
                continue
            name = folder + "/" + entry.name
            body = entry.read_bytes()
            document = json.loads(body)
            kind = document["resourceType"]
            found.append(FixtureResource(name, kind + "/" + document["id"], body))
            for alias in SERVED_AS.get(name, ()):
                aliased = json.dumps({**document, "id": alias}).encode("utf-8")
                found.append(FixtureResource(name, kind + "/" + alias, aliased))
    return found
