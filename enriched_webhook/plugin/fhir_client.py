"""Reads one Task from Canvas's FHIR API with an OAuth client-credentials token.

The token is kept in the plugin cache until shortly before it expires, because fetching
one per event would double the FHIR round trips; a 401 means Canvas revoked or rotated
it, so it is fetched again once. A 404 right after TASK_CREATED is the read racing the
write, so it is retried a few times within about a second. Failures carry a reason
(status code, never a response body: bodies may echo PHI or tokens).

Requests go through `requests` with the FHIR_TIMEOUTS bound on each (connect, read), and a
whole read within twice that (token, a 401's refresh and 404 retries included): Canvas's
`Http` helper waits up to 30 s with no per-request bound, which a runner thread shared by
every plugin of the instance cannot afford. `retryable` on a failure tells the
outbox whether reading again later can help (a timeout, a 5xx) or not (a 403).
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import requests
from canvas_sdk.caching.plugins import get_cache

from ..shared.task_rules import is_fhir_id
from .config import PluginSettings
from .time_budget import cut_to_deadline

# Seconds between reads while a new Task is not yet visible: about one second in all.
NOT_FOUND_RETRY_DELAYS = (0.1, 0.2, 0.3, 0.4)
# Refresh this long before the token's stated expiry, to absorb clock skew and latency.
TOKEN_EXPIRY_MARGIN_SECONDS = 60


# Statuses after which reading again later cannot help: the request itself is refused.
PERMANENT_READ_STATUSES = (400, 403, 405, 410, 422)


class FhirReadError(Exception):
    """The Task could not be read; `reason` is safe to log."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status

    @property
    def retryable(self) -> bool:
        """Whether reading again later may succeed (unreachable, 5xx, 429, 401, 404...)."""
        return self.status not in PERMANENT_READ_STATUSES


# A request is not started with less than this left of the read's budget.
MIN_REQUEST_SECONDS = 0.5


class BoundedHttp:
    """GET and POST through `requests`, every call bounded by its (connect, read) seconds."""

    def get(self, url: str, headers: dict[str, str], timeout: tuple[float, float]) -> Any:
        return requests.get(url, headers=headers, timeout=timeout, allow_redirects=False)

    def post(
        self, url: str, data: dict[str, str], headers: dict[str, str], timeout: tuple[float, float]
    ) -> Any:
        return requests.post(
            url, data=data, headers=headers, timeout=timeout, allow_redirects=False
        )


def _token_cache_key(settings: PluginSettings) -> str:
    # The key names the credentials without containing them.
    ident = settings.fhir_token_url + "|" + settings.fhir_client_id
    return "fhir-token:" + hashlib.sha256(ident.encode("utf-8")).hexdigest()[:24]


class FhirTaskReader:
    """One reader per event; the token outlives it in the plugin cache."""

    def __init__(self, settings: PluginSettings, cache: Any = None, http: Any = None) -> None:
        self.settings = settings
        self.cache = cache if cache is not None else get_cache()
        self.http = http if http is not None else BoundedHttp()
        # While a read runs, the time.monotonic() it must end by: each request's timeouts are
        # cut to what is left, so a whole read (token, 401 refresh, 404 retries) stays within
        # DeliverySettings.read_budget_seconds, not just each request.
        self.deadline: float | None = None

    def timeouts(self) -> tuple[float, float]:
        """FHIR_TIMEOUTS, cut to what is left of the current read's budget."""
        timeouts = self.settings.delivery.fhir_timeouts
        if self.deadline is None:
            return timeouts
        cut = cut_to_deadline(timeouts, self.deadline, MIN_REQUEST_SECONDS)
        if cut is None:
            raise FhirReadError("the Task read used its whole time budget")
        return cut

    def fetch_token(self) -> str:
        """A fresh token from the token endpoint, stored in the cache for the next events."""
        timeout = self.timeouts()
        try:
            response = self.http.post(
                self.settings.fhir_token_url,
                data={
                    "grant_type": "client_credentials",
                    "client_id": self.settings.fhir_client_id,
                    "client_secret": self.settings.fhir_client_secret,
                },
                headers={"Accept": "application/json"},
                timeout=timeout,
            )
        except Exception as error:
            raise FhirReadError(
                "token endpoint unreachable (" + type(error).__name__ + ")"
            ) from None
        if response.status_code != 200:
            raise FhirReadError(
                "token endpoint answered " + str(response.status_code), response.status_code
            )
        try:
            document = response.json()
        except Exception:
            raise FhirReadError("token endpoint returned non-JSON") from None
        token = document.get("access_token") if isinstance(document, dict) else None
        if not isinstance(token, str) or not token:
            raise FhirReadError("token response has no access_token")
        expires_in = document.get("expires_in")
        lifetime = expires_in if isinstance(expires_in, int) and expires_in > 0 else 300
        keep_for = lifetime - TOKEN_EXPIRY_MARGIN_SECONDS
        if keep_for > 0:
            try:
                self.cache.set(_token_cache_key(self.settings), token, timeout_seconds=keep_for)
            except Exception:  # noqa: S110
                # A cache that refuses (e.g. a lifetime over its maximum) costs a token
                # fetch on the next event, never this event.
                pass
        return token

    def token(self) -> str:
        """The cached token, or a new one."""
        try:
            cached = self.cache.get(_token_cache_key(self.settings))
        except Exception:
            cached = None
        if isinstance(cached, str) and cached:
            return cached
        return self.fetch_token()

    def get_task(self, task_id: str, token: str) -> Any:
        url = self.settings.fhir_base_url + "/Task/" + task_id
        timeout = self.timeouts()
        try:
            return self.http.get(
                url,
                headers={"Authorization": "Bearer " + token, "Accept": "application/fhir+json"},
                timeout=timeout,
            )
        except Exception as error:
            raise FhirReadError("FHIR API unreachable (" + type(error).__name__ + ")") from None

    def read(self, task_id: str) -> dict[str, Any]:
        """The Task as the FHIR API returned it, parsed but otherwise untouched."""
        if not is_fhir_id(task_id):
            raise FhirReadError("the event's target is not a FHIR id")
        self.deadline = time.monotonic() + self.settings.delivery.read_budget_seconds
        try:
            return self._read(task_id)
        finally:
            self.deadline = None

    def _read(self, task_id: str) -> dict[str, Any]:
        token = self.token()
        refreshed = False
        delays = list(NOT_FOUND_RETRY_DELAYS)
        while True:
            response = self.get_task(task_id, token)
            status = response.status_code
            if status == 401 and not refreshed:
                try:
                    self.cache.delete(_token_cache_key(self.settings))
                except Exception:  # noqa: S110 - fetch_token overwrites the entry anyway
                    pass
                token = self.fetch_token()
                refreshed = True
                continue
            if status == 404 and delays:
                time.sleep(delays.pop(0))
                continue
            if status != 200:
                raise FhirReadError("FHIR API answered " + str(status), status)
            try:
                document = response.json()
            except Exception:
                raise FhirReadError("FHIR API returned non-JSON", status) from None
            if not isinstance(document, dict):
                raise FhirReadError("FHIR API returned JSON that is not an object", status)
            return document
