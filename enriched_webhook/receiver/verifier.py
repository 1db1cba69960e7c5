"""The Verifier: one call that authenticates a request and hands back a validated event.

Order matters and is fixed: headers are read (bounded), the timestamp is checked (the
cheapest rejection of a stale capture), then the HMAC signature and/or the JWT, and only
then is anything derived from the body: the replay check, JSON parsing, Task rules and
fhir.resources validation. Nothing attacker-controlled is parsed before it is proven to
come from the sender, except the JOSE header that says which key to use.

Everything that can be prepared once (HMAC key schedules, loaded public keys, the fhir
model import) is prepared in the constructor, so a request pays only for its own work.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any

from ..shared.delivery_contract import DEFAULT_HANDLED_TTL_SECONDS
from ..shared.signature import body_sha256, signature_matches_keyed, signed_prefix
from .errors import (
    FutureTimestampError,
    InvalidTokenError,
    MalformedHeaderError,
    MalformedRequestError,
    MissingHeaderError,
    ReplayStoreError,
    StaleTimestampError,
    VerifierConfigError,
)
from .event import VerifiedEvent
from .headers import AUTHORIZATION, ID, MAX_HEADER_LENGTH, SIGNATURE, TIMESTAMP, read_headers
from .hmac_check import HmacCheck, parse_secrets
from .jwks_source import KeySource, RemoteKeySet, static_key_set
from .jwt_check import (
    ASYMMETRIC_ALGORITHMS,
    JoseHeaderCache,
    JwsKey,
    bearer_token,
    decode_request_token,
    hs256_key,
)
from .replay import MemoryReplayCache, ReplayCache, refuse_handled
from .task_model import task_class

DEFAULT_TOLERANCE = 300
DEFAULT_CLAIM_TIMEOUT = 60.0
MAX_ID_LENGTH = 256
MAX_TIMESTAMP_DIGITS = 12


def _body_bytes(body: Any) -> bytes:
    """The raw body as bytes; str is accepted (UTF-8), as the reference libraries do."""
    if isinstance(body, (bytearray, memoryview)):
        return bytes(body)
    if isinstance(body, bytes):
        return bytes(body)
    if isinstance(body, str):
        try:
            return body.encode("utf-8")
        except UnicodeEncodeError:
            raise MalformedRequestError("the body is a str that is not encodable") from None
    raise MalformedRequestError("the body must be bytes (the raw request body)")


def _clock(now: Callable[[], float] | float | None) -> Callable[[], float]:
    if now is None:
        return time.time
    if callable(now):
        return now
    if isinstance(now, (int, float)) and not isinstance(now, bool):
        fixed = float(now)
        return lambda: fixed
    raise VerifierConfigError("now must be a number or a callable returning Unix seconds")


def _key_source(
    jwks: Mapping[str, Any] | RemoteKeySet | None, jwks_url: str | None
) -> KeySource | None:
    """The JWT keys: an inline JWKS (loaded now), a RemoteKeySet, or one for `jwks_url`."""
    if jwks is not None and jwks_url is not None:
        raise VerifierConfigError("give jwks or jwks_url, not both")
    if isinstance(jwks, RemoteKeySet):
        return jwks
    if jwks is not None:
        return static_key_set(dict(jwks))
    if jwks_url is not None:
        return RemoteKeySet(jwks_url)
    return None


class Verifier:
    """Verifies webhooks from the enriched-webhook plugin (or any Standard Webhooks sender).

    Built once at start-up (keys are prepared here, so a request pays only for its own
    work). A request must pass every mode configured: HMAC if `secrets` is given, a JWT if
    any JWT key is. Parameters:

    - `secrets`: `whsec_` secrets (a list, or one space-separated str) for HMAC; several
      during rotation. bytes are taken as raw keys.
    - `jwks`: the sender's public keys for JWT mode: a JWKS document (a mapping, as the
      plugin serves it at /jwks.json), or a `RemoteKeySet` for a URL with its own tuning.
    - `jwks_url`: shorthand for `jwks=RemoteKeySet(jwks_url)` with the default tuning.
    - `hs256_secret`: enables HS256 with this shared secret (at least 32 bytes); HS256 is
      never accepted otherwise, so a public key can never serve as an HMAC secret.
    - `audience`: this receiver's URL, required in JWT mode (a token minted for another
      receiver is refused); `issuer`: the expected `iss`, if given.
    - `tolerance`: seconds a `webhook-timestamp` may lie in the past or the future.
    - `replay_cache`: where handled and in-progress ids live; default a
      `MemoryReplayCache` (one process only: use `RedisReplayCache` with several workers).
    - `now`: Unix seconds, a number or a callable (tests, offline checks of captures).
    - `validate_task`: False defers parsing until `event.payload`/`event.task` is read.
    - `claim_timeout`: seconds a `process` claim outlives a worker that died holding it.
    - `handled_ttl`: seconds a handled id is remembered; default the sender's retry span
      (3.2 days) plus a day: the plugin may repeat an event that long (a lost answer, a
      runner restart, an operator's resend), each time freshly signed.
    - `max_header_length`: longer header values are refused before any work.
    """

    def __init__(
        self,
        secrets: str | bytes | Iterable[str | bytes] | None = None,
        *,
        jwks: Mapping[str, Any] | RemoteKeySet | None = None,
        jwks_url: str | None = None,
        audience: str | None = None,
        issuer: str | None = None,
        hs256_secret: str | bytes | None = None,
        tolerance: float = DEFAULT_TOLERANCE,
        replay_cache: ReplayCache | None = None,
        now: Callable[[], float] | float | None = None,
        validate_task: bool = True,
        claim_timeout: float = DEFAULT_CLAIM_TIMEOUT,
        handled_ttl: float | None = None,
        max_header_length: int = MAX_HEADER_LENGTH,
    ) -> None:
        if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or tolerance <= 0:
            raise VerifierConfigError("tolerance must be a positive number of seconds")
        self.tolerance = tolerance
        self._hmac = HmacCheck(parse_secrets(secrets)) if secrets is not None else None
        self._keys = _key_source(jwks, jwks_url)
        self._hs256: JwsKey | None = hs256_key(hs256_secret) if hs256_secret is not None else None
        self._jwt = self._keys is not None or self._hs256 is not None
        self._jose = JoseHeaderCache()
        if self._hmac is None and not self._jwt:
            raise VerifierConfigError(
                "configure secrets (HMAC) and/or jwks, jwks_url, hs256_secret"
            )
        if self._jwt and (not isinstance(audience, str) or not audience):
            # Without an audience, a token minted for another receiver would be accepted.
            raise VerifierConfigError("JWT verification needs audience (this receiver's URL)")
        self.audience = audience
        self.issuer = issuer
        names = [ID, TIMESTAMP]
        if self._hmac is not None:
            names.append(SIGNATURE)
        if self._jwt:
            names.append(AUTHORIZATION)
        self._names = tuple(names)
        self._max_header_length = max_header_length
        self.replay_cache: ReplayCache = (
            replay_cache if replay_cache is not None else MemoryReplayCache()
        )
        self._now = _clock(now)
        self.validate_task = validate_task
        self.claim_timeout = claim_timeout
        # Longer than a captured copy stays acceptable (timestamp + tolerance): the sender
        # may repeat the event, freshly signed, until its retry schedule is spent.
        self.handled_ttl = handled_ttl if handled_ttl is not None else DEFAULT_HANDLED_TTL_SECONDS
        if validate_task:
            task_class()  # pay fhir.resources' import at start-up, not on the first request

    def verify(self, body: bytes | bytearray | memoryview | str, headers: Any) -> VerifiedEvent:
        """Authenticate one request and return its event; raise WebhookVerificationError.

        Refuses an id already recorded as handled, but records nothing: use `process`
        to claim and record ids.
        """
        if type(body) is not bytes:
            body = _body_bytes(body)
        values = read_headers(headers, self._names, self._max_header_length)
        msg_id = values[0]
        timestamp_text = values[1]
        if msg_id is None:
            raise MissingHeaderError(ID)
        if timestamp_text is None:
            raise MissingHeaderError(TIMESTAMP)
        # names end with the signature and/or Authorization, as configured.
        signature = values[2]
        authorization = values[-1]
        if (
            not msg_id
            or len(msg_id) > MAX_ID_LENGTH
            or not msg_id.isascii()
            or not msg_id.isprintable()
        ):
            raise MalformedHeaderError("webhook-id must be 1 to 256 printable ASCII characters")
        if (
            len(timestamp_text) > MAX_TIMESTAMP_DIGITS
            or not timestamp_text.isascii()
            or not timestamp_text.isdigit()
        ):
            raise MalformedHeaderError("webhook-timestamp must be Unix seconds (digits only)")
        timestamp = int(timestamp_text)
        now = self._now()
        if timestamp < now - self.tolerance:
            raise StaleTimestampError("webhook-timestamp is older than the tolerance")
        if timestamp > now + self.tolerance:
            raise FutureTimestampError("webhook-timestamp is further ahead than the tolerance")
        check = self._hmac
        if check is not None:
            if signature is None:
                raise MissingHeaderError(SIGNATURE)
            prefix = signed_prefix(msg_id, timestamp_text)
            if not signature_matches_keyed(signature, check.keyed, prefix, body):
                check.refuse(signature)
        claims = None
        if self._jwt:
            claims = self._check_jwt(authorization, msg_id, timestamp, body, now)
        recorded = self.replay_cache.handled_digest(msg_id)
        if recorded is not None:
            # Hashing only on this rare path keeps the fast path free of a body pass.
            refuse_handled(msg_id, recorded, body_sha256(body))
        event = VerifiedEvent(msg_id, timestamp, body, claims)
        if self.validate_task:
            event.validate()
        return event

    def _check_jwt(
        self, authorization: str | None, msg_id: str, timestamp: int, body: bytes, now: float
    ) -> dict[str, Any]:
        if authorization is None:
            raise MissingHeaderError(AUTHORIZATION)
        token = bearer_token(authorization)
        algorithm, kid = self._jose.algorithm_and_kid(token)
        key: JwsKey
        if algorithm == "HS256" and self._hs256 is not None:
            key = self._hs256
        elif (
            isinstance(algorithm, str)
            and algorithm in ASYMMETRIC_ALGORITHMS
            and self._keys is not None
        ):
            key = self._keys.find(kid, algorithm)
        else:
            raise InvalidTokenError("JWT alg is not accepted by this receiver")
        return decode_request_token(
            token,
            key,
            algorithm,
            audience=self.audience,
            issuer=self.issuer,
            msg_id=msg_id,
            timestamp=timestamp,
            body=body,
            now=now,
        )

    def process(self, body: bytes | bytearray | memoryview | str, headers: Any) -> EventClaim:
        """Verify now; as a context manager, claim the id for the duration of the block.

        On a clean exit the id is recorded as handled; on an exception the claim is
        released, so the sender's retry can succeed. Entering raises AlreadyHandledError
        or InProgressError for an id that is handled or held by another worker.
        """
        return EventClaim(self, self.verify(body, headers))


class EventClaim:
    """The claim on one event id, held while the receiver handles the event.

    Returned by `Verifier.process`; entering claims the id in the replay store, a clean
    exit records it as handled, an exception releases it for the sender's retry.
    """

    __slots__ = ("_digest", "_token", "_verifier", "event")

    def __init__(self, verifier: Verifier, event: VerifiedEvent) -> None:
        self._verifier = verifier
        self.event = event
        self._token: str | None = None
        self._digest = ""

    def __enter__(self) -> VerifiedEvent:
        verifier = self._verifier
        # The claim compares the digest too: an id handled by another worker since verify()
        # checked it is still told apart from the same id reused for another body.
        self._digest = body_sha256(self.event.body)
        self._token = verifier.replay_cache.claim(
            self.event.id, verifier.claim_timeout, self._digest
        )
        return self.event

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        token = self._token
        if token is None:
            return
        self._token = None
        cache = self._verifier.replay_cache
        if kind is None:
            cache.mark_handled(self.event.id, token, self._verifier.handled_ttl, self._digest)
            return
        try:
            cache.release(self.event.id, token)
        except ReplayStoreError:
            pass  # the claim expires by itself; the handler's own error matters more
