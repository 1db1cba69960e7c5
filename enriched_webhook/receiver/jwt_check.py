"""JWT mode, split as PyJWT splits JWS from JWT: the signature layer, then our claims.

`decode_request_token` checks the signature, `aud`/`iss` (PyJWT, in one `jwt.decode`
call), then what binds a token to one request: `exp`, `iat` = webhook-timestamp,
`jti` = webhook-id and `request_body_sha256`, checked here against an injectable clock,
which PyJWT's own time checks do not allow. Times must be finite numbers: JSON as PyJWT
reads it turns `1e309` into infinity and accepts `NaN`, and either would make `exp` a
token that never expires.

Algorithms are pinned per key: a key from a JWKS accepts only the asymmetric algorithms
its type allows, and HS256 exists only if the receiver configured a secret for it. So
`alg: none`, and HS256 "signed" with a public key as the HMAC secret, never reach a
verification routine that would accept them.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import math
from dataclasses import dataclass
from typing import Any

import jwt

from ..shared.signature import BODY_DIGEST_CLAIM, MIN_HS256_SECRET_BYTES, body_sha256
from .errors import (
    FutureTimestampError,
    InvalidSignatureError,
    InvalidTokenError,
    MalformedHeaderError,
    TokenExpiredError,
    VerifierConfigError,
)

ASYMMETRIC_ALGORITHMS = frozenset(
    {
        "ES256",
        "ES384",
        "ES512",
        "ES256K",
        "EdDSA",
        "RS256",
        "RS384",
        "RS512",
        "PS256",
        "PS384",
        "PS512",
    }
)
RSA_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
EC_ALGORITHMS = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512", "secp256k1": "ES256K"}
MAX_CACHED_HEADERS = 256

# aud and iss are PyJWT's to check (one decode call); times and request binding are ours.
_REQUEST_OPTIONS: dict[str, Any] = {
    "verify_signature": True,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_aud": True,
    "verify_iss": True,
    "verify_sub": True,
    "verify_jti": True,
    "require": ["exp", "iat", "jti", BODY_DIGEST_CLAIM],
}
# PyJWT's messages may quote parts of the token; ours name only what failed.
_PYJWT_MESSAGES: tuple[tuple[type[Exception], str], ...] = (
    (jwt.InvalidSignatureError, "JWT signature does not verify"),
    (jwt.InvalidAudienceError, "JWT aud is not this receiver's audience"),
    (jwt.InvalidIssuerError, "JWT iss is not the expected issuer"),
    (jwt.MissingRequiredClaimError, "JWT lacks a required claim (exp, iat, jti, aud, "),
    (jwt.InvalidAlgorithmError, "JWT alg is not accepted for this key"),
    (jwt.InvalidKeyError, "JWT key cannot be used with this algorithm"),
    (jwt.DecodeError, "JWT is malformed"),
)


@dataclass(frozen=True)
class JwsKey:
    """A verification key, loaded once per algorithm it may verify, and only those.

    Each algorithm gets its own PyJWK: PyJWT then verifies with exactly that algorithm
    and skips re-preparing the key on every call (its type checks cost microseconds).
    """

    kid: str | None
    verifiers: dict[str, jwt.PyJWK]

    @property
    def algorithms(self) -> frozenset[str]:
        return frozenset(self.verifiers)


def hs256_key(secret: str | bytes) -> JwsKey:
    """The explicit HS256 key; as the plugin signs with the str secret, a str is UTF-8."""
    raw = secret.encode("utf-8") if isinstance(secret, str) else secret
    if not isinstance(raw, bytes) or len(raw) < MIN_HS256_SECRET_BYTES:
        raise VerifierConfigError(f"hs256_secret must be at least {MIN_HS256_SECRET_BYTES} bytes")
    encoded = base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
    verifier = jwt.PyJWK({"kty": "oct", "k": encoded}, algorithm="HS256")
    return JwsKey(kid=None, verifiers={"HS256": verifier})


def key_algorithms(jwk: dict[str, Any]) -> frozenset[str]:
    """The asymmetric algorithms a JWK may verify; empty if none (symmetric, unknown)."""
    declared = jwk.get("alg")
    if declared is not None:
        if isinstance(declared, str) and declared in ASYMMETRIC_ALGORITHMS:
            return frozenset({declared})
        return frozenset()
    kty = jwk.get("kty")
    if kty == "RSA":
        return frozenset(RSA_ALGORITHMS)
    crv = jwk.get("crv")
    if kty == "EC" and isinstance(crv, str):
        curve = EC_ALGORITHMS.get(crv)
        return frozenset({curve}) if curve else frozenset()
    if kty == "OKP" and jwk.get("crv") in ("Ed25519", "Ed448"):
        return frozenset({"EdDSA"})
    return frozenset()


def key_from_jwk(jwk: dict[str, Any]) -> JwsKey | None:
    """Load one public JWK; None if it cannot verify signatures (wrong use, unsupported)."""
    if jwk.get("use", "sig") != "sig":
        return None
    algorithms = key_algorithms(jwk)
    if not algorithms:
        return None
    kid = jwk.get("kid")
    if kid is not None and not isinstance(kid, str):
        return None
    try:
        verifiers = {algorithm: jwt.PyJWK(jwk, algorithm=algorithm) for algorithm in algorithms}
    except Exception:
        # PyJWT's message quotes the whole JWK; the key is simply unusable.
        return None
    return JwsKey(kid=kid, verifiers=verifiers)


def bearer_token(value: str) -> str:
    """The token of an `Authorization: Bearer <token>` header, checked for shape only."""
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise MalformedHeaderError("Authorization is not 'Bearer <token>'")
    token = token.strip(" ")
    # Shape only; PyJWT decodes the segments strictly, under the signature check.
    if token.count(".") != 2 or not token.isascii():
        raise InvalidTokenError("JWT is not a compact JWS")
    return token


def jose_header(token: str) -> dict[str, Any]:
    """The JOSE header, read before the signature only to choose the key."""
    segment = token.partition(".")[0]
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        header = json.loads(raw)
    except (ValueError, binascii.Error, RecursionError):
        raise InvalidTokenError("JWT header is not base64url JSON") from None
    if not isinstance(header, dict):
        raise InvalidTokenError("JWT header is not a JSON object")
    if "crit" in header:
        # RFC 7515 4.1.11: extensions we do not understand must be refused.
        raise InvalidTokenError("JWT header has 'crit' extensions, which are not supported")
    return header


class JoseHeaderCache:
    """Key-selection fields (alg, kid) of JOSE header segments already seen.

    A sender's header segment is the same for every token it signs (same alg, kid, typ),
    so decoding it once saves a base64 and a JSON parse per request. Only headers that
    parsed cleanly are cached, at most MAX_CACHED_HEADERS (then the cache starts over),
    so a flood of distinct forged headers costs memory that is bounded and small.
    """

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: dict[str, tuple[Any, Any]] = {}

    def algorithm_and_kid(self, token: str) -> tuple[Any, Any]:
        segment = token.partition(".")[0]
        found = self._seen.get(segment)
        if found is None:
            header = jose_header(token)
            found = (header.get("alg"), header.get("kid"))
            if len(self._seen) >= MAX_CACHED_HEADERS:
                self._seen.clear()
            self._seen[segment] = found
        return found


def _decode(
    token: str,
    key: JwsKey,
    algorithm: str,
    options: dict[str, Any],
    audience: str | None,
    issuer: str | None,
) -> dict[str, Any]:
    verifier = key.verifiers.get(algorithm)
    if verifier is None:
        raise InvalidTokenError("JWT alg is not accepted for this key")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            verifier,
            algorithms=[algorithm],
            options=options,
            audience=audience,
            issuer=issuer,
        )
    except jwt.InvalidSignatureError:
        raise InvalidSignatureError("JWT signature does not verify") from None
    except Exception as error:
        for kind, message in _PYJWT_MESSAGES:
            if isinstance(error, kind):
                if kind is jwt.MissingRequiredClaimError:
                    message = f"{message}{BODY_DIGEST_CLAIM})"
                raise InvalidTokenError(message) from None
        raise InvalidTokenError("JWT could not be verified") from None
    if not isinstance(claims, dict):
        raise InvalidTokenError("JWT payload is not a JSON object")
    return claims


def _time_claim(claims: dict[str, Any], name: str) -> int | float:
    """A NumericDate claim as a finite number; bool, inf and NaN are refused."""
    value = claims.get(name)
    if type(value) is int:
        return value
    if type(value) is float and math.isfinite(value):
        return value
    raise InvalidTokenError(f"JWT {name} is not a finite number")


def decode_request_token(
    token: str,
    key: JwsKey,
    algorithm: str,
    *,
    audience: str | None,
    issuer: str | None,
    msg_id: str,
    timestamp: int,
    body: bytes,
    now: float,
) -> dict[str, Any]:
    """Verified claims of a token that belongs to exactly this request, else raise."""
    claims = _decode(token, key, algorithm, _REQUEST_OPTIONS, audience, issuer)
    expires = _time_claim(claims, "exp")  # present: PyJWT enforced `require`
    if now >= expires:
        raise TokenExpiredError("JWT has expired")
    if "nbf" in claims and now < _time_claim(claims, "nbf"):
        raise FutureTimestampError("JWT is not valid yet (nbf)")
    iat = claims["iat"]
    if type(iat) is not int or iat != timestamp:
        raise InvalidTokenError("JWT iat is not the webhook-timestamp")
    if claims["jti"] != msg_id:
        raise InvalidTokenError("JWT jti is not the webhook-id")
    digest = claims[BODY_DIGEST_CLAIM]
    if (
        type(digest) is not str
        or not digest.isascii()
        or not hmac.compare_digest(digest, body_sha256(body))
    ):
        raise InvalidTokenError(f"JWT {BODY_DIGEST_CLAIM} does not match the body")
    return claims
