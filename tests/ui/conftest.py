"""One local stack for the page tests: FHIR server, receiver, the real runner, the gateway.

The outbox is filled once per module by the same `fill` the `demo --ui` command uses:
delivered, failed (400) and retrying (503) rows made by real TASK_CREATED events.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devtools.fhir_server import LocalFhirServer
from devtools.gateway import SimpleApiGateway
from devtools.runner import PluginRunner
from devtools.ui_demo import DEMO_VARIABLES, ScriptedReceiver, fill
from enriched_webhook.tools.keys import new_hmac_secret

API_KEY = "ops-" + "u" * 28
APPLICATION = "enriched_webhook.handlers.deliveries_app:DeliveriesApplication"


@dataclass
class Stack:
    fhir: LocalFhirServer
    receiver: ScriptedReceiver
    runner: PluginRunner
    gateway: SimpleApiGateway
    made: dict[str, int]
    secret: str


def register_application(database: Path) -> None:
    """The row Canvas writes when it installs the plugin's Application (the local runner
    does not install): the SDK's badge effect checks that the application exists."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    with sqlite3.connect(database) as connection:
        connection.execute(
            "INSERT INTO canvas_sdk_data_plugin_io_application_001"
            " (identifier, created, modified, name, description) VALUES (?, ?, ?, ?, ?)",
            (APPLICATION, now, now, "Webhook deliveries", "the plugin's page"),
        )


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    secret = new_hmac_secret()
    with LocalFhirServer() as fhir, ScriptedReceiver(secret) as receiver:
        variables = fhir.plugin_variables(
            receiver.url, WEBHOOK_SECRET=secret, OPERATIONS_API_KEY=API_KEY, **DEMO_VARIABLES
        )
        with PluginRunner(variables) as runner, SimpleApiGateway(runner) as gateway:
            made = fill(runner, fhir, receiver)
            yield Stack(fhir, receiver, runner, gateway, made, secret)
