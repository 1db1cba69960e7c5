"""One HTTP attempt at the receiver, bounded, and what it tells the outbox.

Every attempt is a fresh POST of the stored body with fresh signature headers, through
`requests` with a (connect, read) timeout: Canvas's HttpRequestEffect reports no outcome,
and its `Http` helper cannot bound a wait below 30 s. Redirects are not followed (a
webhook URL that redirects is misconfigured; following it could carry PHI elsewhere).
The receiver's response body is never read: only its status, latency and `Retry-After`.
An error is recorded as a kind (`timeout`, `connection-error`, `http-503`), never as text
the receiver or the network produced.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import requests
from canvas_sdk.utils.http import ThreadPoolExecutor

# At most this long is honoured from a Retry-After, so one header cannot park a row for ever.
MAX_RETRY_AFTER_SECONDS = 86400.0


@dataclass(frozen=True)
class SendResult:
    """What one attempt got: a status (None if no answer), an error kind, latency, Retry-After."""

    status: int | None
    error: str
    latency_ms: float
    retry_after: float | None = None

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After given in seconds, at most a day; an HTTP-date or junk is ignored (the
    schedule applies). Only ASCII digits count: `str.isdigit` also passes `²`, which `int`
    refuses."""
    if not value:
        return None
    text = value.strip()
    if not (text.isascii() and text.isdigit()):
        return None
    if len(text) > 9:  # more than 31 years: the cap, without converting a huge number
        return MAX_RETRY_AFTER_SECONDS
    return min(float(int(text)), MAX_RETRY_AFTER_SECONDS)


def post(url: str, headers: dict[str, str], body: str, timeouts: tuple[float, float]) -> SendResult:
    """POST exactly `body` (UTF-8; it is ASCII) and classify the outcome."""
    started = time.perf_counter()
    try:
        response = requests.post(
            url,
            data=body.encode("utf-8"),
            headers=headers,
            timeout=timeouts,
            allow_redirects=False,
            stream=True,
        )
    except requests.exceptions.Timeout:
        return SendResult(None, "timeout", (time.perf_counter() - started) * 1000)
    except requests.exceptions.ConnectionError:
        return SendResult(None, "connection-error", (time.perf_counter() - started) * 1000)
    except requests.exceptions.RequestException:
        return SendResult(None, "request-error", (time.perf_counter() - started) * 1000)
    latency = (time.perf_counter() - started) * 1000
    status = int(response.status_code)
    retry_after = retry_after_seconds(response.headers.get("Retry-After"))
    response.close()
    error = "" if 200 <= status < 300 else "http-" + str(status)
    return SendResult(status, error, latency, retry_after)


def post_all(
    url: str,
    requests_to_send: list[tuple[dict[str, str], str]],
    timeouts: tuple[float, float],
    workers: int,
) -> list[SendResult]:
    """POST each (headers, body) at once, `workers` at a time; results in the same order.

    The cron tick sends a backlog this way so a slow receiver (200 ms an answer) does not
    cost 200 ms a row; every request keeps its own (connect, read) bound, and the caller
    records the outcomes afterwards, on its own thread (the database is not touched here).
    """
    if len(requests_to_send) <= 1 or workers <= 1:
        return [post(url, headers, body, timeouts) for headers, body in requests_to_send]
    executor = ThreadPoolExecutor(max_workers=min(workers, len(requests_to_send)))
    try:
        futures = [
            executor.submit(post, url, headers, body, timeouts)
            for headers, body in requests_to_send
        ]
        return [future.result() for future in futures]
    finally:
        executor.shutdown(wait=True)
