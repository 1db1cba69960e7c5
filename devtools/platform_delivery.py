"""Executes an HttpRequestEffect as the Canvas platform does, for local runs.

On Canvas the platform's async runner sends the request and retries it on the listed
status codes up to `max_retries` times, with the headers computed in `compute()`. Here
the same contract runs in-process with short waits, so retries can be tested quickly:
the body string is sent as is (UTF-8), and nothing is re-signed between attempts.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from .runner import EmittedEffect

HTTP_REQUEST_EFFECT = "HTTP_REQUEST"
# The platform's own default when max_retries is not given is not documented; the
# plugin always gives one, so this only applies to foreign effects.
DEFAULT_MAX_RETRIES = 0


class NotAnHttpRequestError(ValueError):
    """The effect is not an HttpRequestEffect."""


@dataclass
class DeliveryResult:
    """Every attempt's status (0: no answer) and whether the last one succeeded."""

    statuses: list[int] = field(default_factory=list)

    @property
    def delivered(self) -> bool:
        return bool(self.statuses) and 200 <= self.statuses[-1] < 300


def send_once(url: str, method: str, headers: dict[str, str], body: bytes, timeout: float) -> int:
    if not url.startswith(("http://", "https://")):
        return 0
    request = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except (urllib.error.URLError, TimeoutError, ConnectionError):
        return 0


def execute(
    effect: EmittedEffect, retry_wait: float = 0.05, timeout: float = 10.0
) -> DeliveryResult:
    """Send the effect's request; retry on its `retry_on_status_codes`, like the platform."""
    if effect.type != HTTP_REQUEST_EFFECT:
        raise NotAnHttpRequestError("effect is " + effect.type + ", not " + HTTP_REQUEST_EFFECT)
    data = effect.payload["data"]
    props = effect.payload.get("async_props") or {}
    retry_on = set(props.get("retry_on_status_codes") or data.get("retry_on_status_codes") or [])
    max_retries = int(props.get("max_retries", DEFAULT_MAX_RETRIES))
    body = str(data.get("body") or "").encode("utf-8")
    result = DeliveryResult()
    for attempt in range(max_retries + 1):
        status = send_once(data["url"], data["method"], dict(data["headers"]), body, timeout)
        result.statuses.append(status)
        if status not in retry_on:
            break
        if attempt < max_retries:
            time.sleep(retry_wait * (2**attempt))
    return result
