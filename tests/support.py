"""Test helpers for keys, secrets and signatures: fresh ones per run, never committed.

The one home of `new_whsec` and `new_key_pair` for every test folder. A `KeyPair` is a
(private PEM, public JWK) tuple, so `pem, jwk = new_key_pair("ES256")` reads naturally,
and it also names its algorithm, kid and public PEM (key-confusion attacks need it).
`signature_matches` is the one-shot form of the shipped `signature_matches_keyed`, which
only tests need.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from cryptography.hazmat.primitives import serialization

from enriched_webhook.shared.signature import keyed_hmacs, signature_matches_keyed
from enriched_webhook.tools.keys import new_hmac_secret
from enriched_webhook.tools.keys import new_key_pair as make_pair


def new_whsec(length: int = 32) -> str:
    """A new `whsec_` secret of `length` random bytes."""
    return new_hmac_secret(length)


class KeyPair(NamedTuple):
    """A private key (PKCS#8 PEM) and its public JWK, with kid, alg and use set."""

    private_pem: str
    public_jwk: dict[str, Any]

    @property
    def algorithm(self) -> str:
        return str(self.public_jwk["alg"])

    @property
    def kid(self) -> str:
        return str(self.public_jwk["kid"])

    @property
    def public_pem(self) -> str:
        private = serialization.load_pem_private_key(self.private_pem.encode(), password=None)
        return (
            private.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )


def new_key_pair(algorithm: str = "ES256", kid: str = "test-key") -> KeyPair:
    """A new key pair for one JWT algorithm (ES256, EdDSA, RS256), made by the key tool."""
    pair = make_pair(algorithm, kid)
    return KeyPair(pair.private_pem, pair.public_jwk)


def signature_matches(header: str, keys: list[bytes], content: bytes) -> bool:
    """True if any `v1` entry of `header` is the signature of `content` under any key."""
    return signature_matches_keyed(header, keyed_hmacs(keys), content, b"")
