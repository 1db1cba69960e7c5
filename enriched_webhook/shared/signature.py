"""The signature scheme, owned once: what bytes are signed and how they are encoded.

The plugin's signer and the receiver's verifier both call this module, so the two can
never drift. It runs inside Canvas's sandbox, hence only `base64.b64encode/b64decode`,
`hashlib.sha256`, `hmac.new` and `hmac.compare_digest` (what the sandbox allows).

HMAC mode is Standard Webhooks `v1` exactly, so `standardwebhooks` and `svix` verify our
requests and we verify theirs. JWT mode binds the token to the same request through
`jti` (= webhook-id), `iat` (= webhook-timestamp) and `request_body_sha256`. The scheme,
with worked examples to recompute: docs/wire-format.md.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
SIGNATURE_VERSION = "v1"
ENTRY_TAG = (SIGNATURE_VERSION + ",").encode("ascii")  # what starts each header entry
# The plugin refuses shorter keys; the receiver accepts any non-empty key, as the
# reference libraries do, so that it can verify their test vectors.
MIN_SIGNING_KEY_BYTES = 24
# HS256 in JWT mode: a shared secret at least as long as SHA-256's output.
MIN_HS256_SECRET_BYTES = 32
JWT_LIFETIME_SECONDS = 300
BODY_DIGEST_CLAIM = "request_body_sha256"


class SecretFormatError(ValueError):
    """A `whsec_` secret that is not base64, or is empty."""


def decode_secret(secret: str) -> bytes:
    """Key bytes of a Standard Webhooks secret; prefix and padding are optional.

    The reference libraries accept unpadded secrets, so we restore the padding rather
    than refuse them. The message never contains the secret.
    """
    text = secret.strip()
    if text.startswith(SECRET_PREFIX):
        text = text[len(SECRET_PREFIX) :]
    if not text:
        raise SecretFormatError("the secret is empty")
    if len(text) % 4 == 1:
        raise SecretFormatError("the secret is not valid base64 (impossible length)")
    padded = text + "=" * (-len(text) % 4)
    try:
        key = base64.b64decode(padded, validate=True)
    except ValueError:
        raise SecretFormatError("the secret is not valid base64") from None
    if not key:
        raise SecretFormatError("the secret is empty")
    return key


def decode_secrets(value: str) -> list[bytes]:
    """Keys from a space-separated list of secrets (rotation: old and new side by side)."""
    keys = [decode_secret(part) for part in value.split()]
    if not keys:
        raise SecretFormatError("no secret given")
    return keys


def signed_prefix(msg_id: str, timestamp: int | str) -> bytes:
    """What HMAC covers before the body: `{webhook-id}.{webhook-timestamp}.`."""
    return (msg_id + "." + str(timestamp) + ".").encode("ascii")


def signed_content(msg_id: str, timestamp: int | str, body: bytes) -> bytes:
    """The exact bytes HMAC covers: `{webhook-id}.{webhook-timestamp}.{body}`."""
    return signed_prefix(msg_id, timestamp) + body


def hmac_signature(key: bytes, content: bytes) -> str:
    """One `v1,<base64>` entry for one key."""
    digest = hmac.new(key, content, hashlib.sha256).digest()
    return SIGNATURE_VERSION + "," + base64.b64encode(digest).decode("ascii")


def signature_header(keys: list[bytes], msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: one space-separated entry per key."""
    content = signed_content(msg_id, timestamp, body)
    return " ".join(hmac_signature(key, content) for key in keys)


def keyed_hmacs(keys: list[bytes]) -> list[Any]:
    """One keyed HMAC-SHA256 state per key, to be copied for each message.

    Keying hashes the padded key twice; a verifier checking many messages against the same
    keys does that once and `.copy()`s the state, which on a small body is a third of the
    cost of `hmac.new`.
    """
    return [hmac.new(key, None, hashlib.sha256) for key in keys]


def signature_matches_keyed(header: str, keyed: list[Any], prefix: bytes, body: bytes) -> bool:
    """True if any `v1` entry of `header` is the signature of `prefix + body` under any key.

    `keyed` comes from `keyed_hmacs`. The content is fed in two parts so a large body is
    never copied. Entries with other versions are skipped, as the spec requires. Expected
    values are compared as base64 text in constant time, which avoids decoding attacker
    input; a non-ASCII entry is mangled by the encoding and so can never match.
    """
    raw = header.encode("ascii", "replace")
    tag = ENTRY_TAG
    size = len(tag)
    if raw[:size] == tag and b" " not in raw:
        candidates = [raw[size:]]
    else:
        candidates = [entry[size:] for entry in raw.split(b" ") if entry[:size] == tag]
        if not candidates:
            return False
    for base in keyed:
        state = base.copy()
        state.update(prefix)
        state.update(body)
        expected = base64.b64encode(state.digest())
        for candidate in candidates:
            if hmac.compare_digest(expected, candidate):
                return True
    return False


def body_sha256(body: bytes) -> str:
    """Hex SHA-256 of the exact body, the JWT's `request_body_sha256` claim."""
    return hashlib.sha256(body).hexdigest()


def jwt_claims(
    *,
    issuer: str,
    audience: str,
    task_id: str,
    msg_id: str,
    timestamp: int,
    body: bytes,
    subject: str | None = None,
) -> dict[str, object]:
    """The claim set of JWT mode, binding the token to one request's id, time and body.

    `sub` names the Task (`Task/<id>`), or is `subject` for an event without one (a ping).
    """
    return {
        "iss": issuer,
        "aud": audience,
        "sub": subject if subject is not None else "Task/" + task_id,
        "iat": timestamp,
        "exp": timestamp + JWT_LIFETIME_SECONDS,
        "jti": msg_id,
        BODY_DIGEST_CLAIM: body_sha256(body),
    }
