"""Faults the plugin must survive, injected over real HTTP while it runs in the real runner.

For each: no exception escapes compute() or the cron tick, and the event is delivered,
kept in the outbox to be tried again, or ended with its reason; nothing unsigned and
nothing for a bad Task is ever sent. Retries are CRON events sent as Canvas sends them,
with RETRY_SCHEDULE shortened to one second.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import jwt
import pytest
from standardwebhooks.webhooks import Webhook

from devtools.capture_receiver import CaptureReceiver
from devtools.fhir_server import TOKEN_PATH, LocalFhirServer
from devtools.fixtures import fixture_tasks
from devtools.load import distinct_tasks
from devtools.runner import PluginRunner
from tests.e2e.test_runner_e2e import event_lines, plugin_secrets, tick
from tests.support import new_key_pair, new_whsec

pytestmark = pytest.mark.runner

FIXTURES = fixture_tasks()
TASK = FIXTURES[1]  # Canvas's documented read response
OTHER = FIXTURES[3]
# Each retry is due this long after the attempt before it (RETRY_SCHEDULE "1,1,1").
RETRY_SECONDS = 1.0


def assert_survived(log: str) -> None:
    assert "Traceback" not in log
    assert "reason=unexpected" not in log


def last_line(runner: PluginRunner) -> str:
    return event_lines(runner.log_text())[-1]


def wait_and_tick(runner: PluginRunner) -> str:
    """Wait until the last attempt's retry is due, then tick; return the tick's log line."""
    time.sleep(RETRY_SECONDS + 0.1)
    tick(runner)
    return [line for line in runner.log_text().splitlines() if "enriched-webhook cron " in line][-1]


def task_maker(fhir: LocalFhirServer, prefix: str) -> Callable[[], str]:
    """A new Task served per call: a second event for a Task whose read is pending joins
    that read, so each step of a test gets its own."""
    tasks = iter(distinct_tasks(TASK, 40, prefix=prefix))

    def fresh() -> str:
        task = next(tasks)
        return fhir.add_task(task.body, task.task_id)

    return fresh


def sent_for(receiver: CaptureReceiver, task_id: str) -> list[int]:
    """The answers to every attempt that carried this Task, in order."""
    return [
        request.answered
        for request in receiver.requests
        if json.loads(request.body)["data"]["id"] == task_id
    ]


def test_token_and_fhir_faults_in_one_runner(fhir: LocalFhirServer) -> None:
    secret = new_whsec()
    fresh = task_maker(fhir, "fault")
    with CaptureReceiver() as receiver:
        variables = plugin_secrets(
            fhir,
            receiver,
            WEBHOOK_SECRET=secret,
            RETRY_SCHEDULE="1,1,1",
            # A tick reads only when a read's worst case fits its budget (see
            # test_a_failed_read_is_retried_with_the_default_timeouts).
            FHIR_TIMEOUTS="1,2",
        )
        with PluginRunner(variables) as runner:
            read_again: list[str] = []
            # Token endpoint faults, before any token is cached. A refused request (403)
            # ends the row; anything that may pass later is read again by the cron tick.
            token_faults = [
                (401, b'{"error": "invalid_client"}', "token endpoint answered 401", True),
                (403, b"forbidden", "token endpoint answered 403", False),
                (500, b"boom", "token endpoint answered 500", True),
                (200, b"<html>", "token endpoint returned non-JSON", True),
                (200, b'{"token_type": "Bearer"}', "token response has no access_token", True),
            ]
            for status, body, reason, retried in token_faults:
                target = fresh()
                fhir.script_response(TOKEN_PATH, status, body)
                assert runner.send_event("TASK_CREATED", target) == []
                line = last_line(runner)
                outcome = "outcome=read-retry" if retried else "outcome=failed"
                assert outcome in line and reason in line, line
                if retried:
                    read_again.append(target)
            assert receiver.requests == []

            # Recovery: a token is fetched and cached; the next event reuses it.
            tokens_before = fhir.state.token_requests
            assert runner.send_event("TASK_CREATED", fresh()) == []
            assert runner.send_event("TASK_CREATED", fresh()) == []
            assert fhir.state.token_requests - tokens_before == 1
            assert len(receiver.requests) == 2

            # The cached token is rejected (rotated): exactly one refresh, then success.
            fhir.revoke_tokens()
            tokens_before = fhir.state.token_requests
            assert runner.send_event("TASK_CREATED", fresh()) == []
            assert fhir.state.token_requests - tokens_before == 1
            assert len(receiver.requests) == 3

            # Creation race: 404, 404, then 200 is delivered by compute() itself.
            raced = fresh()
            fhir.script_response("/Task/" + raced, 404)
            fhir.script_response("/Task/" + raced, 404)
            assert runner.send_event("TASK_CREATED", raced) == []
            assert sent_for(receiver, raced) == [204]
            assert len(receiver.requests) == 4

            # FHIR faults: nothing is sent now; a Task that breaks the rules never is.
            other_task = json.dumps(OTHER.task).encode()
            bogus = b"BOGUS"  # this target's own Task with a status outside its value set
            fhir_faults = [
                (None, None, "FHIR API answered 404", True),  # never appears
                (500, b"error for Jane Doe", "FHIR API answered 500", True),
                (502, b"", "FHIR API answered 502", True),
                (200, b"not json at all", "FHIR API returned non-JSON", True),
                (
                    200,
                    b'{"resourceType": "OperationOutcome", "issue": []}',
                    "invalid Task: resourceType is not 'Task'",
                    False,
                ),
                (200, b'["a list"]', "JSON that is not an object", True),
                (200, other_task, "invalid Task: Task.id is not the event's target id", False),
                (200, bogus, "invalid Task: Task.status is not in its required value set", False),
            ]
            never_sent: list[str] = []
            for answer, served, reason, retried in fhir_faults:
                if answer is None:
                    target = "created-and-deleted"
                else:
                    target = fresh()
                    if served == bogus:
                        served = json.dumps(dict(TASK.task, id=target, status="bogus")).encode()
                    fhir.script_response("/Task/" + target, answer, served or b"")
                assert runner.send_event("TASK_CREATED", target) == []
                line = last_line(runner)
                outcome = "outcome=read-retry" if retried else "outcome=failed"
                assert outcome in line and reason in line, line
                if retried and answer is not None:
                    read_again.append(target)
                else:
                    never_sent.append(target)
            assert len(receiver.requests) == 4

            # FHIR and the token endpoint are up again: the next due tick reads and sends.
            line = wait_and_tick(runner)
            assert "read=" + str(len(read_again) + 1) in line, line  # + created-and-deleted
            assert "delivered=" + str(len(read_again)) in line, line
            assert [sent_for(receiver, target) for target in read_again] == [[204]] * len(
                read_again
            )
            assert [sent_for(receiver, target) for target in never_sent] == [[]] * len(never_sent)
            assert len(receiver.requests) == 4 + len(read_again)
        log = runner.log_text()

    for request in receiver.requests:
        Webhook(secret).verify(request.body, request.headers)
    ids = Counter(request.headers["webhook-id"] for request in receiver.requests)
    assert set(ids.values()) == {1}  # every Task read again was sent once
    assert_survived(log)
    assert "Jane Doe" not in log


def test_receiver_faults_are_retried_on_the_schedule(fhir: LocalFhirServer) -> None:
    secret = new_whsec()
    fresh = task_maker(fhir, "receiver-fault")
    with CaptureReceiver() as receiver:
        variables = plugin_secrets(fhir, receiver, WEBHOOK_SECRET=secret, RETRY_SCHEDULE="1,1,1")
        with PluginRunner(variables) as runner:
            # Receiver faults: 503 and 429 first, then 2xx, each retry in its own tick
            # once due: the same id and bytes, each attempt signed afresh.
            flaky = fresh()
            receiver.statuses.extend([503, 429])
            assert runner.send_event("TASK_CREATED", flaky) == []
            assert "outcome=retry-scheduled status=503" in last_line(runner)
            tick(runner)  # not due yet: the schedule is kept
            assert sent_for(receiver, flaky) == [503]
            wait_and_tick(runner)
            wait_and_tick(runner)
            assert sent_for(receiver, flaky) == [503, 429, 204]
            attempts = receiver.requests[-3:]
            assert len({(a.body, a.headers["webhook-id"]) for a in attempts}) == 1
            stamps = [int(a.headers["webhook-timestamp"]) for a in attempts]
            assert stamps == sorted(set(stamps)), stamps  # a fresh timestamp each time
            assert len({a.headers["webhook-signature"] for a in attempts}) == 3

            # A permanent refusal (400) ends the row at once: no retry.
            refused = fresh()
            receiver.statuses.append(400)
            assert runner.send_event("TASK_CREATED", refused) == []
            line = last_line(runner)
            assert "outcome=failed status=400" in line and 'reason="http-400"' in line

            # Retries exhausted: RETRY_SCHEDULE "1,1,1" means four attempts, then it stops.
            exhausted = fresh()
            receiver.statuses.extend([500, 500, 500, 500])
            assert runner.send_event("TASK_CREATED", exhausted) == []
            for _ in range(4):
                wait_and_tick(runner)
            assert sent_for(receiver, refused) == [400]
            assert sent_for(receiver, exhausted) == [500, 500, 500, 500]
        log = runner.log_text()

    for request in receiver.requests:
        Webhook(secret).verify(request.body, request.headers)
    ids = Counter(request.headers["webhook-id"] for request in receiver.requests)
    assert sorted(ids.values()) == [1, 3, 4]  # refused once, flaky thrice, exhausted four times
    assert_survived(log)


def test_a_failed_read_is_retried_with_the_default_timeouts(fhir: LocalFhirServer) -> None:
    """With default FHIR_TIMEOUTS and CRON_TIME_BUDGET, a due read must not stall the tick."""
    secret = new_whsec()
    with CaptureReceiver(statuses=[503]) as receiver:
        variables = plugin_secrets(fhir, receiver, WEBHOOK_SECRET=secret, RETRY_SCHEDULE="1")
        with PluginRunner(variables) as runner:
            assert runner.send_event("TASK_CREATED", TASK.task_id) == []  # answered 503
            fhir.script_response("/Task/" + OTHER.task_id, 500)
            assert runner.send_event("TASK_CREATED", OTHER.task_id) == []  # read fails
            assert "outcome=read-retry" in last_line(runner)
            line = wait_and_tick(runner)
        log = runner.log_text()
    assert "read=1" in line and "delivered=2" in line and "budget_spent=no" in line, line
    delivered = {json.loads(r.body)["data"]["id"] for r in receiver.requests if r.answered == 204}
    assert delivered == {TASK.task_id, OTHER.task_id}
    assert_survived(log)


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
    # Kept in the outbox: the cron tick reads it again once the endpoint answers.
    assert "outcome=read-retry" in line and "token endpoint unreachable (ConnectionError)" in line
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


# Timeouts short enough that a claim lapses in a few seconds (claim = the slowest attempt
# + a read + 5 s: 1 + 1 + 5 = 7 s), so a test can watch what a later tick does.
SHORT_TIMEOUTS = {
    "FIRST_ATTEMPT_TIMEOUTS": "0.5,0.5",
    "RETRY_TIMEOUTS": "0.5,0.5",
    "FHIR_TIMEOUTS": "0.5,0.5",
}
CLAIM_LAPSES_SECONDS = 7.5


def test_an_event_stored_under_an_unusable_key_is_sent_once_the_key_is_fixed(
    fhir: LocalFhirServer, tmp_path: Path
) -> None:
    database = tmp_path / "outbox.sqlite3"
    pem, jwk = new_key_pair("ES256", kid="k")
    with CaptureReceiver() as receiver:
        variables = plugin_secrets(
            fhir, receiver, SIGNING_MODE="jwt", JWT_KEY_ID="k", **SHORT_TIMEOUTS
        )
        with PluginRunner(dict(variables, JWT_PRIVATE_KEY=NOT_A_KEY), database=database) as runner:
            assert runner.send_event("TASK_CREATED", TASK.task_id) == []
            stored_at = time.monotonic()
            line = last_line(runner)
        assert "outcome=config-error" in line and "JWT_PRIVATE_KEY" in line
        assert receiver.requests == []
        # The operator fixes the key; the runner restarts on the same outbox.
        with PluginRunner(dict(variables, JWT_PRIVATE_KEY=pem), database=database) as runner:
            time.sleep(max(0.0, stored_at + CLAIM_LAPSES_SECONDS - time.monotonic()))
            tick(runner)
        log = runner.log_text()
    (request,) = receiver.requests
    claims = jwt.decode(
        request.headers["authorization"].removeprefix("Bearer "),
        jwt.PyJWK(jwk).key,
        algorithms=["ES256"],
        audience=receiver.url,
    )
    assert claims["sub"] == "Task/" + TASK.task_id
    assert json.loads(request.body)["data"] == TASK.task
    assert "cron outcome=ok" in log and "delivered=1" in log
    assert_survived(log)


def test_a_tick_that_cannot_sign_names_the_variable(fhir: LocalFhirServer) -> None:
    with CaptureReceiver() as receiver:
        variables = plugin_secrets(
            fhir,
            receiver,
            SIGNING_MODE="jwt",
            JWT_KEY_ID="k",
            JWT_PRIVATE_KEY=NOT_A_KEY,
            **SHORT_TIMEOUTS,
        )
        with PluginRunner(variables) as runner:
            assert runner.send_event("TASK_CREATED", TASK.task_id) == []
            time.sleep(CLAIM_LAPSES_SECONDS)  # the row's claim lapses: the tick takes it
            tick(runner)
        log = runner.log_text()
    (line,) = [line for line in log.splitlines() if "enriched-webhook cron " in line]
    assert "outcome=config-error" in line, line
    assert "JWT_PRIVATE_KEY: could not be used as a ES256 signing key" in line, line
    assert receiver.requests == []
    assert_survived(log)
