"""The outbox's tables: one row per event occurrence, its attempts, its body, the receiver.

Why these shapes:
- `WebhookDelivery` is keyed by the `webhook-id` (a unique constraint), so the same event
  twice makes one row however often Canvas sends it. Times are Unix seconds (floats): the
  same arithmetic on SQLite and Postgres, no time-zone setting involved.
- The exact signed body lives in `WebhookBodyPart` rows (at most `BODY_PART_CHARS` each),
  because a text field holds at most 1 MB and a Task with large notes can exceed that;
  every attempt sends the same bytes. The parts are deleted once the row is delivered
  (they are PHI); the delivery row keeps ids, times and outcomes only.
- `WebhookAttempt` is the log of every attempt: time, status, latency, error kind. Its
  unique (webhook_id, number) makes a second send of the same attempt impossible to record.
- `WebhookReceiverState` holds the circuit breaker for one webhook URL.
No row ever holds Task content outside the body parts, nor a secret or a token.
"""

from __future__ import annotations

from canvas_sdk.v1.data.base import CustomModel
from django.db.models import (
    BigIntegerField,
    CharField,
    FloatField,
    Index,
    IntegerField,
    TextField,
    UniqueConstraint,
)

# A text field holds at most 1,000,000 characters (MAX_FIELD_SIZE); parts stay well under.
BODY_PART_CHARS = 500_000
# A row's `state`: the API's and the page's filters accept exactly these.
STATES = ("reading", "pending", "delivered", "failed")


class WebhookDelivery(CustomModel):
    """One event occurrence and where its delivery stands."""

    class Meta:
        constraints = [UniqueConstraint(fields=["webhook_id"], name="uq_webhook_delivery_id")]
        indexes = [
            Index(fields=["state", "next_attempt_at"]),
            Index(fields=["task_id"]),
            Index(fields=["created_at"]),
        ]

    webhook_id = CharField(max_length=64)
    event = CharField(max_length=32)
    event_type = CharField(max_length=32)
    task_id = CharField(max_length=64)
    # reading: the Task is still to be read; pending: due at next_attempt_at;
    # delivered and failed are final (a resend makes a failed row pending again).
    state = CharField(max_length=16)
    attempts = IntegerField(default=0)
    # `attempts` when the current run of the schedule began (0, or when it was resent).
    schedule_start = IntegerField(default=0)
    read_attempts = IntegerField(default=0)
    next_attempt_at = FloatField(null=True)
    claimed_until = FloatField(null=True)
    claim_token = CharField(max_length=32, default="")
    last_status = IntegerField(null=True)
    last_error = CharField(max_length=120, default="")
    last_latency_ms = FloatField(null=True)
    created_at = FloatField()
    delivered_at = FloatField(null=True)
    # When an operator last asked for a resend: a second ask right after is the same ask.
    resent_at = FloatField(null=True)
    content_type = CharField(max_length=64, default="application/json")
    body_parts = IntegerField(default=0)
    # Increases with each new row; the FHIR notification format carries it.
    event_number = BigIntegerField(default=0)
    # How the row came to be: event, catch-up, backfill, ping.
    origin = CharField(max_length=16, default="event")


class WebhookBodyPart(CustomModel):
    """One slice of an undelivered row's exact signed body."""

    class Meta:
        constraints = [UniqueConstraint(fields=["webhook_id", "part"], name="uq_webhook_body_part")]

    webhook_id = CharField(max_length=64)
    part = IntegerField()
    text = TextField()


class WebhookAttempt(CustomModel):
    """One attempt: a send (phase `send`) or a Task read that failed (phase `read`)."""

    class Meta:
        constraints = [
            UniqueConstraint(fields=["webhook_id", "number", "phase"], name="uq_webhook_attempt")
        ]
        indexes = [Index(fields=["started_at"])]

    webhook_id = CharField(max_length=64)
    number = IntegerField()
    phase = CharField(max_length=8, default="send")
    started_at = FloatField()
    status = IntegerField(null=True)
    latency_ms = FloatField(null=True)
    error = CharField(max_length=120, default="")
    outcome = CharField(max_length=16, default="")


class WebhookReceiverState(CustomModel):
    """The circuit breaker of one receiver (keyed by a digest of its URL)."""

    class Meta:
        constraints = [UniqueConstraint(fields=["receiver"], name="uq_webhook_receiver")]

    receiver = CharField(max_length=64)
    consecutive_failures = IntegerField(default=0)
    open_until = FloatField(null=True)
    opened_at = FloatField(null=True)
    last_success_at = FloatField(null=True)
