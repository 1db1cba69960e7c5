"""The CSRF proof the page's POST actions carry: a token bound to the staff member and day.

Why a token and not an Origin check: the staff session is a cookie Canvas turns into the
`canvas-logged-in-user-*` headers, and the plugin cannot know which request headers Canvas
passes through, nor the host name the browser used; a token needs neither. The page puts
the token in a `<meta>` tag and its script sends it in the `X-CSRF-Token` header of every
action (a custom header also forces a CORS preflight, which Canvas does not grant), with a
JSON body. Another site can make the browser send the cookie but cannot read the page, so
it cannot know the token.

token = base64url(HMAC-SHA256(key, "csrf|" + staff id + "|" + UTC day number)), accepted for
that day and the day before, so a page left open over midnight still works. The key is
derived from the plugin's sensitive variables with its own label (domain separation: the
token reveals nothing of them and is useless as a signature); it is the same in every
runner process and survives restarts, unlike the plugin cache, which Canvas may cull.
Rotating a secret rotates the key: open pages then ask to be reloaded.
"""

from __future__ import annotations

import hashlib
import hmac
from base64 import urlsafe_b64encode
from typing import Any

# The sensitive variables the key is derived from, those that are set, in this order.
KEY_SOURCES = ("WEBHOOK_SECRET", "JWT_PRIVATE_KEY", "FHIR_CLIENT_SECRET", "OPERATIONS_API_KEY")
KEY_LABEL = b"enriched-webhook deliveries page csrf key v1"
HEADER = "X-CSRF-Token"
SECONDS_PER_DAY = 86400


def csrf_key(secrets: dict[str, Any]) -> bytes | None:
    """The page's CSRF key, or None when no sensitive variable is set (actions then refuse)."""
    material = b""
    for name in KEY_SOURCES:
        value = secrets.get(name)
        if isinstance(value, str) and value.strip():
            material += name.encode() + b"=" + value.strip().encode() + b"\n"
    if not material:
        return None
    return hmac.new(material, KEY_LABEL, hashlib.sha256).digest()


def csrf_token(key: bytes, staff_id: str, now: float) -> str:
    return token_for_day(key, staff_id, int(now // SECONDS_PER_DAY))


def token_for_day(key: bytes, staff_id: str, day: int) -> str:
    message = ("csrf|" + staff_id + "|" + str(day)).encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return urlsafe_b64encode(digest).decode().rstrip("=")


def csrf_valid(key: bytes | None, staff_id: str, token: str | None, now: float) -> bool:
    """True only for this staff member's token of today or yesterday (UTC)."""
    if key is None or not staff_id or not token or len(token) > 100:
        return False
    today = int(now // SECONDS_PER_DAY)
    for day in (today, today - 1):
        if hmac.compare_digest(token.encode(), token_for_day(key, staff_id, day).encode()):
            return True
    return False
