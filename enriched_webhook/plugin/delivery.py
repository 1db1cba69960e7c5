"""Turns a signed request into the effect that makes Canvas send it, and retry it.

The platform executes `HttpRequestEffect` asynchronously and retries on the listed
status codes, with the headers computed in `compute()`. A retry that arrives later than
the receiver's tolerance is refused as stale, so receivers size their tolerance to the
retry horizon (README: "Delivery and retries").
"""

from __future__ import annotations

from canvas_sdk.effects import Effect
from canvas_sdk.effects.http_request import HttpRequestEffect

# Timeouts, rate limits and transient server errors: worth sending the same bytes again.
# 409 too: a receiver using the library answers 409 while another of its workers holds the
# same event id, and that worker may yet fail and release it, so the event must come again.
RETRY_ON_STATUS_CODES = [408, 409, 429, 500, 502, 503, 504]
MAX_RETRIES = 3


def delivery_effect(url: str, headers: dict[str, str], body: str) -> Effect:
    """A POST of exactly `body`, the string that was signed."""
    request = HttpRequestEffect(
        url=url,
        method="POST",
        headers=headers,
        body=body,
        retry_on_status_codes=RETRY_ON_STATUS_CODES,
    )
    return request.apply().set_async(delay_seconds=0, max_retries=MAX_RETRIES)
