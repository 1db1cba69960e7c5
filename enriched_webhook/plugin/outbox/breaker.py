"""The circuit breaker: when the receiver is known to be down, stop waiting on it.

After BREAKER_THRESHOLD consecutive attempts without an answer (or with a 5xx or 429),
the breaker opens: new events are only stored, so `compute()` returns in milliseconds
instead of waiting out timeouts on a dead receiver, and each cron tick (once a minute)
sends one probe. The first probe the receiver answers closes it and makes the whole backlog due at
once, so a receiver that comes back gets everything it missed in the next ticks, not at
each row's next scheduled retry (which may be hours away).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError
from django.db.models import F

from ...models.outbox import WebhookDelivery, WebhookReceiverState
from ..config import PluginSettings
from .retry_policy import receiver_is_up
from .sender import SendResult

SUCCESS_STAMP_SECONDS = 60.0
# While open, each cron tick probes: `open_until` says when the next one is expected.
PROBE_INTERVAL_SECONDS = 60.0


@dataclass(frozen=True)
class BreakerView:
    """Where the breaker stands now."""

    opened: bool  # compute() does not attempt; each cron tick sends one probe
    open_until: float | None  # when the next probe is expected (the next tick)


def receiver_key(settings: PluginSettings) -> str:
    """The breaker row of this webhook URL (a digest: the URL may carry a token)."""
    return hashlib.sha256(settings.webhook_url.encode("utf-8")).hexdigest()[:32]


def state_row(settings: PluginSettings) -> Any:
    key = receiver_key(settings)
    row = WebhookReceiverState.objects.filter(receiver=key).first()
    if row is not None:
        return row
    try:
        return WebhookReceiverState.objects.create(receiver=key)
    except IntegrityError:
        return WebhookReceiverState.objects.filter(receiver=key).first()


def view(settings: PluginSettings) -> BreakerView:
    row = WebhookReceiverState.objects.filter(receiver=receiver_key(settings)).first()
    if row is None or row.opened_at is None:
        return BreakerView(False, None)
    return BreakerView(True, row.open_until)


def record(settings: PluginSettings, result: SendResult, now: float) -> bool:
    """Count this attempt's outcome; returns True if it just closed an open breaker."""
    row = state_row(settings)
    rows = WebhookReceiverState.objects.filter(dbid=row.dbid)
    if receiver_is_up(result):
        was_open = row.opened_at is not None
        if was_open or row.consecutive_failures:
            rows.update(consecutive_failures=0, open_until=None, opened_at=None)
        if row.last_success_at is None or now - row.last_success_at > SUCCESS_STAMP_SECONDS:
            rows.update(last_success_at=now)  # at most once a minute: not a write per event
        if was_open:
            # The receiver is back: every waiting row is due now, oldest first.
            WebhookDelivery.objects.filter(state="pending", next_attempt_at__gt=now).update(
                next_attempt_at=now
            )
        return was_open
    rows.update(consecutive_failures=F("consecutive_failures") + 1)
    failures = rows.values_list("consecutive_failures", flat=True).first() or 0
    if failures >= settings.delivery.breaker_threshold:
        opened_at = row.opened_at if row.opened_at is not None else now
        rows.update(open_until=now + PROBE_INTERVAL_SECONDS, opened_at=opened_at)
    return False
