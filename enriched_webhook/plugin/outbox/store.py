"""Rows in and out of the outbox: create, claim, body parts, attempts, release.

A claim is a conditional UPDATE (`claimed_until` empty or past, state as expected) whose
row count says who won: it works the same on Postgres and SQLite and needs no row lock,
so two overlapping cron ticks, or a tick and a resend, never attempt the same row at once.
A claim lapses by itself (`DeliverySettings.claim_seconds`), so a runner killed mid-attempt
leaves nothing stuck: the row is attempted again after the lapse, with the same id.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.db import IntegrityError
from django.db.models import Q
from django.db.transaction import atomic

from ...models.outbox import BODY_PART_CHARS, WebhookAttempt, WebhookBodyPart, WebhookDelivery

READ_ID_PREFIX = "read_"


def new_claim_token() -> str:
    return secrets.token_hex(8)


def read_row_id(event_name: str, task_id: str) -> str:
    """The key of a row whose Task is still to be read (its webhook-id needs the Task)."""
    digest = hashlib.sha256((event_name + ":" + task_id).encode("utf-8")).hexdigest()
    return READ_ID_PREFIX + digest[:32]


def find(webhook_id: str) -> Any:
    return WebhookDelivery.objects.filter(webhook_id=webhook_id).first()


def create_row(fields: dict[str, Any]) -> Any:
    """A new row, or None if a row with this webhook_id exists (the same event again)."""
    try:
        with atomic():  # a savepoint when called inside a transaction
            return WebhookDelivery.objects.create(**fields)
    except IntegrityError:
        return None


def claim(dbid: int, states: tuple[str, ...], now: float, seconds: float, token: str) -> bool:
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    count = (
        WebhookDelivery.objects.filter(dbid=dbid, state__in=list(states))
        .filter(free)
        .update(claimed_until=now + seconds, claim_token=token)
    )
    return bool(count == 1)


def renew(dbids: list[int], token: str, now: float, seconds: float) -> set[int]:
    """Extend this claim on `dbids` just before their requests go out; the ids still held.

    A tick claims a batch at once and sends it a few rows at a time: a row further down the
    batch may wait longer than its claim lasts, and another tick (or a resend) may have
    claimed it since. Only the rows this token still holds are sent, each once.
    """
    WebhookDelivery.objects.filter(dbid__in=dbids, claim_token=token).update(
        claimed_until=now + seconds
    )
    held = WebhookDelivery.objects.filter(dbid__in=dbids, claim_token=token)
    return set(held.values_list("dbid", flat=True))


def update_claimed(dbid: int, token: str, fields: dict[str, Any]) -> bool:
    """Apply `fields` only if this claim still holds; releases the claim."""
    fields = dict(fields, claimed_until=None, claim_token="")
    count = WebhookDelivery.objects.filter(dbid=dbid, claim_token=token).update(**fields)
    return bool(count == 1)


def store_body(webhook_id: str, body: str) -> int:
    """Write the body in parts; returns the number of parts."""
    WebhookBodyPart.objects.filter(webhook_id=webhook_id).delete()
    parts = [
        body[start : start + BODY_PART_CHARS] for start in range(0, len(body), BODY_PART_CHARS)
    ]
    for index, text in enumerate(parts or [""]):
        WebhookBodyPart.objects.create(webhook_id=webhook_id, part=index, text=text)
    return len(parts or [""])


def load_body(webhook_id: str) -> str | None:
    """The stored body, or None if a part is missing (never send a partial body)."""
    rows = list(
        WebhookBodyPart.objects.filter(webhook_id=webhook_id)
        .order_by("part")
        .values_list("part", "text")
    )
    if not rows or [row[0] for row in rows] != list(range(len(rows))):
        return None
    return "".join(row[1] for row in rows)


def delete_body(webhook_id: str) -> None:
    WebhookBodyPart.objects.filter(webhook_id=webhook_id).delete()


def record_attempt(fields: dict[str, Any]) -> bool:
    """Log one attempt; False if that attempt number was already logged (never twice)."""
    try:
        with atomic():
            WebhookAttempt.objects.create(**fields)
    except IntegrityError:
        return False
    return True


def delete_rows(webhook_ids: list[str]) -> int:
    """Remove rows with their attempts and body parts (retention, merged duplicates)."""
    if not webhook_ids:
        return 0
    WebhookBodyPart.objects.filter(webhook_id__in=webhook_ids).delete()
    WebhookAttempt.objects.filter(webhook_id__in=webhook_ids).delete()
    deleted = WebhookDelivery.objects.filter(webhook_id__in=webhook_ids).delete()
    return int(deleted[0]) if deleted else 0
