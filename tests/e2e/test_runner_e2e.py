"""The whole path in the real Canvas plugin runner and sandbox, with real HTTP.

`canvas run-plugin` runs the plugin (a plugin-only copy: no receiver modules); a local
FHIR server serves the fixtures; `compute()` stores each event in the outbox (the runner's
own SQLite file) and sends it itself before it returns, so the receiver has it when
`send_event` returns; the captured requests are checked with other libraries than ours
(standardwebhooks for HMAC, PyJWT for JWT) and with fhir.resources.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from fhir.resources.R4B.task import Task
from standardwebhooks.webhooks import Webhook

from devtools.capture_receiver import CapturedRequest, CaptureReceiver
from devtools.fhir_server import LocalFhirServer
from devtools.fixtures import FixtureTask, fixture_tasks
from devtools.runner import PluginRunner
from tests.support import new_key_pair, new_whsec

pytestmark = pytest.mark.runner

FIXTURES = fixture_tasks()
SOURCE = "https://local.canvasmedical.com"
# Text from the fixtures that must never reach a log: descriptions, notes, labels, names.
PHI_SAMPLES = [
    "Ask patient for new insurance information",
    "Please call patient to update insurance information",
    "Frau M",
    "Rückruf",
    "Urgent",
    "Patient/cfd91cd3bd9046db81199aa8ee4afd7f",
]


@pytest.fixture(scope="module")
def fhir() -> Iterator[LocalFhirServer]:
    with LocalFhirServer(client_secret="fhir-client-secret-sentinel-42") as server:
        for fixture in FIXTURES:
            server.add_task(fixture.body, fixture.task_id)
        invalid = dict(FIXTURES[1].task, id="bad-status", status="bogus")
        server.add_task(invalid)
        yield server


def plugin_secrets(
    fhir: LocalFhirServer, receiver: CaptureReceiver, **extra: str
) -> dict[str, str]:
    return fhir.plugin_variables(receiver.url, **extra)


def deliver(runner: PluginRunner, receiver: CaptureReceiver, event: str, target: str) -> list[int]:
    """Send one event; return the answers of what reached the receiver while it ran."""
    before = len(receiver.requests)
    assert runner.send_event(event, target) == []  # no effects: the plugin sends itself
    return [request.answered for request in receiver.requests[before:]]


def tick(runner: PluginRunner, when: str = "2026-11-29T13:00:00+00:00") -> None:
    """One CRON event, as Canvas sends each minute: the outbox's retries run in it."""
    assert runner.send_event("CRON", when) == []


def assert_carries_fixture(request: CapturedRequest, fixture: FixtureTask) -> dict[str, Any]:
    request.body.decode("ascii")  # ASCII-only JSON on the wire
    document: dict[str, Any] = json.loads(request.body)
    assert document["version"] == 1
    assert document["type"] == "task.created"
    assert document["source"] == SOURCE
    assert document["data"] == fixture.task
    Task.model_validate(document["data"])
    assert request.headers["content-type"] == "application/json"
    return document


def assert_log_is_clean(log: str, *secrets: str) -> None:
    for text in [*PHI_SAMPLES, *secrets]:
        assert text not in log, "leaked into the runner log: " + text[:12] + "..."
    assert "Traceback" not in log


def event_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if "enriched-webhook event=" in line]


def test_hmac_every_fixture_delivered_and_verified_by_standardwebhooks(
    fhir: LocalFhirServer,
) -> None:
    old_secret, new_secret = new_whsec(), new_whsec()
    task = FIXTURES[0]
    with CaptureReceiver() as receiver:
        secrets = plugin_secrets(
            fhir,
            receiver,
            WEBHOOK_SECRET=old_secret + " " + new_secret,
            EVENTS="TASK_CREATED,TASK_COMPLETED",
        )
        with PluginRunner(secrets) as runner:
            for fixture in FIXTURES:
                assert deliver(runner, receiver, "TASK_CREATED", fixture.task_id) == [204], (
                    fixture.name
                )
            # The same occurrence again: one outbox row, so it is not sent a second time.
            assert deliver(runner, receiver, "TASK_CREATED", task.task_id) == []
            # An opted-in event of the same Task: its own type and its own id.
            assert deliver(runner, receiver, "TASK_COMPLETED", task.task_id) == [204]
            tick(runner)  # nothing is due: a tick sends nothing again
        log = runner.log_text()

    assert len(receiver.requests) == len(FIXTURES) + 1
    for request in receiver.requests:
        for secret in (old_secret, new_secret):  # rotation: either secret verifies
            Webhook(secret).verify(request.body, request.headers)
        with pytest.raises(Exception):  # noqa: B017 - any verification failure
            Webhook(new_whsec()).verify(request.body, request.headers)
    for request, fixture in zip(receiver.requests, FIXTURES, strict=False):
        assert_carries_fixture(request, fixture)
    first, completed = receiver.requests[0], receiver.requests[-1]
    document = json.loads(completed.body)
    assert document["type"] == "task.completed" and document["data"] == task.task
    assert completed.headers["webhook-id"] != first.headers["webhook-id"]

    lines = event_lines(log)
    assert len(lines) == len(FIXTURES) + 2
    delivered = [line for line in lines if "outcome=delivered" in line]
    assert len(delivered) == len(FIXTURES) + 1
    assert all("mode=hmac" in line and "status=204" in line for line in delivered)
    assert all(line.count("_ms=") == 4 for line in delivered)  # read, build, send, total
    (duplicate,) = [line for line in lines if "outcome=duplicate" in line]
    assert "webhook_id=" + first.headers["webhook-id"] in duplicate
    assert "cron outcome=ok caught_up=0 read=0 attempted=0" in log
    assert_log_is_clean(log, old_secret, new_secret, fhir.state.client_secret)


def test_non_ascii_task_round_trips_byte_for_byte(fhir: LocalFhirServer) -> None:
    fixture = next(f for f in FIXTURES if f.name == "local/task_non_ascii.json")
    secret = new_whsec()
    with CaptureReceiver() as receiver:
        with PluginRunner(plugin_secrets(fhir, receiver, WEBHOOK_SECRET=secret)) as runner:
            assert deliver(runner, receiver, "TASK_CREATED", fixture.task_id) == [204]
    (request,) = receiver.requests
    Webhook(secret).verify(request.body, request.headers)
    document = assert_carries_fixture(request, fixture)
    assert document["data"]["description"].startswith("Rückruf")
    assert document["timestamp"] == "2026-11-29T06:21:30Z"


def test_failures_inside_the_sandbox_send_nothing_and_log_one_reason(fhir: LocalFhirServer) -> None:
    with CaptureReceiver() as receiver:
        secrets = plugin_secrets(fhir, receiver, WEBHOOK_SECRET=new_whsec())
        with PluginRunner(secrets) as runner:
            assert runner.send_event("TASK_CREATED", "no-such-task") == []
            assert runner.send_event("TASK_CREATED", "bad-status") == []
            assert runner.send_event("TASK_CREATED", "../Patient/1") == []
            assert runner.send_event("TASK_UPDATED", FIXTURES[0].task_id) == []  # not enabled
        log = runner.log_text()
    assert receiver.requests == []
    lines = event_lines(log)
    assert len(lines) == 4
    # A 404 may be the read racing the write: the outbox reads it again on the schedule.
    assert "task=no-such-task" in lines[0] and "outcome=read-retry" in lines[0]
    assert 'reason="FHIR API answered 404"' in lines[0]
    # A Task that breaks the rules is never sent: its row ends failed, with the reason.
    assert "task=bad-status" in lines[1] and "outcome=failed" in lines[1]
    assert "invalid Task: Task.status is not in its required value set" in lines[1]
    assert "task=<invalid>" in lines[2] and "outcome=invalid-target" in lines[2]
    assert "not a FHIR id" in lines[2]
    assert "event=TASK_UPDATED" in lines[3] and "outcome=skipped" in lines[3]
    assert_log_is_clean(log)


def test_a_configuration_error_is_one_line_naming_the_variable(fhir: LocalFhirServer) -> None:
    reads_before = fhir.state.task_requests
    with CaptureReceiver() as receiver:
        secrets = plugin_secrets(fhir, receiver, WEBHOOK_SECRET="whsec_" + "A" * 8)
        with PluginRunner(secrets) as runner:
            assert runner.send_event("TASK_CREATED", FIXTURES[0].task_id) == []
        log = runner.log_text()
    (line,) = event_lines(log)
    assert (
        "outcome=config-error" in line
        and "WEBHOOK_SECRET: each key must be at least 24 bytes" in line
    )
    assert receiver.requests == []
    assert fhir.state.task_requests == reads_before  # refused before any request left the plugin
    assert_log_is_clean(log, "whsec_" + "A" * 8)


@pytest.mark.parametrize("algorithm", ["ES256", "EdDSA", "RS256"])
def test_jwt_modes_verified_by_pyjwt_and_the_jwks_route_serves_the_keys(
    fhir: LocalFhirServer, algorithm: str
) -> None:
    pem, jwk = new_key_pair(algorithm, kid="k-" + algorithm)
    jwks = {"keys": [jwk]}
    chosen = [*FIXTURES[:4], FIXTURES[-1]]
    with CaptureReceiver() as receiver:
        secrets = plugin_secrets(
            fhir,
            receiver,
            SIGNING_MODE="jwt",
            JWT_ALGORITHM=algorithm,
            JWT_PRIVATE_KEY=pem,
            JWT_KEY_ID="k-" + algorithm,
            JWT_PUBLIC_JWKS=json.dumps(jwks),
        )
        with PluginRunner(secrets) as runner:
            for fixture in chosen:
                assert deliver(runner, receiver, "TASK_CREATED", fixture.task_id) == [204]
            served = jwks_route(runner)
        log = runner.log_text()

    public_key = jwt.PyJWK(jwk).key
    for request, fixture in zip(receiver.requests, chosen, strict=True):
        assert "webhook-signature" not in request.headers
        scheme, token = request.headers["authorization"].split(" ", 1)
        assert scheme == "Bearer"
        header = jwt.get_unverified_header(token)
        assert header == {"alg": algorithm, "kid": "k-" + algorithm, "typ": "JWT"}
        claims = jwt.decode(
            token, public_key, algorithms=[algorithm], audience=receiver.url, issuer=SOURCE
        )
        assert claims["jti"] == request.headers["webhook-id"]
        assert claims["iat"] == int(request.headers["webhook-timestamp"])
        assert claims["exp"] == claims["iat"] + 300
        assert claims["sub"] == "Task/" + fixture.task_id
        assert claims["request_body_sha256"] == hashlib.sha256(request.body).hexdigest()
        assert_carries_fixture(request, fixture)
    assert served == (200, "application/jwk-set+json", jwks)
    assert all("mode=" + algorithm in line for line in event_lines(log))
    assert_log_is_clean(log, pem.splitlines()[1])


def jwks_route(runner: PluginRunner) -> tuple[int, str, Any]:
    """GET /jwks.json through the runner as Canvas's SimpleAPI does: authenticate, then request."""
    context = {
        "plugin_name": "enriched_webhook",
        "method": "GET",
        "path": "/jwks.json",
        "query_string": "",
        "body": "",
        "headers": {},
    }
    (auth,) = runner.send_event("SIMPLE_API_AUTHENTICATE", "", context)
    assert auth.payload["status_code"] == 200
    (response,) = runner.send_event("SIMPLE_API_REQUEST", "", context)
    body = json.loads(base64.b64decode(response.payload["body"]))
    return response.payload["status_code"], response.payload["headers"]["Content-Type"], body


def test_the_jwks_route_refuses_private_key_material(fhir: LocalFhirServer) -> None:
    _pem, jwk = new_key_pair("ES256")
    private_jwk = dict(jwk, d="c2VjcmV0")
    with CaptureReceiver() as receiver:
        secrets = plugin_secrets(
            fhir,
            receiver,
            WEBHOOK_SECRET=new_whsec(),
            JWT_PUBLIC_JWKS=json.dumps({"keys": [private_jwk]}),
        )
        with PluginRunner(secrets) as runner:
            status, _content_type, body = jwks_route(runner)
        log = runner.log_text()
    assert status == 503
    assert "c2VjcmV0" not in json.dumps(body)
    assert "holds private or symmetric members (d)" in log
    assert "c2VjcmV0" not in log
