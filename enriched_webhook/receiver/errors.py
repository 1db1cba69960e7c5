"""One exception family for everything a request can get wrong.

Receivers branch on classes, not on messages, so each class answers one question a
receiver must decide on: is this the sender's fault and final (400), unauthenticated
(401), already done (2xx so the sender stops), busy (409 so it retries later), or our own
store failing (503). `http_status` carries that answer so the reference receiver and user
code map errors the same way.

The root is a plain `Exception` on purpose: were it a `ValueError`, a test asserting that
hostile input never raises `ValueError` would pass vacuously. Messages name what was
wrong, never a secret, a token, or Task content (every Task field is PHI).
"""

from __future__ import annotations


class WebhookVerificationError(Exception):
    """The request was not accepted; `http_status` is the answer the sender should get."""

    http_status = 400


class VerifierConfigError(ValueError):
    """The Verifier was constructed wrongly: a programming error, not a bad request.

    Deliberately outside the family: it happens at start-up, never per request.
    """


# --- 400: the request is malformed; resending it unchanged cannot succeed. ---


class MalformedRequestError(WebhookVerificationError):
    """The body or header mapping has the wrong type or shape."""


class MissingHeaderError(MalformedRequestError):
    """A required header (webhook-id, webhook-timestamp, a signature) is absent."""

    def __init__(self, header: str) -> None:
        super().__init__(f"missing header: {header}")
        self.header = header


class MalformedHeaderError(MalformedRequestError):
    """A header is present but not of the form the wire format defines."""


class HeaderTooLargeError(MalformedHeaderError):
    """A header is longer than any legitimate value; refused before any work."""


class InvalidPayloadError(WebhookVerificationError):
    """Signed correctly, but the body is not a v1 envelope (not UTF-8, not JSON, ...)."""


class InvalidTaskError(InvalidPayloadError):
    """The envelope's Task breaks the Task rules or fails fhir.resources validation."""


# --- 401: not authenticated; the sender must fix keys, clocks or signing. ---


class AuthenticationError(WebhookVerificationError):
    """Base of every failure that means 'not proven to come from the sender'."""

    http_status = 401


class InvalidSignatureError(AuthenticationError):
    """No HMAC signature matches under any configured secret, or a JWS signature fails."""


class InvalidTokenError(AuthenticationError):
    """The JWT is malformed, uses a refused algorithm, or its claims do not fit the request."""


class UnknownKeyError(AuthenticationError):
    """The JWT names a key (kid) that the configured JWKS does not hold, even after a refresh."""


class TimestampError(AuthenticationError):
    """The request is outside the tolerance window."""


class StaleTimestampError(TimestampError):
    """Signed too long ago (or the JWT expired): a capture being replayed, or a slow retry."""


class TokenExpiredError(StaleTimestampError):
    """The JWT's `exp` has passed."""


class FutureTimestampError(TimestampError):
    """Signed further in the future than the tolerance allows: a skewed or forged clock."""


# --- Replays: the request is authentic but its id was seen before. ---


class ReplayError(WebhookVerificationError):
    """The event id is already handled or being handled."""


class AlreadyHandledError(ReplayError):
    """The event was handled before: answer 2xx so the sender stops retrying."""

    http_status = 200


class InProgressError(ReplayError):
    """Another worker holds the claim on this id right now: answer 409 so the sender retries."""

    http_status = 409


class IdReusedError(ReplayError):
    """A handled id came back with a different body: not a duplicate, and not accepted.

    The same event occurrence always has the same body, so this is a sender bug or a
    forged reuse of an id; answering 2xx would drop an event, so it is refused (422).
    """

    http_status = 422


# --- 503: our side failed; the sender should retry. ---


class ServiceUnavailableError(WebhookVerificationError):
    """A dependency of verification (the replay store, the JWKS URL) is unavailable."""

    http_status = 503


class ReplayStoreError(ServiceUnavailableError):
    """The replay store could not be read or written (Redis down, say)."""


class KeySetUnavailableError(ServiceUnavailableError):
    """The JWKS URL could not be fetched and no keys are cached yet."""


# Every class above, and nothing else: `enriched_webhook.verify` re-exports each of them
# (a test compares the two lists and the classes defined here).
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
    "MissingHeaderError",
    "ReplayError",
    "ReplayStoreError",
    "ServiceUnavailableError",
    "StaleTimestampError",
    "TimestampError",
    "TokenExpiredError",
    "UnknownKeyError",
    "VerifierConfigError",
    "WebhookVerificationError",
]
