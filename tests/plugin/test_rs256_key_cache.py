"""RS256's key is loaded once (as a JWK through PyJWKClient) and signs exactly as the PEM would.

PKCS#1 v1.5 signatures are deterministic, so the token made with the cached key must be
byte for byte the one `jwt.encode` makes from the PEM; keys the fast path cannot read fall
back to the PEM, and the cache stays bounded.
"""

from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from enriched_webhook.plugin import signer
from enriched_webhook.plugin.signer import MAX_CACHED_RSA_KEYS, loaded_rsa_key, rsa_private_jwk
from tests.support import new_key_pair

CLAIMS = {"sub": "Task/1", "iat": 1, "jti": "msg_1"}


def rsa_pem(form: serialization.PrivateFormat, password: bytes | None = None) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, form, encryption).decode("ascii")


@pytest.mark.parametrize(
    "form", [serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL]
)
def test_the_cached_key_signs_byte_for_byte_like_the_pem(form: serialization.PrivateFormat) -> None:
    pem = rsa_pem(form)
    key = loaded_rsa_key(pem)
    assert key is not None
    assert loaded_rsa_key(pem) is key  # loaded once
    headers = {"kid": "k", "typ": "JWT"}
    assert jwt.encode(CLAIMS, key, algorithm="RS256", headers=headers) == jwt.encode(
        CLAIMS, pem, algorithm="RS256", headers=headers
    )


def test_the_jwk_carries_every_private_member() -> None:
    jwk = rsa_private_jwk(rsa_pem(serialization.PrivateFormat.PKCS8))
    assert set(jwk) == {"kty", "n", "e", "d", "p", "q", "dp", "dq", "qi"}
    assert jwk["e"] == "AQAB"


@pytest.mark.parametrize(
    "pem",
    [
        rsa_pem(serialization.PrivateFormat.PKCS8, password=b"pw"),
        new_key_pair("ES256")[0],
        new_key_pair("EdDSA")[0],
        "-----BEGIN PRIVATE KEY-----\nMAMCAQA=\n-----END PRIVATE KEY-----\n",
        "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
        "not a pem",
    ],
    ids=["encrypted", "ec", "ed25519", "short-der", "garbage-der", "text"],
)
def test_keys_the_fast_path_cannot_read_fall_back_to_the_pem(pem: str) -> None:
    with pytest.raises(ValueError):
        rsa_private_jwk(pem)
    assert loaded_rsa_key(pem) is None


def test_the_cache_is_bounded() -> None:
    for _ in range(MAX_CACHED_RSA_KEYS + 2):
        assert loaded_rsa_key(rsa_pem(serialization.PrivateFormat.PKCS8)) is not None
    assert len(signer._rsa_keys) <= MAX_CACHED_RSA_KEYS
