"""Faults the plugin must survive, injected over real HTTP while it runs in the real runner.

For each: no exception escapes compute(), and the event is either delivered or logged
with its reason; nothing unsigned and nothing for a bad Task is ever sent.
"""

from __future__ import annotations

import json

import pytest
from standardwebhooks.webhooks import Webhook

from devtools.capture_receiver import CaptureReceiver
from devtools.fhir_server import TOKEN_PATH, LocalFhirServer
from devtools.fixtures import fixture_tasks
from devtools.platform_delivery import execute
from devtools.runner import PluginRunner
from tests.e2e.test_runner_e2e import event_lines, plugin_secrets
from tests.support import new_key_pair, new_whsec

pytestmark = pytest.mark.runner

FIXTURES = fixture_tasks()
TASK = FIXTURES[1]  # Canvas's documented read response
OTHER = FIXTURES[3]


def assert_survived(log: str) -> None:
    assert "Traceback" not in log
    assert "reason=unexpected" not in log


def last_line(runner: PluginRunner) -> str:
    return event_lines(runner.log_text())[-1]


def test_token_fhir_and_receiver_faults_in_one_runner(fhir: LocalFhirServer) -> None:
    secret = new_whsec()
    task_path = "/Task/" + TASK.task_id
    with CaptureReceiver() as receiver:
        with PluginRunner(plugin_secrets(fhir, receiver, WEBHOOK_SECRET=secret)) as runner:
            # Token endpoint faults, before any token is cached.
            token_faults = [
                (401, b'{"error": "invalid_client"}', "token endpoint answered 401"),
                (403, b"forbidden", "token endpoint answered 403"),
                (500, b"boom", "token endpoint answered 500"),
                (200, b"<html>", "token endpoint returned non-JSON"),
                (200, b'{"token_type": "Bearer"}', "token response has no access_token"),
            ]
            for status, body, reason in token_faults:
                fhir.script_response(TOKEN_PATH, status, body)
                assert runner.send_event("TASK_CREATED", TASK.task_id) == []
                line = last_line(runner)
                assert "outcome=fhir-error" in line and reason in line, line

            # Recovery: a token is fetched and cached; the next event reuses it.
            tokens_before = fhir.state.token_requests
            for effect in runner.send_event("TASK_CREATED", TASK.task_id):
                execute(effect)
            for effect in runner.send_event("TASK_CREATED", OTHER.task_id):
                execute(effect)
            assert fhir.state.token_requests - tokens_before == 1
            assert len(receiver.requests) == 2

            # The cached token is rejected (rotated): exactly one refresh, then success.
            fhir.revoke_tokens()
            tokens_before = fhir.state.token_requests
            for effect in runner.send_event("TASK_CREATED", TASK.task_id):
                execute(effect)
            assert fhir.state.token_requests - tokens_before == 1
            assert len(receiver.requests) == 3

            # Creation race: 404, 404, then 200 is delivered.
            fhir.script_response(task_path, 404)
            fhir.script_response(task_path, 404)
            for effect in runner.send_event("TASK_CREATED", TASK.task_id):
                execute(effect)
            assert len(receiver.requests) == 4

            # FHIR faults that must send nothing.
            other_task = json.dumps(OTHER.task).encode()
            bogus = json.dumps(dict(TASK.task, status="bogus")).encode()
            fhir_faults = [
                (None, None, "FHIR API answered 404"),  # never appears
                (500, b"error for Jane Doe", "FHIR API answered 500"),
                (502, b"", "FHIR API answered 502"),
                (200, b"not json at all", "FHIR API returned non-JSON"),
                (
                    200,
                    b'{"resourceType": "OperationOutcome", "issue": []}',
                    "resourceType is not 'Task'",
                ),
                (200, b'["a list"]', "JSON that is not an object"),
                (200, other_task, "Task.id is not the event's target id"),
                (200, bogus, "Task.status is not in its required value set"),
            ]
            for status, body, reason in fhir_faults:
                target = TASK.task_id
                if status is None:
                    target = "created-and-deleted"
                else:
                    fhir.script_response(task_path, status, body or b"")
                assert runner.send_event("TASK_CREATED", target) == []
                line = last_line(runner)
                assert reason in line, line
            assert len(receiver.requests) == 4

            # Receiver faults: 503 and 429 first, then 2xx: retried with the same bytes.
            receiver.statuses.extend([503, 429])
            (effect,) = runner.send_event("TASK_CREATED", TASK.task_id)
            assert execute(effect).statuses == [503, 429, 204]
            attempts = receiver.requests[-3:]
            assert len({(a.body, a.headers["webhook-signature"]) for a in attempts}) == 1

            # A status not in retry_on_status_codes is not retried.
            receiver.statuses.append(400)
            (effect,) = runner.send_event("TASK_CREATED", TASK.task_id)
            assert execute(effect).statuses == [400]

            # Retries exhausted: max_retries=3 means four attempts, then it stops.
            receiver.statuses.extend([500, 500, 500, 500])
            (effect,) = runner.send_event("TASK_CREATED", TASK.task_id)
            assert execute(effect).statuses == [500, 500, 500, 500]
        log = runner.log_text()

    for request in receiver.requests:
        Webhook(secret).verify(request.body, request.headers)
    assert_survived(log)
    assert "Jane Doe" not in log


def test_an_unreachable_token_endpoint_is_logged(fhir: LocalFhirServer) -> None:
    with LocalFhirServer() as closed:
        closed_url = closed.token_url  # the port is closed once this block ends
    with CaptureReceiver() as receiver:
        secrets = plugin_secrets(
            fhir, receiver, WEBHOOK_SECRET=new_whsec(), FHIR_TOKEN_URL=closed_url
        )
        with PluginRunner(secrets) as runner:
            assert runner.send_event("TASK_CREATED", TASK.task_id) == []
            line = last_line(runner)
        log = runner.log_text()
    assert "outcome=fhir-error" in line and "token endpoint unreachable (ConnectionError)" in line
    assert receiver.requests == []
    assert_survived(log)


NOT_A_KEY = "-----BEGIN PRIVATE KEY-----\nTUlJQm5vdGFrZXk=\n-----END PRIVATE KEY-----\n"
BAD_CONFIG = [
    ("WEBHOOK_URL missing", {"WEBHOOK_URL": None}, "WEBHOOK_URL: is missing or empty"),
    ("WEBHOOK_URL empty", {"WEBHOOK_URL": ""}, "WEBHOOK_URL: is missing or empty"),
    ("http without ALLOW_LOCAL_URLS", {"ALLOW_LOCAL_URLS": None}, "WEBHOOK_URL: it is http"),
    (
        "private host without ALLOW_LOCAL_URLS",
        {"ALLOW_LOCAL_URLS": None, "WEBHOOK_URL": "https://10.0.0.8/hook"},
        "WEBHOOK_URL: its host is loopback, private or link-local",
    ),
    (
        "metadata address",
        {"ALLOW_LOCAL_URLS": "false", "WEBHOOK_URL": "https://169.254.169.254/latest"},
        "WEBHOOK_URL: its host is loopback, private or link-local",
    ),
    (
        "ALLOW_LOCAL_URLS malformed",
        {"ALLOW_LOCAL_URLS": "yes please"},
        "ALLOW_LOCAL_URLS: must be true or false",
    ),
    ("WEBHOOK_SECRET missing", {"WEBHOOK_SECRET": None}, "WEBHOOK_SECRET: is missing or empty"),
    (
        "bad whsec_",
        {"WEBHOOK_SECRET": "whsec_%%%%"},
        "WEBHOOK_SECRET: the secret is not valid base64",
    ),
    ("SIGNING_MODE unknown", {"SIGNING_MODE": "rot13"}, "SIGNING_MODE: must be hmac or jwt"),
    (
        "JWT key missing",
        {"SIGNING_MODE": "jwt", "JWT_KEY_ID": "k"},
        "JWT_PRIVATE_KEY: is missing or empty",
    ),
    (
        "PEM that is not a key",
        {"SIGNING_MODE": "jwt", "JWT_KEY_ID": "k", "JWT_PRIVATE_KEY": NOT_A_KEY},
        "JWT_PRIVATE_KEY: could not be used as a ES256 signing key",
    ),
    (
        "unknown algorithm",
        {"SIGNING_MODE": "jwt", "JWT_ALGORITHM": "none", "JWT_PRIVATE_KEY": "x"},
        "JWT_ALGORITHM: must be one of ES256, EdDSA, RS256, HS256",
    ),
    ("FHIR_CLIENT_ID missing", {"FHIR_CLIENT_ID": None}, "FHIR_CLIENT_ID: is missing or empty"),
    (
        "FHIR_CLIENT_SECRET empty",
        {"FHIR_CLIENT_SECRET": " "},
        "FHIR_CLIENT_SECRET: is missing or empty",
    ),
    (
        "EVENTS unknown",
        {"EVENTS": "TASK_CREATED,TASK_EXPLODED"},
        "EVENTS: names events this plugin does not handle",
    ),
]


@pytest.mark.parametrize(
    ("case", "overrides", "expected"), BAD_CONFIG, ids=[c[0] for c in BAD_CONFIG]
)
def test_each_bad_variable_in_the_sandbox(
    fhir: LocalFhirServer, case: str, overrides: dict[str, str | None], expected: str
) -> None:
    with CaptureReceiver() as receiver:
        secrets = plugin_secrets(fhir, receiver, WEBHOOK_SECRET=new_whsec())
        for name, value in overrides.items():
            if value is None:
                secrets.pop(name, None)
            else:
                secrets[name] = value
        with PluginRunner(secrets) as runner:
            assert runner.send_event("TASK_CREATED", TASK.task_id) == []
        log = runner.log_text()
    (line,) = event_lines(log)
    assert "outcome=config-error" in line and expected in line, line
    assert receiver.requests == []
    assert_survived(log)
    for value in overrides.values():
        if value and len(value) > 8:  # the value itself is never echoed
            assert value.strip() not in line


def test_jwt_mode_with_a_key_for_another_algorithm_is_a_config_error(fhir: LocalFhirServer) -> None:
    pem, _ = new_key_pair("EdDSA")
    with CaptureReceiver() as receiver:
        secrets = plugin_secrets(
            fhir,
            receiver,
            SIGNING_MODE="jwt",
            JWT_ALGORITHM="RS256",
            JWT_PRIVATE_KEY=pem,
            JWT_KEY_ID="k",
        )
        with PluginRunner(secrets) as runner:
            assert runner.send_event("TASK_CREATED", TASK.task_id) == []
        log = runner.log_text()
    assert "JWT_PRIVATE_KEY: could not be used as a RS256 signing key" in log
    assert_survived(log)
