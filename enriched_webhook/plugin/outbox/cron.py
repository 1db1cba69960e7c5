"""One cron tick: retention, catch-up, pending reads, then due deliveries, within a budget.

A tick may fire twice in a minute or skip one, and two may overlap: every step is
idempotent (rows are claimed before they are touched; catch-up only adds missing rows;
retention only deletes what is old). Task reads may use half of CRON_TIME_BUDGET (25 s by
default; the first read always runs, then each must fit its worst case), so a slow FHIR API
never starves the deliveries behind it. Due rows are then claimed in batches, oldest first,
and sent DELIVERY_CONCURRENCY at a time, each request's timeouts cut to what is left of the
budget and none started with less than 2 s left: sending never overruns the budget, and a
request cut short is retried like any timeout. With the breaker open, a tick sends one
probe; if the receiver answers, the backlog is released and sent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from ...models.outbox import WebhookAttempt, WebhookDelivery
from ..config import PluginSettings
from ..fhir_client import FhirTaskReader
from ..time_budget import cut_to_deadline
from . import breaker
from .catch_up import catch_up
from .delivery import finish, prepare
from .intake import complete_read
from .sender import post_all
from .store import claim, delete_rows, new_claim_token, renew

BATCH = 50
# A request is not started with less than this left of the tick's budget.
MIN_SEND_SECONDS = 2.0
MAX_DELETES_PER_TICK = 500


@dataclass
class TickReport:
    """What one tick did, for its log line."""

    caught_up: int = 0
    read: int = 0
    attempted: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    deleted: int = 0
    breaker: str = "closed"
    stopped_by_budget: bool = False

    def log_fields(self) -> str:
        return (
            "caught_up="
            + str(self.caught_up)
            + " read="
            + str(self.read)
            + " attempted="
            + str(self.attempted)
            + " delivered="
            + str(self.delivered)
            + " retried="
            + str(self.retried)
            + " failed="
            + str(self.failed)
            + " deleted="
            + str(self.deleted)
            + " breaker="
            + self.breaker
            + " budget_spent="
            + ("yes" if self.stopped_by_budget else "no")
        )


def retention(settings: PluginSettings, now: float) -> int:
    """Delivered and failed rows older than RETENTION_DAYS go, attempts and bodies with them.

    A delivered row counts from its delivery; a failed one from its last attempt (or
    resend), so a row that failed, or was resent and failed again, only yesterday stays
    visible and resendable for the whole period, however old the event.
    """
    cutoff = now - settings.delivery.retention_days * 86400
    old = list(
        WebhookDelivery.objects.filter(state="delivered", delivered_at__lt=cutoff).values_list(
            "webhook_id", flat=True
        )[:MAX_DELETES_PER_TICK]
    )
    recent = WebhookAttempt.objects.filter(started_at__gte=cutoff).values_list("webhook_id")
    failed = (
        WebhookDelivery.objects.filter(state="failed", created_at__lt=cutoff)
        .exclude(resent_at__gte=cutoff)
        .exclude(webhook_id__in=recent)
    )
    old += list(failed.values_list("webhook_id", flat=True)[:MAX_DELETES_PER_TICK])
    return delete_rows(old)


def _due(states: list[str], now: float) -> list[int]:
    return list(
        WebhookDelivery.objects.filter(state__in=states, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "dbid")
        .values_list("dbid", flat=True)[:BATCH]
    )


def _fits(report: TickReport, cost: float, deadline: float) -> bool:
    """Whether a read whose worst case is `cost` still fits; the tick's first always does."""
    if report.read == 0:
        return True
    return time.monotonic() + cost <= deadline


def run_tick(settings: PluginSettings) -> TickReport:
    report = TickReport()
    started = time.monotonic()
    deadline = started + settings.delivery.tick_budget_seconds
    reads_deadline = started + settings.delivery.tick_budget_seconds / 2
    now = time.time()
    report.deleted = retention(settings, now)
    report.caught_up = catch_up(settings, now)
    reader = FhirTaskReader(settings)
    # A read's worst case: the Task read's budget, then the INCLUDE reads' budget if any.
    read_cost = settings.delivery.read_budget_seconds + (
        settings.payload.include_budget_seconds if settings.payload.includes else 0.0
    )
    token = new_claim_token()
    claim_for = settings.delivery.claim_seconds

    for dbid in _due(["reading"], now):
        if not _fits(report, read_cost, reads_deadline):
            report.stopped_by_budget = True
            break
        if not claim(dbid, ("reading",), time.time(), claim_for, token):
            continue
        row = WebhookDelivery.objects.get(dbid=dbid)
        report.read = report.read + 1
        complete_read(settings, row, reader, time.time(), token)
        # A stored row stays claimed by this tick's token; the send loop below takes it.
        WebhookDelivery.objects.filter(dbid=dbid, claim_token=token).update(
            claimed_until=None, claim_token=""
        )

    _send_due(settings, report, token, deadline)
    if breaker.view(settings).opened:
        report.breaker = "open"
    return report


def _claim_batch(limit: int, claim_for: float, token: str) -> list[Any]:
    """Claim up to `limit` due pending rows in one statement; the rows this tick now holds."""
    now = time.time()
    ids = _due(["pending"], now)[:limit]
    if not ids:
        return []
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    WebhookDelivery.objects.filter(dbid__in=ids, state="pending").filter(free).update(
        claimed_until=now + claim_for, claim_token=token
    )
    return list(
        WebhookDelivery.objects.filter(dbid__in=ids, claim_token=token).order_by(
            "next_attempt_at", "dbid"
        )
    )


def _send_due(settings: PluginSettings, report: TickReport, token: str, deadline: float) -> None:
    """Send due rows, oldest first, `DELIVERY_CONCURRENCY` at a time, until the budget ends.

    With the breaker open the first request is a lone probe; if the receiver does not
    answer it, nothing else is sent this tick. Rows claimed but not sent are released.
    """
    probing = breaker.view(settings).opened
    claim_for = settings.delivery.claim_seconds
    try:
        while True:
            width = 1 if probing else settings.delivery.concurrency
            rows = _claim_batch(width if probing else BATCH, claim_for, token)
            if not rows:
                return
            for start in range(0, len(rows), width):
                timeouts = cut_to_deadline(
                    settings.delivery.retry_timeouts, deadline, MIN_SEND_SECONDS
                )
                if timeouts is None:
                    report.stopped_by_budget = True
                    return
                _send_chunk(settings, report, rows[start : start + width], token, timeouts)
                if breaker.view(settings).opened:
                    return  # the receiver is down: the next tick probes (run_tick logs "open")
                if probing:
                    report.breaker = "closed-by-probe"
                    probing = False
                    break  # the backlog was just released: claim afresh, oldest first
    finally:
        WebhookDelivery.objects.filter(claim_token=token, state="pending").update(
            claimed_until=None, claim_token=""
        )


def _send_chunk(
    settings: PluginSettings,
    report: TickReport,
    rows: list[Any],
    token: str,
    timeouts: tuple[float, float],
) -> None:
    held = renew([row.dbid for row in rows], token, time.time(), settings.delivery.claim_seconds)
    ready = []
    for row in rows:
        if row.dbid not in held:
            continue  # its claim lapsed while earlier chunks were sent; another holder has it
        prepared = prepare(settings, row, token)
        if prepared is None:
            report.failed = report.failed + 1
        else:
            ready.append((row, prepared))
    results = post_all(
        settings.webhook_url,
        [(prepared.headers, prepared.body) for _row, prepared in ready],
        timeouts,
        settings.delivery.concurrency,
    )
    for (row, prepared), result in zip(ready, results, strict=True):
        outcome = finish(settings, row, token, prepared, result)
        report.attempted = report.attempted + 1
        if outcome.state == "delivered":
            report.delivered = report.delivered + 1
        elif outcome.state == "failed":
            report.failed = report.failed + 1
        else:
            report.retried = report.retried + 1
