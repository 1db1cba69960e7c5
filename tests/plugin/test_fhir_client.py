"""Reading the Task over real HTTP from the local FHIR server, every failure path included."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from canvas_sdk.caching.client import get_cache
from settings import CANVAS_SDK_CACHE_TIMEOUT_SECONDS

from devtools.fhir_server import TOKEN_PATH, LocalFhirServer
from devtools.fixtures import fixture_tasks
from enriched_webhook.plugin.config import PluginSettings, load_settings
from enriched_webhook.plugin.fhir_client import FhirReadError, FhirTaskReader
from tests.support import new_whsec

CANVAS = next(f for f in fixture_tasks() if f.name == "canvas/task_read_response_200.json")


@pytest.fixture
def fhir() -> Iterator[LocalFhirServer]:
    with LocalFhirServer() as server:
        server.add_task(CANVAS.body, CANVAS.task_id)
        yield server


def settings_for(fhir: LocalFhirServer, **overrides: Any) -> PluginSettings:
    variables = fhir.plugin_variables("http://127.0.0.1:9/hook", WEBHOOK_SECRET=new_whsec())
    variables.update(overrides)
    return load_settings(variables, {"CUSTOMER_IDENTIFIER": "local"})


def plugin_cache() -> Any:
    """The cache class and backend the plugin gets from `get_cache()` inside Canvas.

    `canvas_sdk.caching.plugins.get_cache` only answers calls from sandboxed plugin
    modules; the runner tests exercise that path.
    """
    return get_cache(
        driver="plugins",
        prefix="enriched_webhook",
        max_timeout_seconds=CANVAS_SDK_CACHE_TIMEOUT_SECONDS,
    )


def reader(settings: PluginSettings) -> FhirTaskReader:
    return FhirTaskReader(settings, cache=plugin_cache())


def test_reads_the_task_exactly_as_served(fhir: LocalFhirServer) -> None:
    task = reader(settings_for(fhir)).read(CANVAS.task_id)
    assert task == CANVAS.task


def test_the_token_is_cached_across_events_and_refreshed_once_on_401(fhir: LocalFhirServer) -> None:
    settings = settings_for(fhir)
    reader(settings).read(CANVAS.task_id)
    assert fhir.state.token_requests == 1
    reader(settings).read(CANVAS.task_id)
    assert fhir.state.token_requests == 1  # served from the plugin cache
    fhir.revoke_tokens()
    tasks_before = fhir.state.task_requests
    assert reader(settings).read(CANVAS.task_id) == CANVAS.task
    assert fhir.state.token_requests == 2  # one refresh after the 401
    assert fhir.state.task_requests - tasks_before == 2  # the refused read, then the good one


def test_a_404_that_turns_into_200_is_retried(fhir: LocalFhirServer) -> None:
    path = "/Task/" + CANVAS.task_id
    fhir.script_response(path, 404)
    fhir.script_response(path, 404)
    before = fhir.state.task_requests
    assert reader(settings_for(fhir)).read(CANVAS.task_id) == CANVAS.task
    assert fhir.state.task_requests - before == 3


def test_a_404_for_good_gives_up_after_about_a_second(fhir: LocalFhirServer) -> None:
    with pytest.raises(FhirReadError) as caught:
        reader(settings_for(fhir)).read("no-such-task")
    assert caught.value.status == 404
    assert caught.value.reason == "FHIR API answered 404"


@pytest.mark.parametrize(
    ("status", "body", "content_type", "reason"),
    [
        (500, b"Internal error for patient Jane", "text/plain", "FHIR API answered 500"),
        (502, b"", "text/plain", "FHIR API answered 502"),
        (200, b"<html>not json</html>", "text/html", "FHIR API returned non-JSON"),
        (200, b"[1, 2]", "application/json", "FHIR API returned JSON that is not an object"),
    ],
)
def test_fhir_failures_carry_a_reason_and_never_the_body(
    fhir: LocalFhirServer, status: int, body: bytes, content_type: str, reason: str
) -> None:
    fhir.script_response("/Task/" + CANVAS.task_id, status, body, content_type)
    with pytest.raises(FhirReadError) as caught:
        reader(settings_for(fhir)).read(CANVAS.task_id)
    assert caught.value.reason == reason
    assert "Jane" not in str(caught.value)


def test_a_second_401_after_refresh_is_not_retried_forever(fhir: LocalFhirServer) -> None:
    path = "/Task/" + CANVAS.task_id
    fhir.script_response(path, 401)
    fhir.script_response(path, 401)
    with pytest.raises(FhirReadError, match="answered 401"):
        reader(settings_for(fhir, FHIR_CLIENT_ID="fresh-cache-key")).read(CANVAS.task_id)


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (401, b'{"error": "invalid_client"}', "token endpoint answered 401"),
        (403, b"", "token endpoint answered 403"),
        (500, b"oops", "token endpoint answered 500"),
        (200, b"not json", "token endpoint returned non-JSON"),
        (200, b'{"token_type": "Bearer"}', "token response has no access_token"),
    ],
)
def test_token_endpoint_failures(
    fhir: LocalFhirServer, status: int, body: bytes, reason: str
) -> None:
    fhir.script_response(TOKEN_PATH, status, body)
    settings = settings_for(fhir, FHIR_CLIENT_ID="client-" + str(status) + str(len(body)))
    with pytest.raises(FhirReadError) as caught:
        reader(settings).read(CANVAS.task_id)
    assert caught.value.reason == reason


def test_wrong_client_secret_is_refused_by_the_token_endpoint(fhir: LocalFhirServer) -> None:
    settings = settings_for(fhir, FHIR_CLIENT_SECRET="wrong-secret", FHIR_CLIENT_ID="other-client")
    with pytest.raises(FhirReadError, match="token endpoint answered 401") as caught:
        reader(settings).read(CANVAS.task_id)
    assert "wrong-secret" not in str(caught.value)


def test_an_unreachable_token_endpoint() -> None:
    with LocalFhirServer() as server:
        closed = server.token_url
    secrets = {
        "WEBHOOK_URL": "http://127.0.0.1:9/hook",
        "ALLOW_LOCAL_URLS": "true",
        "WEBHOOK_SECRET": new_whsec(),
        "FHIR_CLIENT_ID": "unreachable",
        "FHIR_CLIENT_SECRET": "s",
        "FHIR_BASE_URL": "http://127.0.0.1:9",
        "FHIR_TOKEN_URL": closed,
    }
    settings = load_settings(secrets, {"CUSTOMER_IDENTIFIER": "local"})
    with pytest.raises(FhirReadError, match="token endpoint unreachable"):
        reader(settings).read(CANVAS.task_id)


@pytest.mark.parametrize("target", ["../Patient/1", "a/b", "", "x" * 65, "id?x=1"])
def test_a_target_that_is_not_a_fhir_id_is_never_requested(
    fhir: LocalFhirServer, target: str
) -> None:
    before = fhir.state.task_requests
    with pytest.raises(FhirReadError, match="not a FHIR id"):
        reader(settings_for(fhir)).read(target)
    assert fhir.state.task_requests == before


def test_a_whole_read_stays_within_twice_the_fhir_timeouts(fhir: LocalFhirServer) -> None:
    """Each request is bounded by FHIR_TIMEOUTS, and the read as a whole by twice their sum:
    here 4 s, against a server that takes 0.9 s to answer each of five 404s (5.5 s)."""
    settings = settings_for(fhir, FHIR_TIMEOUTS="1,1")
    assert settings.delivery.read_budget_seconds == 4.0
    fhir.state.read_delay = 0.9
    started = time.monotonic()
    with pytest.raises(FhirReadError) as caught:
        reader(settings).read("no-such-task")
    spent = time.monotonic() - started
    assert caught.value.reason in (
        "the Task read used its whole time budget",
        "FHIR API unreachable (ReadTimeout)",
    )
    assert caught.value.retryable
    assert fhir.state.task_requests < 5  # without the budget: all five 404s
    assert spent < settings.delivery.read_budget_seconds + 0.5
