"""Helpers for tests: fresh secrets and key pairs, made per run, never committed."""

from __future__ import annotations

import base64
import json
import os
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm


def new_whsec(length: int = 32) -> str:
    return "whsec_" + base64.b64encode(os.urandom(length)).decode("ascii")


def new_key_pair(algorithm: str, kid: str = "test-key") -> tuple[str, dict[str, Any]]:
    """A private key PEM and its public JWK (with kid, alg, use) for one JWT algorithm."""
    private: Any
    if algorithm == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
        jwk = json.loads(ECAlgorithm.to_jwk(private.public_key()))
    elif algorithm == "EdDSA":
        private = ed25519.Ed25519PrivateKey.generate()
        jwk = json.loads(OKPAlgorithm.to_jwk(private.public_key()))
    elif algorithm == "RS256":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
    else:
        raise ValueError(algorithm)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    jwk.update({"kid": kid, "alg": algorithm, "use": "sig"})
    return pem, jwk
