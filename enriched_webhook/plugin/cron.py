"""One cron tick: retention, catch-up, pending reads, then due deliveries, within a budget.

A tick may fire twice in a minute or skip one, and two may overlap: every step is
idempotent (rows are claimed before they are touched; catch-up only adds missing rows;
retention only deletes what is old). Before each network step but the tick's first, the
tick checks that the step's worst case still fits in CRON_TIME_BUDGET (25 s by default), so
a tick lasts at most its budget plus one step's worst case. Task reads may use half the
budget, so a slow FHIR API never starves the deliveries behind it. Due rows go oldest
first. With the breaker open, a tick sends one probe; if the receiver answers, the backlog
is released and sent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..models.outbox import WebhookDelivery
from . import breaker
from .catch_up import catch_up
from .config import PluginSettings
from .delivery import attempt
from .fhir_client import FhirTaskReader
from .intake import complete_read
from .outbox_store import claim, delete_rows, new_claim_token

BATCH = 50
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
    """Delivered and failed rows older than RETENTION_DAYS go, attempts and bodies with them."""
    cutoff = now - settings.delivery.retention_days * 86400
    old = list(
        WebhookDelivery.objects.filter(state="delivered", delivered_at__lt=cutoff).values_list(
            "webhook_id", flat=True
        )[:MAX_DELETES_PER_TICK]
    )
    old += list(
        WebhookDelivery.objects.filter(state="failed", created_at__lt=cutoff).values_list(
            "webhook_id", flat=True
        )[:MAX_DELETES_PER_TICK]
    )
    return delete_rows(old)


def _due(states: list[str], now: float) -> list[int]:
    return list(
        WebhookDelivery.objects.filter(state__in=states, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "dbid")
        .values_list("dbid", flat=True)[:BATCH]
    )


def _fits(report: TickReport, cost: float, deadline: float) -> bool:
    """Whether a step whose worst case is `cost` still fits; the tick's first always does."""
    if report.read == 0 and report.attempted == 0:
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
    read_cost = sum(settings.delivery.fhir_timeouts) * 2
    send_cost = sum(settings.delivery.retry_timeouts)
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

    probing = breaker.view(settings, time.time()).opened
    while True:
        due = _due(["pending"], time.time())
        if not due:
            break
        claimed = 0
        for dbid in due:
            if not _fits(report, send_cost, deadline):
                report.stopped_by_budget = True
                return report
            if not claim(dbid, ("pending",), time.time(), claim_for, token):
                continue  # another tick or a resend holds it
            claimed += 1
            row = WebhookDelivery.objects.get(dbid=dbid)
            outcome = attempt(settings, row, token, settings.delivery.retry_timeouts)
            report.attempted = report.attempted + 1
            if outcome.state == "delivered":
                report.delivered = report.delivered + 1
            elif outcome.state == "failed":
                report.failed = report.failed + 1
            else:
                report.retried = report.retried + 1
            if probing:
                probing = False
                if breaker.view(settings, time.time()).opened:
                    report.breaker = "open"
                    return report
                report.breaker = "closed-by-probe"
        if len(due) < BATCH or claimed == 0:
            break
    if breaker.view(settings, time.time()).opened:
        report.breaker = "open"
    return report
