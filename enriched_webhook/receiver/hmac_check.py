"""HMAC mode: the Standard Webhooks `v1` check, through the shared signature module.

The scheme itself (what is signed, how it is encoded) lives in `shared.signature`, which
the plugin's signer also uses; this module only prepares keys once and turns a mismatch
into the right exception.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NoReturn

from ..shared.signature import (
    SecretFormatError,
    decode_secret,
    keyed_hmacs,
)
from .errors import InvalidSignatureError, MalformedHeaderError, VerifierConfigError

try:
    # CPython's OpenSSL HMAC object. `hmac.new` wraps it in a Python class whose
    # copy/update/digest cost ~1.5 us per message on top; the C object computes the very
    # same HMAC (a test checks it against `hmac.new`). Falls back where it is missing.
    from _hashlib import hmac_new as _openssl_hmac_new
except ImportError:  # pragma: no cover - non-CPython or no OpenSSL
    _openssl_hmac_new = None  # type: ignore[assignment]


def keyed_states(keys: list[bytes]) -> list[Any]:
    """Keyed HMAC-SHA256 states for `shared.signature.signature_matches_keyed`."""
    if _openssl_hmac_new is not None:
        try:
            return [_openssl_hmac_new(key, digestmod="sha256") for key in keys]
        except Exception:  # noqa: S110 - e.g. an OpenSSL build refusing the digest
            pass
    return keyed_hmacs(keys)


def parse_secrets(secrets: str | bytes | Iterable[str | bytes]) -> list[bytes]:
    """Key bytes from `whsec_` secrets; a str may hold several, space-separated (rotation).

    bytes are taken as raw keys. Errors never contain the secret, nor its position beyond
    an index, so a misconfigured deployment cannot leak a key into logs.
    """
    if isinstance(secrets, (str, bytes)):
        items: list[str | bytes] = [secrets]
    else:
        items = list(secrets)
    keys: list[bytes] = []
    for index, item in enumerate(items):
        if isinstance(item, bytes):
            if not item:
                raise VerifierConfigError(f"secret {index} is empty")
            keys.append(item)
            continue
        if not isinstance(item, str):
            raise VerifierConfigError(f"secret {index} is not a str or bytes")
        parts = item.split()
        if not parts:
            raise VerifierConfigError(f"secret {index} is empty")
        for part in parts:
            try:
                keys.append(decode_secret(part))
            except SecretFormatError as error:
                raise VerifierConfigError(f"secret {index}: {error}") from None
    if not keys:
        raise VerifierConfigError("no secret given")
    return keys


class HmacCheck:
    """The keyed states of every configured key (old and new during rotation).

    The Verifier calls `shared.signature.signature_matches_keyed` with `keyed` itself
    (one call less on the hot path) and `refuse` when nothing matched.
    """

    __slots__ = ("keyed",)

    def __init__(self, keys: list[bytes]) -> None:
        self.keyed = keyed_states(keys)

    @staticmethod
    def refuse(header: str) -> NoReturn:
        """The error for a header with no matching signature: malformed, or just wrong."""
        entries = header.split(" ")
        if not any("," in entry for entry in entries):
            raise MalformedHeaderError("webhook-signature has no 'v1,<base64>' entry")
        raise InvalidSignatureError("no webhook-signature entry matches a configured secret")
