"""Helpers for tests: fresh secrets and key pairs, made per run, never committed."""

from __future__ import annotations

from typing import Any

from enriched_webhook.tools.keys import new_hmac_secret
from enriched_webhook.tools.keys import new_key_pair as make_pair


def new_whsec(length: int = 32) -> str:
    return new_hmac_secret(length)


def new_key_pair(algorithm: str, kid: str = "test-key") -> tuple[str, dict[str, Any]]:
    """A private key PEM and its public JWK (with kid, alg, use) for one JWT algorithm."""
    pair = make_pair(algorithm, kid)
    return pair.private_pem, pair.public_jwk
