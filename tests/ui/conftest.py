"""One local stack for the page tests: FHIR server, receiver, the real runner, the gateway.

The outbox is filled once per module as the `demo --ui` command fills it: a week of history
with an outage (real events, dated back), then delivered, failed (400) and retrying (503) rows
made by real TASK_CREATED events.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devtools.demo_history import OUTAGE_TASKS, History, add_past_week, normal_hours
from devtools.fhir_server import LocalFhirServer
from devtools.gateway import SimpleApiGateway
from devtools.runner import PluginRunner
from devtools.ui_demo import DEMO_VARIABLES, ScriptedReceiver, demo_tasks, fill
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
    history: History


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
            past = demo_tasks(fhir, len(normal_hours()) + OUTAGE_TASKS, "past-task-")
            history = add_past_week(runner, receiver, past, API_KEY, time.time())
            made = fill(runner, fhir, receiver)
            yield Stack(fhir, receiver, runner, gateway, made, secret, history)
