"""Building real requests for receiver tests: fixture Tasks, our signer, fresh keys."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization

from devtools.fixtures import FixtureTask, fixture_tasks
from enriched_webhook.shared.payload import envelope, occurred_at, serialize, webhook_id
from enriched_webhook.shared.signature import decode_secrets, jwt_claims, signature_header
from enriched_webhook.tools.keys import new_hmac_secret
from enriched_webhook.tools.keys import new_key_pair as make_pair

SOURCE = "https://example.canvasmedical.com"
AUDIENCE = "https://receiver.example/hook"
new_whsec = new_hmac_secret
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


@dataclass(frozen=True)
class KeyPair:
    algorithm: str
    kid: str
    private_pem: str
    public_pem: str
    public_jwk: dict[str, Any]


def new_key_pair(algorithm: str = "ES256", kid: str = "k1") -> KeyPair:
    """The key tool's pair, plus the public PEM that key-confusion attacks need."""
    pair = make_pair(algorithm, kid)
    private = serialization.load_pem_private_key(pair.private_pem.encode(), password=None)
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return KeyPair(algorithm, kid, pair.private_pem, public_pem, pair.public_jwk)


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
