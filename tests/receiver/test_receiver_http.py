"""The reference receiver over real HTTP: answers, duplicate headers, body limit, logging."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from enriched_webhook.receiver.http_server import WebhookServer, serve
from enriched_webhook.verify import VerifiedEvent, Verifier

from .helpers import NOW, body_for, fixture, hmac_headers, msg_id_for, new_whsec

SECRET = new_whsec()
DESCRIPTION_MARKER = "Sensitive description text of patient 4711"


@pytest.fixture
def receiver() -> Iterator[tuple[WebhookServer, list[str], list[VerifiedEvent]]]:
    lines: list[str] = []
    handled: list[VerifiedEvent] = []

    def on_event(event: VerifiedEvent) -> None:
        if event.task.description == "fail once" and not any(
            item.id == event.id for item in handled
        ):
            handled.append(event)
            raise RuntimeError("handler crashed")
        handled.append(event)

    server = serve(
        Verifier(SECRET, now=NOW),
        port=0,
        max_body_bytes=64 * 1024,
        on_event=on_event,
        log=lines.append,
    )
    try:
        yield server, lines, handled
    finally:
        server.shutdown()


def post(server: WebhookServer, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    request = urllib.request.Request(server.url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            payload = response.read()
            return response.status, json.loads(payload) if payload else None
    except urllib.error.HTTPError as error:
        payload = error.read()
        return error.code, json.loads(payload) if payload else None


def task_with_description(text: str, task_id: str = "recv-1") -> dict[str, Any]:
    task = dict(fixture().task)
    task["id"] = task_id
    task["description"] = text
    return task


def test_answers_over_http(receiver: tuple[WebhookServer, list[str], list[VerifiedEvent]]) -> None:
    server, lines, handled = receiver
    task = task_with_description(DESCRIPTION_MARKER)
    body = body_for(task)
    msg_id = msg_id_for(task)
    headers = hmac_headers(SECRET, body, msg_id)
    assert post(server, body, headers) == (204, None)
    assert [event.id for event in handled] == [msg_id]
    status, answer = post(server, body, headers)
    assert status == 200 and answer["verdict"] == "AlreadyHandledError"
    bad = {
        **headers,
        "webhook-signature": hmac_headers(new_whsec(), body, msg_id)["webhook-signature"],
    }
    assert post(server, body, bad)[0] == 401
    stale = hmac_headers(SECRET, body, msg_id, NOW - 10_000)
    assert post(server, body, stale)[0] == 401
    invalid = body_for({**task, "status": "bogus", "id": "recv-2"})
    status, answer = post(server, invalid, hmac_headers(SECRET, invalid, "msg_invalid"))
    assert status == 400 and answer["verdict"] == "InvalidTaskError"
    big = b"x" * (64 * 1024 + 1)
    assert post(server, big, hmac_headers(SECRET, big, "msg_big"))[0] == 413
    assert len(lines) == 6
    first = lines[0]
    assert "id=" + msg_id in first and "verdict=ok" in first and "status=204" in first
    assert "type=task.created" in first and "task=recv-1" in first
    assert "verdict=AlreadyHandledError" in lines[1]
    assert "verdict=InvalidSignatureError" in lines[2]
    assert "verdict=StaleTimestampError" in lines[3]
    assert "verdict=InvalidTaskError" in lines[4]
    assert "verdict=PayloadTooLarge" in lines[5]
    for line in lines:
        assert DESCRIPTION_MARKER not in line
        assert "\n" not in line


def test_duplicated_signature_header_is_refused(
    receiver: tuple[WebhookServer, list[str], list[VerifiedEvent]],
) -> None:
    server, lines, handled = receiver
    body = body_for(task_with_description("dup"))
    headers = hmac_headers(SECRET, body, "msg_dup")
    host, port = server.server_address[:2]
    connection = http.client.HTTPConnection(str(host), port, timeout=10)
    connection.putrequest("POST", "/")
    for name, value in headers.items():
        connection.putheader(name, value)
    connection.putheader("webhook-signature", "v1,AAAA")
    connection.putheader("Content-Length", str(len(body)))
    connection.endheaders(body)
    response = connection.getresponse()
    assert response.status == 400
    assert json.loads(response.read())["verdict"] == "DuplicateHeader"
    connection.close()
    assert handled == []
    assert "verdict=DuplicateHeader" in lines[-1]


def test_a_failing_handler_gets_500_and_the_retry_succeeds(
    receiver: tuple[WebhookServer, list[str], list[VerifiedEvent]],
) -> None:
    server, lines, _ = receiver
    task = task_with_description("fail once", "recv-3")
    body = body_for(task)
    headers = hmac_headers(SECRET, body, msg_id_for(task))
    assert post(server, body, headers)[0] == 500
    assert post(server, body, headers)[0] == 204
    assert post(server, body, headers)[0] == 200
    assert "verdict=RuntimeError" in lines[0]


def test_other_methods_and_missing_length(
    receiver: tuple[WebhookServer, list[str], list[VerifiedEvent]],
) -> None:
    server, _, _ = receiver
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(server.url, timeout=10)
    assert caught.value.code == 405
    host, port = server.server_address[:2]
    connection = http.client.HTTPConnection(str(host), port, timeout=10)
    connection.putrequest("POST", "/")
    connection.putheader("Transfer-Encoding", "chunked")
    connection.endheaders()
    connection.send(b"0\r\n\r\n")
    assert connection.getresponse().status == 411
    connection.close()


def test_shutdown_is_idempotent() -> None:
    server = serve(Verifier(SECRET), port=0, log=lambda line: None)
    assert server.server_address[1] > 0
    server.shutdown()
    server.shutdown()
