"""What an attempt's outcome means for the row: delivered, retry later (when), or failed.

2xx ends a row as delivered. The receiver refusing the request itself (400, 401, 403,
404, 410, 413, 422) ends it as failed at once: sending the same bytes again cannot
succeed, and an operator can resend after fixing the cause. Everything else (no answer,
timeouts, 408, 409, 425, 429, 5xx, a redirect) is retried on the schedule, at least as
late as a Retry-After asks, until the schedule is spent.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...shared.delivery_contract import PERMANENT_STATUSES
from .sender import SendResult


@dataclass(frozen=True)
class Verdict:
    """The row's next state and, for a retry, when it is due."""

    state: str  # delivered | pending | failed
    next_attempt_at: float | None
    reason: str = ""


def receiver_is_up(result: SendResult) -> bool:
    """For the circuit breaker: the receiver answered, and not with a server-side failure."""
    return result.status is not None and result.status < 500 and result.status != 429


def verdict(
    result: SendResult, attempts_in_run: int, schedule: tuple[float, ...], now: float
) -> Verdict:
    """`attempts_in_run` counts this attempt: 1 after the first attempt of a run."""
    if result.delivered:
        return Verdict("delivered", None)
    if result.status in PERMANENT_STATUSES:
        return Verdict("failed", None, "refused by the receiver (" + result.error + ")")
    if attempts_in_run > len(schedule):
        return Verdict("failed", None, "retries exhausted (" + result.error + ")")
    delay = schedule[attempts_in_run - 1]
    if result.retry_after is not None and result.retry_after > delay:
        delay = result.retry_after
    return Verdict("pending", now + delay)


# A Task still not found after this many reads (the event's own, which already retries for
# about a second, then the schedule's first two: 1 and 5 minutes later by default) is gone:
# deleted, or never visible to this plugin's FHIR client. Waiting days for it helps nobody.
GONE_AFTER_READS = 3


def next_read_at(
    read_attempts: int, schedule: tuple[float, ...], now: float, status: int | None = None
) -> float | None:
    """When to read a Task again after `read_attempts` failed reads (the last answered
    `status`); None when spent, or when the Task is gone."""
    if read_attempts > len(schedule) or task_gone(read_attempts, status):
        return None
    return now + schedule[read_attempts - 1]


def task_gone(read_attempts: int, status: int | None) -> bool:
    """Still not found after GONE_AFTER_READS reads: gone, not late."""
    return status == 404 and read_attempts >= GONE_AFTER_READS
