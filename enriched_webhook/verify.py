"""Receiver library: verify enriched-webhook requests and get a validated FHIR Task back.

    from enriched_webhook.verify import Verifier, WebhookVerificationError

    verifier = Verifier(secrets=["whsec_..."])
    with verifier.process(raw_body, request_headers) as event:
        handle(event.task)

This module is the stable import path; the implementation lives in `receiver/`, one
module per job. It never imports `canvas_sdk`, so it works wherever the wheel's own
dependencies are installed.
"""

from __future__ import annotations

from .receiver.errors import (
    AlreadyHandledError,
    AuthenticationError,
    FutureTimestampError,
    HeaderTooLargeError,
    IdReusedError,
    InProgressError,
    InvalidPayloadError,
    InvalidSignatureError,
    InvalidTaskError,
    InvalidTokenError,
    KeySetUnavailableError,
    MalformedHeaderError,
    MalformedRequestError,
    MissingHeaderError,
    ReplayError,
    ReplayStoreError,
    ServiceUnavailableError,
    StaleTimestampError,
    TimestampError,
    TokenExpiredError,
    UnknownKeyError,
    VerifierConfigError,
    WebhookVerificationError,
)
from .receiver.event import VerifiedEvent
from .receiver.replay import MemoryReplayCache, RedisReplayCache, ReplayCache
from .receiver.verifier import Processing, Verifier

__all__ = [
    "AlreadyHandledError",
    "AuthenticationError",
    "FutureTimestampError",
    "HeaderTooLargeError",
    "IdReusedError",
    "InProgressError",
    "InvalidPayloadError",
    "InvalidSignatureError",
    "InvalidTaskError",
    "InvalidTokenError",
    "KeySetUnavailableError",
    "MalformedHeaderError",
    "MalformedRequestError",
    "MemoryReplayCache",
    "MissingHeaderError",
    "Processing",
    "RedisReplayCache",
    "ReplayCache",
    "ReplayError",
    "ReplayStoreError",
    "ServiceUnavailableError",
    "StaleTimestampError",
    "TimestampError",
    "TokenExpiredError",
    "UnknownKeyError",
    "VerifiedEvent",
    "Verifier",
    "VerifierConfigError",
    "WebhookVerificationError",
]
