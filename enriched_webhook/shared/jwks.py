"""What a public JWKS may contain: the rule the plugin's route and the key tools share.

A JWKS is published without authentication, so a key with private (`d`, RSA's primes and
CRT values) or symmetric (`k`) members must never pass, whoever wrote the document.
"""

from __future__ import annotations

import json
from typing import Any

PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


class JwksError(ValueError):
    """The document is missing, not a JWKS, or holds secret key material."""


def check_public_jwks(document: Any) -> dict[str, Any]:
    """Return `document` if it is a JWKS of public keys only."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise JwksError("JWT_PUBLIC_JWKS is not a JWKS (an object with a 'keys' list)")
    keys = document["keys"]
    if not keys:
        raise JwksError("JWT_PUBLIC_JWKS has no keys")
    for index, key in enumerate(keys):
        if not isinstance(key, dict) or not isinstance(key.get("kty"), str):
            raise JwksError("JWT_PUBLIC_JWKS key " + str(index) + " has no 'kty'")
        leaked = sorted(PRIVATE_MEMBERS.intersection(key))
        if leaked:
            raise JwksError(
                "JWT_PUBLIC_JWKS key "
                + str(index)
                + " holds private or symmetric members ("
                + ", ".join(leaked)
                + "); publish public keys only"
            )
    return document


def public_jwks(value: Any) -> dict[str, Any]:
    """Parse the JWT_PUBLIC_JWKS variable and check it."""
    if not isinstance(value, str) or not value.strip():
        raise JwksError("JWT_PUBLIC_JWKS is missing or empty")
    try:
        document = json.loads(value)
    except ValueError:
        raise JwksError("JWT_PUBLIC_JWKS is not valid JSON") from None
    return check_public_jwks(document)
