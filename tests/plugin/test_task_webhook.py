"""The parts of one event that run without the outbox's database, in-process.

Building the body and signing an attempt (`plugin.body`, `plugin.signer`), configuration
errors, skipped events and invalid targets: quick to vary here. Storing, sending and
retrying need the runner's database and run in the real runner (tests/e2e).
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import jwt
import pytest
from canvas_generated.messages.events_pb2 import Event as EventMessage
from canvas_sdk.events import Event, EventType
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from devtools.event_log import parse_event_line
from devtools.fixtures import fixture_tasks
from enriched_webhook.handlers.task_events import TaskWebhookHandler
from enriched_webhook.plugin.body import build_body
from enriched_webhook.plugin.config import PluginSettings, load_settings
from enriched_webhook.plugin.config_errors import ConfigError
from enriched_webhook.plugin.signer import sign_request
from enriched_webhook.plugin.task_webhook import EventOutcome, handle_task_event
from enriched_webhook.shared.payload import occurred_at, webhook_id
from tests.support import new_key_pair, new_whsec

ENV = {"CUSTOMER_IDENTIFIER": "local"}
HOOK = "https://hooks.example.com/canvas"
FIXTURE = next(f for f in fixture_tasks() if f.name == "canvas/task_read_response_200.json")


def variables(**extra: str) -> dict[str, str]:
    """The plugin's variables; nothing here is read over the network."""
    found = {
        "WEBHOOK_URL": HOOK,
        "FHIR_CLIENT_ID": "client",
        "FHIR_CLIENT_SECRET": "client-secret",
    }
    found.update(extra)
    return found


def settings_for(**extra: str) -> PluginSettings:
    return load_settings(variables(**extra), ENV)


def signed(
    settings: PluginSettings, event: str = "TASK_CREATED", timestamp: int | None = None
) -> tuple[str, str, dict[str, str]]:
    """One attempt as `plugin.outbox.delivery` makes it: the stored body, signed at `timestamp`."""
    now = time.time()
    built = build_body(settings, event, FIXTURE.task, None, 1, now)
    msg_id = webhook_id(event, FIXTURE.task_id, occurred_at(FIXTURE.task))
    stamp = int(now) if timestamp is None else timestamp
    headers = sign_request(settings, msg_id, stamp, built.body, FIXTURE.task_id, built.content_type)
    return msg_id, built.body, headers


def bearer(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def test_hmac_signs_the_exact_body_with_every_rotated_secret() -> None:
    old_secret, new_secret = new_whsec(), new_whsec()
    msg_id, body, headers = signed(settings_for(WEBHOOK_SECRET=old_secret + " " + new_secret))
    for secret in (old_secret, new_secret):
        Webhook(secret).verify(body.encode("utf-8"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_whsec()).verify(body.encode("utf-8"), headers)
    document = json.loads(body)
    assert document["data"] == FIXTURE.task and document["type"] == "task.created"
    assert document["source"] == "https://local.canvasmedical.com"
    assert headers["webhook-id"] == msg_id and headers["content-type"] == "application/json"
    body.encode("ascii")  # ASCII-only JSON: every encoding yields the signed bytes


def test_every_attempt_is_signed_afresh_with_the_same_id_and_body() -> None:
    secret = new_whsec()
    settings = settings_for(WEBHOOK_SECRET=secret)
    now = int(time.time())
    first_id, first_body, first = signed(settings, timestamp=now - 3600)
    again_id, again_body, again = signed(settings, timestamp=now)
    assert (first_id, first_body) == (again_id, again_body)
    assert first["webhook-timestamp"] == str(now - 3600) and again["webhook-timestamp"] == str(now)
    assert first["webhook-signature"] != again["webhook-signature"]
    # The hour-old signature is stale at the default tolerance; the fresh one verifies.
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(first_body.encode("utf-8"), first)
    Webhook(secret).verify(again_body.encode("utf-8"), again)


def test_a_jwt_attempt_gets_its_own_iat_and_exp() -> None:
    shared = "s" * 40
    settings = settings_for(SIGNING_MODE="jwt", JWT_ALGORITHM="HS256", JWT_PRIVATE_KEY=shared)
    now = int(time.time())
    for stamp in (now - 60, now):
        _msg_id, _body, headers = signed(settings, timestamp=stamp)
        claims = jwt.decode(bearer(headers), shared, algorithms=["HS256"], audience=HOOK)
        assert claims["iat"] == stamp and claims["exp"] == stamp + 300


def test_hs256_mode_signs_with_the_shared_secret() -> None:
    shared = "s" * 40
    msg_id, _body, headers = signed(
        settings_for(SIGNING_MODE="jwt", JWT_ALGORITHM="HS256", JWT_PRIVATE_KEY=shared)
    )
    token = bearer(headers)
    claims = jwt.decode(token, shared, algorithms=["HS256"], audience=HOOK)
    assert claims["iss"] == "https://local.canvasmedical.com" and claims["jti"] == msg_id
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    assert "webhook-signature" not in headers


def test_issuer_and_audience_can_be_set() -> None:
    pem, jwk = new_key_pair("ES256")
    _msg_id, _body, headers = signed(
        settings_for(
            SIGNING_MODE="jwt",
            JWT_PRIVATE_KEY=pem,
            JWT_KEY_ID="k",
            JWT_ISSUER="canvas-prod",
            JWT_AUDIENCE="my-api",
        )
    )
    claims = jwt.decode(
        bearer(headers),
        jwt.PyJWK(jwk).key,
        algorithms=["ES256"],
        audience="my-api",
        issuer="canvas-prod",
    )
    assert claims["sub"] == "Task/" + FIXTURE.task_id


def test_a_pem_that_is_not_a_key_is_a_config_error_naming_the_variable() -> None:
    fake = "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"
    settings = settings_for(SIGNING_MODE="jwt", JWT_PRIVATE_KEY=fake, JWT_KEY_ID="k")
    with pytest.raises(ConfigError) as caught:
        signed(settings)
    assert str(caught.value) == "JWT_PRIVATE_KEY: could not be used as a ES256 signing key"
    assert caught.value.variable == "JWT_PRIVATE_KEY"
    assert "bm90IGEga2V5" not in str(caught.value)


def test_an_es256_key_used_as_eddsa_is_a_config_error() -> None:
    pem, _ = new_key_pair("ES256")
    settings = settings_for(
        SIGNING_MODE="jwt", JWT_ALGORITHM="EdDSA", JWT_PRIVATE_KEY=pem, JWT_KEY_ID="k"
    )
    with pytest.raises(ConfigError, match="JWT_PRIVATE_KEY"):
        signed(settings)


def test_opted_in_events_get_their_own_type_and_id() -> None:
    settings = settings_for(WEBHOOK_SECRET=new_whsec(), EVENTS="TASK_CREATED,TASK_COMPLETED")
    completed_id, completed_body, _ = signed(settings, event="TASK_COMPLETED")
    created_id, _body, _ = signed(settings)
    assert json.loads(completed_body)["type"] == "task.completed"
    assert created_id != completed_id  # the event name is part of the id


def test_the_log_line_parses_back_into_ids_and_timings() -> None:
    outcome = EventOutcome(
        event="TASK_CREATED",
        task_id=FIXTURE.task_id,
        outcome="retry-scheduled",
        reason='http-503 "quoted"',
        msg_id="msg_" + "0" * 32,
        mode="hmac",
        status=503,
        timings_ms={"read": 1.23456, "build": 0.5, "send": 9.0, "total": 11.0},
    )
    fields = parse_event_line("2026 INFO " + outcome.log_line())
    assert fields is not None
    assert fields["event"] == "TASK_CREATED" and fields["task"] == FIXTURE.task_id
    assert fields["webhook_id"] == outcome.msg_id and fields["outcome"] == "retry-scheduled"
    assert fields["status"] == "503" and fields["read_ms"] == "1.235"
    assert {"read_ms", "build_ms", "send_ms", "total_ms"} <= set(fields)
    assert outcome.log_line().endswith("reason=\"http-503 'quoted'\"")
    assert parse_event_line("some other line") is None
    assert parse_event_line("enriched-webhook cron outcome=ok attempted=1") is None


def handler_for(event: str, target: str, secrets: dict[str, str]) -> TaskWebhookHandler:
    message = EventMessage(type=EventType.Value(event), target=target, context="{}")
    return TaskWebhookHandler(Event(message), secrets, ENV)


def plugin_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "enriched-webhook" in r.getMessage()]


def test_compute_never_raises_and_logs_only_the_exception_type(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Outside the sandbox the plugin cache refuses callers: an unexpected error path.
    handler = handler_for("TASK_CREATED", FIXTURE.task_id, variables(WEBHOOK_SECRET=new_whsec()))
    with caplog.at_level(logging.INFO):
        assert handler.compute() == []
    assert "outcome=error reason=unexpected RuntimeError" in caplog.text
    assert "plugin context" not in caplog.text  # the exception's message is not logged


def test_compute_logs_a_config_error_once(caplog: pytest.LogCaptureFixture) -> None:
    handler = handler_for("TASK_CREATED", "abc", {"WEBHOOK_SECRET": new_whsec()})
    with caplog.at_level(logging.INFO):
        assert handler.compute() == []
    (record,) = plugin_records(caplog)
    assert record.levelname == "ERROR"
    line = record.getMessage()
    assert "outcome=config-error" in line and "WEBHOOK_URL: is missing or empty" in line


def test_responds_to_every_task_event() -> None:
    assert TaskWebhookHandler.RESPONDS_TO == [
        "TASK_CREATED",
        "TASK_UPDATED",
        "TASK_COMPLETED",
        "TASK_CLOSED",
    ]


def test_a_task_event_left_out_of_events_is_logged_at_info(
    caplog: pytest.LogCaptureFixture,
) -> None:
    handler = handler_for("TASK_UPDATED", FIXTURE.task_id, variables(WEBHOOK_SECRET=new_whsec()))
    with caplog.at_level(logging.INFO):
        assert handler.compute() == []
    (record,) = plugin_records(caplog)
    assert record.levelname == "INFO" and "outcome=skipped" in record.getMessage()


@pytest.mark.parametrize("target", ["Müller", "a b", "x" * 65, "", 7])
def test_a_target_that_is_not_a_fhir_id_is_never_logged(target: Any) -> None:
    outcome = handle_task_event("TASK_CREATED", target, variables(WEBHOOK_SECRET=new_whsec()), ENV)
    assert outcome.task_id == "<invalid>" and outcome.outcome == "invalid-target"
    assert outcome.is_error and outcome.msg_id == ""
    assert "task=<invalid>" in outcome.log_line() and "Müller" not in outcome.log_line()
