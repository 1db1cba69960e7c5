"""Signs one request in the configured mode, through the shared signature scheme.

HMAC is Standard Webhooks `v1` (one signature per configured secret, for rotation); JWT
is a bearer token that API gateways can check against the plugin's JWKS. `jwt.encode`
parses a PEM on every call: ES256 and EdDSA pay well under 1 ms for that inside the
sandbox, RS256 ~50 ms (OpenSSL checks the RSA key's primes each time it is loaded).

RS256 therefore loads its key once per runner process and keeps the loaded key. The
sandbox offers no key loader of its own; `jwt.PyJWKClient` is the one allowed name that
yields a loaded key, so the PEM is re-expressed as a private JWK (plain DER parsing, no
arithmetic) and handed to PyJWKClient as a `data:` URL, which urllib decodes in memory: no
network, no file. Signing itself stays OpenSSL's (PKCS#1 v1.5 is deterministic, so the
token is byte for byte the one `jwt.encode` makes from the PEM). A key this path cannot
read (encrypted, multi-prime) falls back to the PEM, slow but correct.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import jwt

from ..shared.payload import (
    CONTENT_TYPE,
    HEADER_AUTHORIZATION,
    HEADER_ID,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
)
from ..shared.ping import PING_SUBJECT
from ..shared.signature import jwt_claims, signature_header
from .config import PluginSettings
from .config_errors import ConfigError

RSA_JWK_MEMBERS = ("n", "e", "d", "p", "q", "dp", "dq", "qi")
# DER of the rsaEncryption OID (1.2.840.113549.1.1.1), as PKCS#8 names an RSA key.
RSA_ENCRYPTION_OID = b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01"
MAX_CACHED_RSA_KEYS = 4
_LOADED_KID = "enriched-webhook-signing"
# PEM digest -> loaded key (a PyJWK), or False for a PEM only jwt.encode can read. Keyed
# by digest so that rotating JWT_PRIVATE_KEY takes effect on the next event.
_rsa_keys: dict[str, Any] = {}


def _der_element(der: bytes, offset: int) -> tuple[int, int, int]:
    """Tag, start and end of the contents of the DER element at `offset`."""
    if offset + 2 > len(der):
        raise ValueError("truncated DER")
    tag = der[offset]
    length = der[offset + 1]
    start = offset + 2
    if length >= 0x80:
        count = length - 0x80
        if count < 1 or count > 4 or start + count > len(der):
            raise ValueError("bad DER length")
        length = 0
        for index in range(count):
            length = length * 256 + der[start + index]
        start = start + count
    end = start + length
    if end > len(der):
        raise ValueError("truncated DER")
    return tag, start, end


def _der_children(der: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    children = []
    offset = start
    while offset < end:
        child = _der_element(der, offset)
        children.append(child)
        offset = child[2]
    return children


def _base64url(raw: bytes) -> str:
    text = base64.b64encode(raw).decode("ascii")
    return text.replace("+", "-").replace("/", "_").rstrip("=")


def rsa_private_jwk(pem: str) -> dict[str, str]:
    """The private JWK of an unencrypted two-prime RSA PEM (PKCS#8 or PKCS#1); else ValueError."""
    lines = [line.strip() for line in pem.strip().splitlines()]
    if len(lines) < 3:
        raise ValueError("not a PEM")
    label = lines[0]
    der = base64.b64decode("".join(lines[1:-1]), validate=True)
    tag, start, end = _der_element(der, 0)
    fields = _der_children(der, start, end)
    if label == "-----BEGIN PRIVATE KEY-----":
        if tag != 0x30 or len(fields) < 3 or fields[2][0] != 0x04:
            raise ValueError("not PKCS#8")
        algorithm = der[fields[1][1] : fields[1][2]]
        if not algorithm.startswith(RSA_ENCRYPTION_OID):
            raise ValueError("not an RSA key")
        der = der[fields[2][1] : fields[2][2]]
        tag, start, end = _der_element(der, 0)
        fields = _der_children(der, start, end)
    elif label != "-----BEGIN RSA PRIVATE KEY-----":
        raise ValueError("not an unencrypted RSA private key")
    if tag != 0x30 or len(fields) != 9 or any(field[0] != 0x02 for field in fields):
        raise ValueError("not a two-prime RSAPrivateKey")
    if der[fields[0][1] : fields[0][2]] != b"\x00":
        raise ValueError("not a two-prime RSAPrivateKey")
    jwk = {"kty": "RSA"}
    for name, field in zip(RSA_JWK_MEMBERS, fields[1:], strict=True):
        jwk[name] = _base64url(der[field[1] : field[2]].lstrip(b"\x00") or b"\x00")
    return jwk


def loaded_rsa_key(pem: str) -> Any:
    """The PEM's key, loaded once per process; None if only `jwt.encode` can read the PEM."""
    digest = hashlib.sha256(pem.encode("utf-8")).hexdigest()
    found = _rsa_keys.get(digest)
    if found is None:
        try:
            jwk = rsa_private_jwk(pem)
            jwk["kid"] = _LOADED_KID
            jwk["alg"] = "RS256"
            jwk["use"] = "sig"
            document = json.dumps({"keys": [jwk]}).encode("ascii")
            url = "data:application/json;base64," + base64.b64encode(document).decode("ascii")
            found = jwt.PyJWKClient(url, cache_jwk_set=False).get_signing_key(_LOADED_KID)
        except Exception:
            found = False
        if len(_rsa_keys) >= MAX_CACHED_RSA_KEYS:
            _rsa_keys.clear()
        _rsa_keys[digest] = found
    return found or None


def sign_request(
    settings: PluginSettings,
    msg_id: str,
    timestamp: int,
    body: str,
    task_id: str,
    content_type: str = CONTENT_TYPE,
) -> dict[str, str]:
    """The headers of one attempt: id, timestamp, content type, and a fresh signature.

    Called for every attempt with that attempt's own `timestamp` (and so a fresh JWT
    `iat`/`exp`), so a retry made hours later is as fresh as the first attempt.
    """
    body_bytes = body.encode("utf-8")
    headers = {
        HEADER_ID: msg_id,
        HEADER_TIMESTAMP: str(timestamp),
        "content-type": content_type,
    }
    if settings.jwt is None:
        headers[HEADER_SIGNATURE] = signature_header(
            settings.hmac_keys, msg_id, timestamp, body_bytes
        )
        return headers
    options = settings.jwt
    claims = jwt_claims(
        issuer=options.issuer,
        audience=options.audience,
        task_id=task_id,
        msg_id=msg_id,
        timestamp=timestamp,
        body=body_bytes,
        subject=None if task_id else PING_SUBJECT,
    )
    jose_header = {"typ": "JWT"}
    if options.key_id:
        jose_header["kid"] = options.key_id
    key: Any = options.private_key
    if options.algorithm == "RS256":
        key = loaded_rsa_key(key) or key
    try:
        token = jwt.encode(claims, key, algorithm=options.algorithm, headers=jose_header)
    except Exception:
        # The key text is never echoed: only that it does not fit the algorithm.
        raise ConfigError(
            "JWT_PRIVATE_KEY", "could not be used as a " + options.algorithm + " signing key"
        ) from None
    headers[HEADER_AUTHORIZATION] = "Bearer " + token
    return headers
