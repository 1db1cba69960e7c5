"""Building real requests for receiver tests: fixture Tasks and our signer.

Keys and secrets come from `tests.support` (re-exported here for the receiver tests).
"""

from __future__ import annotations

from typing import Any

import jwt

from devtools.fixtures import FixtureTask, fixture_tasks
from enriched_webhook.receiver.jwt_check import JwsKey
from enriched_webhook.shared.payload import envelope, occurred_at, serialize, webhook_id
from enriched_webhook.shared.signature import decode_secrets, jwt_claims, signature_header
from tests.support import KeyPair, new_key_pair, new_whsec

__all__ = [
    "AUDIENCE",
    "NOW",
    "SOURCE",
    "KeyPair",
    "body_for",
    "fixture",
    "hmac_headers",
    "jwt_headers",
    "msg_id_for",
    "new_key_pair",
    "new_whsec",
    "verify_jws",
]

SOURCE = "https://example.canvasmedical.com"
AUDIENCE = "https://receiver.example/hook"
NOW = 1_790_000_000  # a fixed clock for tests; all tokens and timestamps derive from it


def fixture(name_part: str = "task_read_response_200") -> FixtureTask:
    for task in fixture_tasks():
        if name_part in task.name:
            return task
    raise LookupError(name_part)


def body_for(task: dict[str, Any], event: str = "TASK_CREATED", now: int = NOW) -> bytes:
    return serialize(envelope(event, task, SOURCE, now)).encode("utf-8")


def msg_id_for(task: dict[str, Any], event: str = "TASK_CREATED") -> str:
    return webhook_id(event, str(task.get("id", "")), occurred_at(task))


def hmac_headers(
    secret: str, body: bytes, msg_id: str = "msg_test", timestamp: int = NOW
) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(decode_secrets(secret), msg_id, timestamp, body),
        "content-type": "application/json",
    }


def verify_jws(token: str, key: JwsKey, algorithm: str) -> dict[str, Any]:
    """Signature only (the RFC 7515 vectors): the claims of a JWS `key` signed with `algorithm`.

    The receiver never verifies a bare JWS, so this lives with the tests; PyJWT's own
    errors propagate.
    """
    claims: dict[str, Any] = jwt.decode(
        token,
        key.verifiers[algorithm],
        algorithms=[algorithm],
        options={"verify_signature": True, "verify_exp": False, "verify_iat": False},
    )
    return claims


def jwt_headers(
    pair: KeyPair,
    body: bytes,
    msg_id: str = "msg_test",
    timestamp: int = NOW,
    *,
    task_id: str = "task-1",
    audience: str = AUDIENCE,
    issuer: str = SOURCE,
    claims: dict[str, Any] | None = None,
    key: Any = None,
    algorithm: str | None = None,
    jose: dict[str, Any] | None = None,
) -> dict[str, str]:
    """Headers as the plugin's signer makes them (shared.jwt_claims + jwt.encode)."""
    payload: dict[str, Any] = dict(
        jwt_claims(
            issuer=issuer,
            audience=audience,
            task_id=task_id,
            msg_id=msg_id,
            timestamp=timestamp,
            body=body,
        )
    )
    if claims:
        payload.update(claims)
        payload = {name: value for name, value in payload.items() if value is not None}
    header = {"typ": "JWT", "kid": pair.kid}
    if jose:
        header.update(jose)
    token = jwt.encode(
        payload,
        key if key is not None else pair.private_pem,
        algorithm=algorithm or pair.algorithm,
        headers=header,
    )
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "authorization": "Bearer " + token,
        "content-type": "application/json",
    }
