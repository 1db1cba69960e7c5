"""Who may use the page, through the real runner and the gateway that plays Canvas's proxy.

Without a staff session (no cookie, or a patient's session) every route answers 401 and
does nothing; with one, a POST without the page's CSRF token (or with a wrong one, or not
as JSON) is refused and sends nothing.
"""

from __future__ import annotations

from typing import Any

import pytest

from devtools.outbox_client import api

from .conftest import API_KEY, APPLICATION, Stack, register_application
from .http_client import ACTIONS, action, page_token, request

pytestmark = pytest.mark.runner


def rows(stack: Stack, state: str) -> list[dict[str, Any]]:
    """The outbox's rows in one state, read through the operations API."""
    status, listing = api(stack.runner, "GET", "/api/deliveries", API_KEY, query="state=" + state)
    assert status == 200
    return list(listing["deliveries"])


def failed_ids(stack: Stack) -> list[str]:
    return sorted(row["webhook_id"] for row in rows(stack, "failed"))


def test_without_a_staff_session_the_page_and_every_action_answer_401(stack: Stack) -> None:
    gateway = stack.gateway
    some_id = failed_ids(stack)[0]
    before = sum(stack.receiver.requests.values())
    patient = gateway.cookie_header(gateway.patient_session)
    for cookie in (None, patient, "canvas_session=forged"):
        for path in ("/app/deliveries", "/app/deliveries/" + some_id):
            status, _headers, body = request(gateway, "GET", path, cookie)
            assert status == 401, (cookie, path)
            assert b"deliveries" not in body.lower() and some_id.encode() not in body
        for name in ACTIONS:
            status, _body = action(
                gateway, name, {"webhook_id": some_id, "webhook_ids": [some_id]}, cookie, "x"
            )
            assert status == 401, (cookie, name)
    # A browser's own copy of Canvas's session headers is dropped, as Canvas drops it.
    status, _headers, _body = request(
        gateway,
        "GET",
        "/app/deliveries",
        None,
        {"canvas-logged-in-user-type": "Staff", "canvas-logged-in-user-id": "x"},
    )
    assert status == 401
    assert sum(stack.receiver.requests.values()) == before  # nothing was sent


def test_a_post_without_the_csrf_proof_is_refused_and_sends_nothing(stack: Stack) -> None:
    gateway = stack.gateway
    cookie = gateway.cookie_header()
    token = page_token(gateway)
    some_id = failed_ids(stack)[0]
    before = sum(stack.receiver.requests.values())
    payload = {"webhook_id": some_id, "webhook_ids": [some_id], "since": "2026-11-01"}
    for name in ACTIONS:
        for wrong in (None, "", token[:-2], "A" * len(token)):
            status, body = action(gateway, name, payload, cookie, wrong)
            assert status == 403, (name, wrong)
            assert "reload the page" in body["error"]
        # A cross-site form can send only a form content type, never the header and JSON.
        status, _body = action(
            gateway, name, payload, cookie, token, "application/x-www-form-urlencoded"
        )
        assert status == 400, name
    assert sum(stack.receiver.requests.values()) == before
    assert some_id in failed_ids(stack)  # still failed: nothing was resent


def test_the_application_opens_the_page_and_badges_the_failed_count(stack: Stack) -> None:
    runner = stack.runner
    (opened,) = runner.send_event("APPLICATION__ON_OPEN", APPLICATION, {})
    assert opened.type == "LAUNCH_MODAL"
    url = opened.payload["data"]["url"]
    assert url == "/plugin-io/api/enriched_webhook/app/deliveries"
    assert request(stack.gateway, "GET", url.split("/enriched_webhook", 1)[1])[0] == 401
    register_application(runner.database)
    effects = runner.send_event(
        "APPLICATION__GET_NOTIFICATION_BADGE", APPLICATION, {"staff": {"id": "staff-1"}}
    )
    assert [effect.type for effect in effects] == ["SET_APPLICATION_NOTIFICATION_BADGE"]
    badge = effects[0].payload["data"]
    assert badge["count"] == len(failed_ids(stack)) == stack.made["failed"]
    assert badge["staff_ids"] == ["staff-1"]


def test_resending_twice_makes_one_more_attempt_not_two(stack: Stack) -> None:
    gateway = stack.gateway
    cookie = gateway.cookie_header()
    token = page_token(gateway)
    pending = rows(stack, "pending")[0]
    webhook_id, task_id = pending["webhook_id"], pending["task_id"]
    assert stack.receiver.answers[task_id] == 503  # still down for this Task
    before = stack.receiver.requests[task_id]
    first = action(gateway, "resend", {"webhook_id": webhook_id}, cookie, token)
    second = action(gateway, "resend", {"webhook_id": webhook_id}, cookie, token)
    assert first == (
        200,
        {
            "message": f"Resent {webhook_id}: pending (HTTP 503), http-503; it stays in the "
            "retry schedule.",
            "result": first[1]["result"],
        },
    )
    assert first[1]["result"]["result"] == "attempted"
    assert second[0] == 200
    assert second[1]["message"] == f"{webhook_id} was resent seconds ago: not attempted again."
    assert stack.receiver.requests[task_id] == before + 1
