"""Case-insensitive access to the few headers verification needs, with size limits.

Frameworks hand over headers as very different objects: a plain dict (any casing),
Werkzeug's, Starlette's or Django's case-insensitive mappings, `http.server`'s
`email.message.Message`. Copying and lowercasing the whole mapping costs more than the
HMAC of a small body, so the common case (the exact lowercase name is found by `.get`)
is one lookup per header, and only a miss pays for a scan. Svix's `svix-*` names are
accepted as aliases, so requests sent by Svix verify unchanged.

The header names come from the wire format's constants (`shared.payload`), lowercased
once here: every receiver module takes them from this module.
"""

from __future__ import annotations

from typing import Any

from ..shared.payload import HEADER_AUTHORIZATION, HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP
from .errors import HeaderTooLargeError, MalformedHeaderError, MalformedRequestError

ID = HEADER_ID.lower()
TIMESTAMP = HEADER_TIMESTAMP.lower()
SIGNATURE = HEADER_SIGNATURE.lower()
AUTHORIZATION = HEADER_AUTHORIZATION.lower()
# The headers that decide authentication: each must appear at most once in a request.
CREDENTIAL_HEADERS = (SIGNATURE, ID, TIMESTAMP, AUTHORIZATION)

# A JWT from a 4096-bit RSA key is ~1.2 KB and each HMAC signature ~48 characters, so a
# legitimate header never comes close; anything longer is refused before any work.
MAX_HEADER_LENGTH = 8192

ALIASES = {
    ID: "svix-id",
    TIMESTAMP: "svix-timestamp",
    SIGNATURE: "svix-signature",
}


def read_headers(headers: Any, names: tuple[str, ...], limit: int) -> list[str | None]:
    """The values of `names` (lowercase) in `headers`, None where absent.

    Raises MalformedRequestError if `headers` is not a mapping, MalformedHeaderError for a
    value that is not text, HeaderTooLargeError for a value over `limit` characters.
    """
    try:
        get = headers.get
        values: list[Any] = [get(name) for name in names]
    except Exception:
        raise MalformedRequestError(
            "headers must be a mapping of header names to strings"
        ) from None
    for value in values:
        if type(value) is not str or len(value) > limit:
            return _read_slowly(headers, names, values, limit)
    return values


def _read_slowly(
    headers: Any, names: tuple[str, ...], values: list[Any], limit: int
) -> list[str | None]:
    """Misses (other casing, svix-* names), non-str values and over-long values."""
    lowered: dict[str, Any] | None = None
    for index, value in enumerate(values):
        if value is None:
            if lowered is None:
                lowered = _lowercased(headers)
            name = names[index]
            value = lowered.get(name)
            if value is None and name in ALIASES:
                value = lowered.get(ALIASES[name])
            if value is None:
                continue
        if type(value) is not str:
            value = _as_text(names[index], value)
        if len(value) > limit:
            raise HeaderTooLargeError(f"header {names[index]} is too long")
        values[index] = value
    return values


def _lowercased(headers: Any) -> dict[str, Any]:
    """Every str-named header under its lowercase name, for the rare non-lowercase mapping."""
    try:
        items = list(headers.items())
    except Exception:
        raise MalformedRequestError(
            "headers must be a mapping of header names to strings"
        ) from None
    lowered: dict[str, Any] = {}
    for item in items:
        if not isinstance(item, tuple) or len(item) != 2:
            raise MalformedRequestError("headers must be a mapping of header names to strings")
        key, value = item
        if isinstance(key, bytes):
            key = key.decode("latin-1")
        if isinstance(key, str):
            lowered.setdefault(key.lower(), value)
    return lowered


def _as_text(name: str, value: Any) -> str:
    """Header values as text: str subclasses and ASCII bytes (raw ASGI headers) pass."""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        try:
            return bytes(value).decode("ascii")
        except UnicodeDecodeError:
            raise MalformedHeaderError(f"header {name} is not ASCII") from None
    raise MalformedHeaderError(f"header {name} is not a string")


def declared_length(digits: str) -> int:
    """A Content-Length of ASCII digits as a number, however many digits it has.

    int() of more than 4,300 digits raises ValueError (and is slow well before that), so
    anything longer than 18 significant digits is reported as 10**18, more than any limit.
    """
    significant = digits.strip().lstrip("0")
    if len(significant) > 18:
        return 10**18
    return int(significant or "0")
