"""Receiver library: verify enriched-webhook requests and get a validated FHIR Task back.

    from enriched_webhook.verify import Verifier, WebhookVerificationError

    verifier = Verifier(secrets=["whsec_..."])
    with verifier.process(raw_body, request_headers) as event:
        handle(event.task)

or, in a web framework, `answer_webhook(verifier, headers, body, handle)`: the status and
body to answer, the same for every framework.

This module is the stable import path; the implementation lives in `receiver/`, one
module per job. It never imports `canvas_sdk`, so it works wherever the wheel's own
dependencies are installed.
"""

from __future__ import annotations

from .receiver.answer import WebhookAnswer, answer_webhook, read_capped
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
from .receiver.jwks_source import RemoteKeySet
from .receiver.replay import MemoryReplayCache, RedisReplayCache, ReplayCache
from .receiver.verifier import EventClaim, Verifier
from .version import VERSION

__version__ = VERSION

# The exceptions of receiver/errors.py (its own __all__, which a test compares with this
# list) and the classes a receiver constructs or receives.
__all__ = [
    "AlreadyHandledError",
    "AuthenticationError",
    "EventClaim",
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
    "RedisReplayCache",
    "RemoteKeySet",
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
    "WebhookAnswer",
    "WebhookVerificationError",
    "answer_webhook",
    "read_capped",
]
