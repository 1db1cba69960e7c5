"""A local FHIR server serving every fixture Task, shared by the end-to-end modules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devtools.fhir_server import LocalFhirServer
from devtools.fixtures import fixture_tasks


@pytest.fixture(scope="module")
def fhir() -> Iterator[LocalFhirServer]:
    with LocalFhirServer() as server:
        for fixture in fixture_tasks():
            server.add_task(fixture.body, fixture.task_id)
        yield server
