"""Cutting a request's (connect, read) timeouts to what is left of a larger time budget.

A cron tick (CRON_TIME_BUDGET) and a whole Task read (twice FHIR_TIMEOUTS) each bound
several requests together; both cut every request the same way, so no request can outlast
the budget it belongs to.
"""

from __future__ import annotations

import time


def cut_to_deadline(
    timeouts: tuple[float, float], deadline: float, minimum: float
) -> tuple[float, float] | None:
    """`timeouts` cut to what is left before `deadline` (a time.monotonic() value): half of
    it at most to connect, the rest to read; None when less than `minimum` is left."""
    remaining = deadline - time.monotonic()
    if remaining < minimum:
        return None
    connect = min(timeouts[0], remaining / 2)
    return (connect, min(timeouts[1], remaining - connect))
