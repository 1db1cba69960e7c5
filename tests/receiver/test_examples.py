"""The framework examples under their real servers, 2 workers each, with a real Redis.

examples/flask (gunicorn), examples/fastapi (uvicorn) and examples/django (gunicorn) run
as a user runs them, from their own folders, and get the deliveries a sender makes:
good, duplicate, 20 concurrent duplicates (one handled), tampered, stale, chunked
(handled, or refused with 411; never 401) and oversized (413).
"""

from __future__ import annotations

import http.client
import importlib
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from enriched_webhook.shared.payload import envelope, serialize

from .helpers import SOURCE, fixture, hmac_headers, msg_id_for, new_whsec
from .servers import Served, free_port, server_process

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SECRET = new_whsec()


def command(framework: str, port: int) -> list[str]:
    python = sys.executable
    if framework == "fastapi":
        return [python, "-m", "uvicorn", "app:app", "--workers", "2", "--port", str(port)]
    target = "wsgi:application" if framework == "django" else "app:app"
    return [python, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}", target]


def wait_for_workers(server: Served, marker: str, count: int = 2) -> None:
    deadline = time.monotonic() + 60
    while server.output().count(marker) < count:
        assert server.process.poll() is None, server.output()
        assert time.monotonic() < deadline, server.output()
        time.sleep(0.1)


@pytest.fixture(scope="module", params=["flask", "fastapi", "django"])
def example(
    request: pytest.FixtureRequest, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Served]]:
    framework: str = request.param
    importlib.import_module(framework)  # the dev extra installs each: never a silent skip
    port = free_port()
    env = dict(os.environ, WEBHOOK_SECRET=SECRET, REDIS_URL=redis_url, PYTHONUNBUFFERED="1")
    folder = tmp_path_factory.mktemp(framework)
    with server_process(command(framework, port), port, folder, env, EXAMPLES / framework) as up:
        marker = "Application startup complete" if framework == "fastapi" else "Booting worker"
        wait_for_workers(up, marker)
        # A first request per worker pays for the app's import; none of the checks below.
        for _ in range(4):
            assert post(up, b"{}", {"webhook-id": "warm"})[0] == 400
        yield framework, up


def delivery(description: str = "example") -> tuple[bytes, dict[str, str]]:
    task = dict(fixture().task)
    task["id"] = f"example-{uuid.uuid4().hex[:12]}"
    task["description"] = description
    body = serialize(envelope("TASK_CREATED", task, SOURCE, time.time())).encode()
    return body, hmac_headers(SECRET, body, msg_id_for(task), int(time.time()))


def post(
    server: Served, body: bytes, headers: dict[str, str], *, chunked: bool = False
) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        if chunked:
            connection.request(
                "POST",
                "/hook",
                body=iter([body[:100], body[100:]]),
                headers=headers,
                encode_chunked=True,
            )
        else:
            connection.request("POST", "/hook", body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def post_oversized(server: Served, body: bytes, headers: dict[str, str]) -> int:
    """Send a whole large body as a sender would, reading the answer while sending."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.putrequest("POST", "/hook")
    for name, value in {**headers, "Content-Length": str(len(body))}.items():
        connection.putheader(name, value)
    connection.endheaders()
    assert connection.sock is not None

    def send() -> None:
        try:
            connection.sock.sendall(body)  # type: ignore[union-attr]
        except OSError:
            pass  # the server answered and closed before reading it all: expected

    sender = threading.Thread(target=send)
    sender.start()
    try:
        return connection.getresponse().status
    finally:
        sender.join(timeout=30)
        connection.close()


def handled_count(server: Served, msg_id: str) -> int:
    return server.output().count(f"handled webhook-id={msg_id} ")


def test_good_duplicate_tampered_and_stale(example: tuple[str, Served]) -> None:
    _framework, server = example
    body, headers = delivery()
    assert post(server, body, headers)[0] == 204
    assert post(server, body, headers)[0] == 200  # a duplicate: the sender stops
    assert handled_count(server, headers["webhook-id"]) == 1
    tampered = body.replace(b'"example"', b'"exampl3"')
    status, answer = post(server, tampered, headers)
    assert status == 401 and json.loads(answer)["verdict"] == "InvalidSignatureError"
    old_body, old = delivery()
    stale = hmac_headers(SECRET, old_body, old["webhook-id"], int(time.time()) - 3600)
    status, answer = post(server, old_body, stale)
    assert status == 401 and json.loads(answer)["verdict"] == "StaleTimestampError"
    assert handled_count(server, old["webhook-id"]) == 0


def test_twenty_concurrent_duplicates_are_handled_once(example: tuple[str, Served]) -> None:
    _framework, server = example
    body, headers = delivery()
    statuses: list[int] = []
    start = threading.Barrier(20)

    def send() -> None:
        start.wait()
        statuses.append(post(server, body, headers)[0])

    threads = [threading.Thread(target=send) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(statuses) == 20 and statuses.count(204) == 1, statuses
    assert set(statuses) <= {200, 204, 409}, statuses
    assert handled_count(server, headers["webhook-id"]) == 1


def test_a_chunked_delivery_is_handled_or_refused_with_411(example: tuple[str, Served]) -> None:
    framework, server = example
    body, headers = delivery()
    status, answer = post(server, body, headers, chunked=True)
    expected = 411 if framework == "django" else 204  # Django under WSGI drops the body
    assert status == expected, answer
    assert handled_count(server, headers["webhook-id"]) == (1 if status == 204 else 0)
    if status == 411:
        assert json.loads(answer)["verdict"] == "LengthRequired"
        assert post(server, body, headers)[0] == 204  # the same delivery, with a length


def test_an_oversized_delivery_is_refused_with_413(example: tuple[str, Served]) -> None:
    _framework, server = example
    body, headers = delivery("x" * (2 * 1024 * 1024))  # valid and signed, just too large
    assert post_oversized(server, body, headers) == 413
    assert handled_count(server, headers["webhook-id"]) == 0
