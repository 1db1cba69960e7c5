"""Every status class the README and docs/wire-format.md promise, and what the outbox does.

The promise ("What ends a row", and the wire format's status table): 2xx delivered; 400,
401, 403, 404, 410, 413, 422 failed after that one attempt; everything else (no answer,
timeouts, 3xx, 408, 409, 425, 429, 5xx, other 4xx) retried on the schedule, at least as late
as a Retry-After in seconds asks (at most a day); after the schedule's last entry, failed.
The table drives `verdict`; the second half sends real requests to a server on 127.0.0.1,
so the status, Retry-After and error kind come from `sender.post` as a tick gets them.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from urllib.parse import parse_qs, urlsplit

import pytest

from enriched_webhook.plugin.outbox.retry_policy import (
    Verdict,
    next_read_at,
    receiver_is_up,
    verdict,
)
from enriched_webhook.plugin.outbox.sender import (
    MAX_RETRY_AFTER_SECONDS,
    SendResult,
    post,
    retry_after_seconds,
)
from enriched_webhook.shared.delivery_contract import DEFAULT_RETRY_SCHEDULE, PERMANENT_STATUSES

NOW = 1_800_000_000.0
SCHEDULE = DEFAULT_RETRY_SCHEDULE
DAY = 86400.0

DELIVERED = [200, 201, 202, 204, 299]
REFUSED = [400, 401, 403, 404, 410, 413, 422]
RETRIED = [
    *(301, 302, 304, 307, 308),  # a redirect is never followed
    *(408, 409, 425, 429),
    *(500, 501, 502, 503, 504, 599),
    *(402, 405, 406, 411, 415, 418, 451),  # any other 4xx
]


def answered(status: int, retry_after: float | None = None) -> SendResult:
    error = "" if 200 <= status < 300 else f"http-{status}"
    return SendResult(status, error, 12.5, retry_after)


def test_the_refused_statuses_are_exactly_the_documented_ones() -> None:
    assert frozenset(REFUSED) == PERMANENT_STATUSES


@pytest.mark.parametrize("status", DELIVERED)
def test_2xx_delivers_the_row(status: int) -> None:
    assert verdict(answered(status), 1, SCHEDULE, NOW) == Verdict("delivered", None)
    # Even on the schedule's last attempt, and whatever Retry-After says.
    last = len(SCHEDULE) + 1
    assert verdict(answered(status, 600.0), last, SCHEDULE, NOW) == Verdict("delivered", None)


@pytest.mark.parametrize("status", REFUSED)
def test_a_refusal_fails_the_row_after_one_attempt(status: int) -> None:
    found = verdict(answered(status, 60.0), 1, SCHEDULE, NOW)
    assert found == Verdict("failed", None, f"refused by the receiver (http-{status})")


@pytest.mark.parametrize("status", RETRIED)
def test_everything_else_is_retried_on_the_schedule(status: int) -> None:
    assert verdict(answered(status), 1, SCHEDULE, NOW) == Verdict("pending", NOW + SCHEDULE[0])
    assert verdict(answered(status), 4, SCHEDULE, NOW) == Verdict("pending", NOW + SCHEDULE[3])


@pytest.mark.parametrize("error", ["timeout", "connection-error", "request-error"])
def test_no_answer_is_retried_on_the_schedule(error: str) -> None:
    result = SendResult(None, error, 3000.0)
    assert verdict(result, 1, SCHEDULE, NOW) == Verdict("pending", NOW + SCHEDULE[0])
    assert not receiver_is_up(result)


def test_each_attempt_waits_its_schedule_entry_and_the_last_one_ends_failed() -> None:
    """13 attempts: 12 retries wait 1 min, 5 min, 30 min, 2 h, 5 h, then 10 h each."""
    waits = []
    for attempt in range(1, len(SCHEDULE) + 1):
        found = verdict(answered(503), attempt, SCHEDULE, NOW)
        assert found.state == "pending" and found.next_attempt_at is not None
        waits.append(found.next_attempt_at - NOW)
    assert waits == [60, 300, 1800, 7200, 18000, *([36000] * 7)]
    last = len(SCHEDULE) + 1
    assert last == 13
    assert verdict(answered(503), last, SCHEDULE, NOW) == Verdict(
        "failed", None, "retries exhausted (http-503)"
    )
    # No answer at all, and a Retry-After, end it the same way.
    assert verdict(SendResult(None, "timeout", 1.0), last, SCHEDULE, NOW).state == "failed"
    assert verdict(answered(429, 60.0), last, SCHEDULE, NOW).state == "failed"
    # A configured RETRY_SCHEDULE is followed the same way.
    assert verdict(answered(500), 2, (1.0, 2.0), NOW) == Verdict("pending", NOW + 2.0)
    assert verdict(answered(500), 3, (1.0, 2.0), NOW).state == "failed"


@pytest.mark.parametrize("status", [408, 425, 429, 500, 503, 301])
def test_a_longer_retry_after_is_honoured_and_a_shorter_one_never_hastens(status: int) -> None:
    longer = verdict(answered(status, 3600.0), 1, SCHEDULE, NOW)
    assert longer == Verdict("pending", NOW + 3600.0)
    shorter = verdict(answered(status, 5.0), 2, SCHEDULE, NOW)
    assert shorter == Verdict("pending", NOW + SCHEDULE[1])


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 7200 ", 7200.0),
        ("0", 0.0),
        ("86400", DAY),
        ("86401", DAY),  # at most a day
        ("999999999", DAY),
        ("9999999999", DAY),  # ten digits and more: still the cap, not ignored
        ("\u00b2", None),  # str.isdigit() passes a superscript two; int() would not
        ("\u0661\u0662\u0660", None),  # Arabic-Indic 120: only ASCII digits count
        ("Wed, 21 Oct 2026 07:28:00 GMT", None),  # an HTTP-date is not honoured
        ("-5", None),
        ("1.5", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_is_read_in_seconds_and_capped_at_a_day(
    header: str | None, seconds: float | None
) -> None:
    assert MAX_RETRY_AFTER_SECONDS == DAY
    assert retry_after_seconds(header) == seconds


@pytest.mark.parametrize(
    ("status", "up"),
    [
        *((status, True) for status in (204, 400, 404, 409, 302)),
        *((status, False) for status in (429, 500, 503, 599)),
    ],
)
def test_the_breaker_counts_5xx_and_429_as_down_and_any_other_answer_as_up(
    status: int, up: bool
) -> None:
    assert receiver_is_up(answered(status)) is up


def test_task_reads_follow_the_same_schedule_and_end_when_it_is_spent() -> None:
    assert next_read_at(1, SCHEDULE, NOW) == NOW + 60
    assert next_read_at(len(SCHEDULE), SCHEDULE, NOW) == NOW + 36000
    assert next_read_at(len(SCHEDULE) + 1, SCHEDULE, NOW) is None


# Real requests: what `post` makes of a live answer, a refused connection and silence.


class Answering(BaseHTTPRequestHandler):
    """Answers POST /<status>?retry_after=<value> with that status and header.

    A 3xx points at /204: a sender that followed it would see a delivery.
    """

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        parts = urlsplit(self.path)
        status = int(parts.path.strip("/"))
        self.send_response(status)
        if 300 <= status < 400:
            self.send_header("Location", "/204")
        for value in parse_qs(parts.query).get("retry_after", []):
            self.send_header("Retry-After", value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Answering)
    thread = Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def send(url: str) -> SendResult:
    return post(url, {"Content-Type": "application/json"}, '{"x":1}', (1.0, 1.0))


@pytest.mark.parametrize(
    ("path", "state", "wait"),
    [
        ("/204", "delivered", None),
        ("/200?retry_after=600", "delivered", None),
        ("/410", "failed", None),
        ("/413", "failed", None),
        ("/503", "pending", SCHEDULE[0]),
        ("/503?retry_after=900", "pending", 900.0),
        ("/429?retry_after=999999", "pending", DAY),
        ("/429?retry_after=Wed, 21 Oct 2026 07:28:00 GMT", "pending", SCHEDULE[0]),
        ("/302", "pending", SCHEDULE[0]),
        ("/307", "pending", SCHEDULE[0]),
        ("/408", "pending", SCHEDULE[0]),
    ],
)
def test_a_live_answer_is_classified_as_promised(
    server_url: str, path: str, state: str, wait: float | None
) -> None:
    result = send(server_url + path)
    found = verdict(result, 1, SCHEDULE, NOW)
    assert found.state == state
    assert found.next_attempt_at == (None if wait is None else NOW + wait)
    assert result.status == int(path[1:4])


def test_a_refused_connection_is_retried() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = send(f"http://127.0.0.1:{port}/hook")  # nothing listens there now
    assert (result.status, result.error) == (None, "connection-error")
    assert verdict(result, 1, SCHEDULE, NOW) == Verdict("pending", NOW + SCHEDULE[0])


def test_a_receiver_that_never_answers_is_a_timeout_and_retried() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # the connection completes; nobody ever reads or answers
        result = send(f"http://127.0.0.1:{silent.getsockname()[1]}/hook")
    assert (result.status, result.error) == (None, "timeout")
    assert verdict(result, 1, SCHEDULE, NOW) == Verdict("pending", NOW + SCHEDULE[0])
