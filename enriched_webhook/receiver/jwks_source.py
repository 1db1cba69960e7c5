"""Where JWT verification keys come from: a JWKS given inline, or fetched from a URL.

Keys are loaded into PyJWT/cryptography objects once per document, never per request:
parsing a JWK costs more than verifying an ES256 signature. A URL is fetched lazily,
re-fetched when its cache is older than `max_age`, and re-fetched early when a token
names a kid we do not hold (the sender rotated keys), but at most once per
`refresh_interval`, so a stream of forged kids cannot turn the receiver into a request
amplifier against the JWKS host. The document must pass the same public-keys-only rule
as the plugin's route (`shared.jwks.check_public_jwks`): a JWKS with symmetric or private
members is refused rather than silently used.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import urlsplit

from ..shared.jwks import JwksError, check_public_jwks
from .errors import KeySetUnavailableError, UnknownKeyError, VerifierConfigError
from .jwt_check import JwsKey, key_from_jwk

MAX_JWKS_BYTES = 1024 * 1024
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


class KeySource(Protocol):
    """Finds the key for a token's kid and alg, or raises UnknownKeyError."""

    def find(self, kid: str | None, algorithm: str) -> JwsKey: ...


class KeySet:
    """The usable keys of one JWKS document, indexed by kid."""

    def __init__(self, document: Any) -> None:
        check_public_jwks(document)
        self.keys: list[JwsKey] = []
        for jwk in document["keys"]:
            loaded = key_from_jwk(jwk)
            if loaded is not None:
                self.keys.append(loaded)
        self._by_kid = {key.kid: key for key in self.keys if key.kid is not None}

    def find(self, kid: str | None, algorithm: str) -> JwsKey:
        if kid is not None:
            if not isinstance(kid, str):
                raise UnknownKeyError("JWT kid is not a string")
            found = self._by_kid.get(kid)
            if found is None:
                raise UnknownKeyError("JWT kid is not in the JWKS")
            return found
        usable = [key for key in self.keys if algorithm in key.algorithms]
        if len(usable) != 1:
            raise UnknownKeyError("JWT has no kid and the JWKS has no single key for its alg")
        return usable[0]


def static_key_set(document: Any) -> KeySet:
    """A KeySet from an inline JWKS; a bad document is a configuration error."""
    try:
        key_set = KeySet(document)
    except JwksError as error:
        raise VerifierConfigError(str(error).replace("JWT_PUBLIC_JWKS", "jwks")) from None
    if not key_set.keys:
        raise VerifierConfigError("jwks holds no key usable for asymmetric signatures")
    return key_set


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to a URL `check_jwks_url` accepts: never https -> http."""

    def redirect_request(
        self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> Any:
        check_jwks_url(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_CheckedRedirects)


def fetch_jwks(url: str, timeout: float) -> Any:
    """GET the JWKS document; any failure is KeySetUnavailableError."""
    try:
        request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
        with _OPENER.open(request, timeout=timeout) as response:
            raw = response.read(MAX_JWKS_BYTES + 1)
        if len(raw) > MAX_JWKS_BYTES:
            raise KeySetUnavailableError("the JWKS document is too large")
        return json.loads(raw)
    except KeySetUnavailableError:
        raise
    except Exception:
        raise KeySetUnavailableError("the JWKS URL could not be fetched") from None


def check_jwks_url(url: str) -> str:
    """https, or http to a loopback host (local runs): keys must not travel in clear text."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return url
    raise VerifierConfigError("jwks_url must be https (http only to localhost)")


class RemoteKeySet:
    """The sender's keys at a JWKS URL, fetched on first use and cached; thread-safe.

    Pass it as `Verifier(jwks=RemoteKeySet(url, ...))` to tune fetching, as PyJWT's
    `PyJWKClient` is tuned apart from `jwt.decode`; `Verifier(jwks_url=url)` uses the
    defaults. `timeout`: seconds one fetch may take. `max_age`: seconds the keys are used
    before a routine re-fetch. `refresh_interval`: the least time between two fetches, so
    tokens naming unknown kids re-fetch at most that often. `fetch` and `clock` replace the
    HTTP GET and the monotonic clock (tests). The URL must be https (http only to a
    loopback host).
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 5.0,
        max_age: float = 3600.0,
        refresh_interval: float = 60.0,
        fetch: Callable[[str, float], Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = check_jwks_url(url)
        self._timeout = timeout
        self._max_age = max_age
        self._refresh_interval = refresh_interval
        self._fetch = fetch if fetch is not None else fetch_jwks
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: KeySet | None = None
        self._fetched_at = 0.0
        self._attempted_at: float | None = None

    def find(self, kid: str | None, algorithm: str) -> JwsKey:
        keys = self._keys
        if keys is None or self._clock() - self._fetched_at > self._max_age:
            keys = self._refresh(keys)
        try:
            return keys.find(kid, algorithm)
        except UnknownKeyError:
            if not self._may_refetch():
                raise
        return self._refresh(keys).find(kid, algorithm)

    def _may_refetch(self) -> bool:
        attempted = self._attempted_at
        return attempted is None or self._clock() - attempted >= self._refresh_interval

    def _refresh(self, current: KeySet | None) -> KeySet:
        """Fetch now (one thread at a time); on failure keep serving the cached keys."""
        with self._lock:
            if self._keys is not current and self._keys is not None:
                return self._keys  # another thread refreshed while we waited
            if not self._may_refetch():
                if current is not None:
                    return current
                raise KeySetUnavailableError("the JWKS URL failed recently; not retrying yet")
            self._attempted_at = self._clock()
            try:
                document = self._fetch(self.url, self._timeout)
                fresh = KeySet(document)
            except Exception as error:
                if current is not None:
                    return current
                if isinstance(error, KeySetUnavailableError):
                    raise
                raise KeySetUnavailableError(
                    "the JWKS URL did not return a JWKS of public keys"
                ) from None
            self._keys = fresh
            self._fetched_at = self._attempted_at
            return fresh
