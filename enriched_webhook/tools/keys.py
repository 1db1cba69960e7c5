"""Secrets and key pairs for both signing modes, in the forms Canvas and receivers take.

A private key file is created with mode 0600 before a byte is written to it, and is never
overwritten; the public JWKS goes through the same check the plugin's /jwks.json route
applies, so what this writes is what the plugin will serve.
"""

from __future__ import annotations

import base64
import json
import os
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from ..shared.jwks import check_public_jwks
from ..shared.signature import SECRET_PREFIX

JWT_KEY_ALGORITHMS = ("ES256", "EdDSA", "RS256")
HMAC_KEY_BYTES = 32
PLUGIN = "enriched_webhook"


class KeyFileExistsError(FileExistsError):
    """Refusing to overwrite a key: rotation adds a new kid, it never replaces a file."""


@dataclass(frozen=True)
class KeyPair:
    """A private key as PKCS#8 PEM and its public JWK (kid, alg, use set)."""

    algorithm: str
    kid: str
    private_pem: str
    public_jwk: dict[str, Any]


def new_hmac_secret(length: int = HMAC_KEY_BYTES) -> str:
    return SECRET_PREFIX + base64.b64encode(os.urandom(length)).decode("ascii")


def new_key_pair(algorithm: str, kid: str) -> KeyPair:
    private: Any
    if algorithm == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
        jwk = json.loads(ECAlgorithm.to_jwk(private.public_key()))
    elif algorithm == "EdDSA":
        private = ed25519.Ed25519PrivateKey.generate()
        jwk = json.loads(OKPAlgorithm.to_jwk(private.public_key()))
    elif algorithm == "RS256":
        private = rsa.generate_private_key(public_exponent=65537, key_size=3072)
        jwk = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
    else:
        raise ValueError(f"unknown JWT algorithm; use one of {', '.join(JWT_KEY_ALGORITHMS)}")
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    jwk.update({"kid": kid, "alg": algorithm, "use": "sig"})
    check_public_jwks({"keys": [jwk]})
    return KeyPair(algorithm=algorithm, kid=kid, private_pem=pem, public_jwk=jwk)


def write_private_key(path: Path, pem: str) -> None:
    """Create `path` with mode 0600 (never wider, not even for an instant) and write the PEM."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyFileExistsError(f"refusing to overwrite {path}") from None
    with os.fdopen(descriptor, "w") as handle:
        handle.write(pem)


class KeySetFileError(ValueError):
    """The existing jwks.json cannot be extended; nothing has been written."""


def published_keys(jwks_path: Path) -> list[dict[str, Any]]:
    """The keys of an existing jwks.json (none if there is no file)."""
    if not jwks_path.exists():
        return []
    try:
        document = check_public_jwks(json.loads(jwks_path.read_text()))
    except (OSError, ValueError) as error:
        raise KeySetFileError(f"{jwks_path} is not a usable JWKS: {error}") from None
    keys: list[dict[str, Any]] = document["keys"]
    return keys


def write_key_pair(pair: KeyPair, directory: Path) -> tuple[Path, Path]:
    """Write `<kid>.pem` (0600) and add its public key to `jwks.json`.

    A kid is never reused, not even for a key retired from the JWKS: gateways and receivers
    may still cache the old key under that kid. jwks.json is read before anything is
    written, so a bad one leaves no stray private key behind.
    """
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    jwks_path = directory / "jwks.json"
    keys = published_keys(jwks_path)
    if any(key.get("kid") == pair.kid for key in keys):
        raise KeyFileExistsError(f"kid {pair.kid} is already in {jwks_path}")
    private_path = directory / f"{pair.kid}.pem"
    write_private_key(private_path, pair.private_pem)
    document = check_public_jwks({"keys": [*keys, pair.public_jwk]})
    jwks_path.write_text(f"{json.dumps(document, indent=2)}\n")
    return private_path, jwks_path


def canvas_config_lines(pair: KeyPair, private_path: Path, jwks_path: Path) -> list[str]:
    """The commands that install the pair in Canvas (files read by the shell, not echoed)."""
    return [
        f"canvas config set {PLUGIN} SIGNING_MODE=jwt JWT_ALGORITHM={pair.algorithm}"
        f" JWT_KEY_ID={shlex.quote(pair.kid)}",
        f'canvas config set {PLUGIN} "JWT_PRIVATE_KEY=$(cat {shlex.quote(str(private_path))})"',
        f'canvas config set {PLUGIN} "JWT_PUBLIC_JWKS=$(cat {shlex.quote(str(jwks_path))})"',
    ]
