"""One event through the pipeline in-process: effect shape, signing modes, every outcome.

The same paths run inside the real sandbox in tests/e2e; here they are quick to vary.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from canvas_generated.messages.events_pb2 import Event as EventMessage
from canvas_sdk.events import Event, EventType
from standardwebhooks.webhooks import Webhook

from devtools.fhir_server import LocalFhirServer
from devtools.fixtures import fixture_tasks
from enriched_webhook.handlers.task_events import TaskWebhookHandler
from enriched_webhook.plugin.config import load_settings
from enriched_webhook.plugin.fhir_client import FhirTaskReader
from enriched_webhook.plugin.task_webhook import EventOutcome, handle_task_event, parse_event_line
from tests.plugin.test_fhir_client import plugin_cache
from tests.support import new_key_pair, new_whsec

ENV = {"CUSTOMER_IDENTIFIER": "local"}
FIXTURE = next(f for f in fixture_tasks() if f.name == "canvas/task_read_response_200.json")


@pytest.fixture(scope="module")
def fhir() -> Iterator[LocalFhirServer]:
    with LocalFhirServer() as server:
        server.add_task(FIXTURE.body, FIXTURE.task_id)
        yield server


def secrets_for(fhir: LocalFhirServer, **extra: str) -> dict[str, str]:
    return fhir.plugin_variables("https://hooks.example.com/canvas", **extra)


def run(
    fhir: LocalFhirServer, event: str = "TASK_CREATED", target: Any = None, **extra: str
) -> EventOutcome:
    secrets = secrets_for(fhir, **extra)
    try:
        reader = FhirTaskReader(load_settings(secrets, ENV), cache=plugin_cache())
    except Exception:
        reader = None
    return handle_task_event(
        event, FIXTURE.task_id if target is None else target, secrets, ENV, reader=reader
    )


def request_of(outcome: EventOutcome) -> dict[str, Any]:
    (effect,) = outcome.effects
    payload: dict[str, Any] = json.loads(effect.payload)
    return payload


def test_hmac_effect_posts_the_exact_signed_body(fhir: LocalFhirServer) -> None:
    secret = new_whsec()
    outcome = run(fhir, WEBHOOK_SECRET=secret)
    assert outcome.outcome == "queued"
    payload = request_of(outcome)
    data = payload["data"]
    assert data["method"] == "POST" and data["url"] == "https://hooks.example.com/canvas"
    assert payload["async_props"] == {
        "retry_on_status_codes": [408, 409, 429, 500, 502, 503, 504],
        "delay_seconds": 0,
        "max_retries": 3,
    }
    Webhook(secret).verify(data["body"].encode("utf-8"), data["headers"])
    assert json.loads(data["body"])["data"] == FIXTURE.task
    assert data["headers"]["webhook-id"] == outcome.msg_id


def test_hs256_mode_signs_with_the_shared_secret(fhir: LocalFhirServer) -> None:
    shared = "s" * 40
    outcome = run(fhir, SIGNING_MODE="jwt", JWT_ALGORITHM="HS256", JWT_PRIVATE_KEY=shared)
    data = request_of(outcome)["data"]
    token = data["headers"]["Authorization"].removeprefix("Bearer ")
    claims = jwt.decode(
        token, shared, algorithms=["HS256"], audience="https://hooks.example.com/canvas"
    )
    assert claims["iss"] == "https://local.canvasmedical.com"
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}


def test_issuer_and_audience_can_be_set(fhir: LocalFhirServer) -> None:
    pem, jwk = new_key_pair("ES256")
    outcome = run(
        fhir,
        SIGNING_MODE="jwt",
        JWT_PRIVATE_KEY=pem,
        JWT_KEY_ID="k",
        JWT_ISSUER="canvas-prod",
        JWT_AUDIENCE="my-api",
    )
    token = request_of(outcome)["data"]["headers"]["Authorization"].removeprefix("Bearer ")
    claims = jwt.decode(
        token, jwt.PyJWK(jwk).key, algorithms=["ES256"], audience="my-api", issuer="canvas-prod"
    )
    assert claims["sub"] == "Task/" + FIXTURE.task_id


def test_a_pem_that_is_not_a_key_is_a_config_error_naming_the_variable(
    fhir: LocalFhirServer,
) -> None:
    fake = "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"
    outcome = run(fhir, SIGNING_MODE="jwt", JWT_PRIVATE_KEY=fake, JWT_KEY_ID="k")
    assert outcome.outcome == "config-error" and outcome.effects == []
    assert outcome.reason == "JWT_PRIVATE_KEY: could not be used as a ES256 signing key"
    assert "bm90IGEga2V5" not in outcome.log_line()


def test_an_es256_key_used_as_eddsa_is_a_config_error(fhir: LocalFhirServer) -> None:
    pem, _ = new_key_pair("ES256")
    outcome = run(
        fhir, SIGNING_MODE="jwt", JWT_ALGORITHM="EdDSA", JWT_PRIVATE_KEY=pem, JWT_KEY_ID="k"
    )
    assert outcome.outcome == "config-error" and "JWT_PRIVATE_KEY" in outcome.reason


def test_the_log_line_parses_back_into_ids_and_timings(fhir: LocalFhirServer) -> None:
    outcome = run(fhir, WEBHOOK_SECRET=new_whsec())
    fields = parse_event_line("2026 INFO " + outcome.log_line())
    assert fields is not None
    assert fields["event"] == "TASK_CREATED" and fields["task"] == FIXTURE.task_id
    assert fields["webhook_id"] == outcome.msg_id and fields["outcome"] == "queued"
    assert {"read_ms", "build_ms", "sign_ms", "total_ms"} <= set(fields)
    assert parse_event_line("some other line") is None


def handler_for(event: str, target: str, secrets: dict[str, str]) -> TaskWebhookHandler:
    message = EventMessage(type=EventType.Value(event), target=target, context="{}")
    return TaskWebhookHandler(Event(message), secrets, ENV)


def test_compute_never_raises_and_logs_only_the_exception_type(
    fhir: LocalFhirServer, caplog: pytest.LogCaptureFixture
) -> None:
    # Outside the sandbox the plugin cache refuses callers: an unexpected error path.
    handler = handler_for(
        "TASK_CREATED", FIXTURE.task_id, secrets_for(fhir, WEBHOOK_SECRET=new_whsec())
    )
    with caplog.at_level(logging.INFO):
        assert handler.compute() == []
    assert "outcome=error reason=unexpected RuntimeError" in caplog.text
    assert "plugin context" not in caplog.text  # the exception's message is not logged


def test_compute_logs_a_config_error_once(caplog: pytest.LogCaptureFixture) -> None:
    handler = handler_for("TASK_CREATED", "abc", {"WEBHOOK_SECRET": new_whsec()})
    with caplog.at_level(logging.INFO):
        assert handler.compute() == []
    lines = [r.getMessage() for r in caplog.records if "enriched-webhook" in r.getMessage()]
    assert len(lines) == 1
    assert "outcome=config-error" in lines[0] and "WEBHOOK_URL: is missing or empty" in lines[0]


def test_responds_to_every_task_event() -> None:
    assert TaskWebhookHandler.RESPONDS_TO == [
        "TASK_CREATED",
        "TASK_UPDATED",
        "TASK_COMPLETED",
        "TASK_CLOSED",
    ]


def test_opted_in_events_get_their_own_type(fhir: LocalFhirServer) -> None:
    outcome = run(
        fhir,
        event="TASK_COMPLETED",
        WEBHOOK_SECRET=new_whsec(),
        EVENTS="TASK_CREATED,TASK_COMPLETED",
    )
    body = json.loads(request_of(outcome)["data"]["body"])
    assert body["type"] == "task.completed"
    created = run(fhir, WEBHOOK_SECRET=new_whsec())
    assert created.msg_id != outcome.msg_id  # the event name is part of the id


def test_a_task_event_left_out_of_events_is_logged_at_info(
    fhir: LocalFhirServer, caplog: pytest.LogCaptureFixture
) -> None:
    handler = handler_for(
        "TASK_UPDATED", FIXTURE.task_id, secrets_for(fhir, WEBHOOK_SECRET=new_whsec())
    )
    with caplog.at_level(logging.INFO):
        assert handler.compute() == []
    (record,) = [r for r in caplog.records if "enriched-webhook" in r.getMessage()]
    assert record.levelname == "INFO" and "outcome=skipped" in record.getMessage()


@pytest.mark.parametrize("target", ["Müller", "a b", "x" * 65, "", 7])
def test_a_target_that_is_not_a_fhir_id_is_never_logged(fhir: LocalFhirServer, target: Any) -> None:
    outcome = run(fhir, target=target, WEBHOOK_SECRET=new_whsec())
    assert outcome.task_id == "<invalid>" and outcome.outcome == "fhir-error"
    assert "task=<invalid>" in outcome.log_line() and "Müller" not in outcome.log_line()
