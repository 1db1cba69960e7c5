"""Replay stores: which event ids are handled, and which are being handled right now.

An id moves through two states. `claim` marks it in progress (with an expiry, so a
worker that dies mid-event does not block the sender's retries forever); `mark_handled`
records it as done, for long enough that any copy still inside the tolerance window is
recognised; `release` drops a claim after the handler failed, so a retry can succeed.
Keeping "handled" separate from "in progress" is what lets a receiver answer a duplicate
of a finished event with 2xx (the sender stops) and a concurrent one with 409 (the
sender retries later), instead of losing an event whose first attempt failed.
"""

from __future__ import annotations

import hmac
import os
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from .errors import (
    AlreadyHandledError,
    IdReusedError,
    InProgressError,
    ReplayStoreError,
    VerifierConfigError,
)

# A handled record is this prefix + the hex SHA-256 of the body that was handled; anything
# else stored under an id is a claim token.
HANDLED_PREFIX = "handled:"
# Seconds a Redis command may take before the request is answered 503 (see RedisReplayCache).
DEFAULT_REDIS_TIMEOUT = 1.0
DEFAULT_MAX_ENTRIES = 100_000


def handled_record(digest: str) -> str:
    return HANDLED_PREFIX + digest


def recorded_digest(value: str | None) -> str | None:
    """The body digest of a handled record, None if `value` is not one."""
    if value is not None and value.startswith(HANDLED_PREFIX):
        return value[len(HANDLED_PREFIX) :]
    return None


def refuse_handled(msg_id: str, recorded: str, digest: str) -> None:
    """Raise for an id already handled: a duplicate (2xx), or the id reused for another body."""
    if not hmac.compare_digest(recorded, digest):
        raise IdReusedError(f"event {msg_id} was handled with a different body")
    raise AlreadyHandledError(f"event {msg_id} was already handled")


def new_token() -> str:
    """A claim token: whoever holds it may finish or release the claim, nobody else."""
    return os.urandom(16).hex()


@runtime_checkable
class ReplayCache(Protocol):
    """What a Verifier needs from a replay store; implement it for another backend."""

    def handled_digest(self, msg_id: str) -> str | None:
        """The body digest `msg_id` was handled with (not expired), else None."""
        ...

    def claim(self, msg_id: str, ttl: float, digest: str) -> str:
        """Mark `msg_id` (body digest `digest`) in progress for `ttl` seconds; return a token.

        Raises AlreadyHandledError, IdReusedError (handled with another body) or
        InProgressError if the id is not free.
        """
        ...

    def mark_handled(self, msg_id: str, token: str, ttl: float, digest: str) -> None:
        """Record `msg_id` as handled with body `digest` for `ttl` seconds, ending `token`."""
        ...

    def release(self, msg_id: str, token: str) -> None:
        """Drop the claim `token` if it is still ours; never touches a handled record."""
        ...


class MemoryReplayCache:
    """An in-process store: bounded, expiring, thread-safe. One process only.

    When full, expired entries go first, then the oldest: the bound protects memory, at
    the price of forgetting the oldest ids under a flood. Size it above the number of
    events you receive within twice the tolerance window. Several processes or machines
    need a shared store (RedisReplayCache).
    """

    def __init__(
        self, max_entries: int = DEFAULT_MAX_ENTRIES, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if max_entries < 1:
            raise VerifierConfigError("max_entries must be at least 1")
        self._max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        # id -> (HANDLED or a claim token, expiry on self._clock); insertion order is age.
        self._entries: dict[str, tuple[str, float]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def handled_digest(self, msg_id: str) -> str | None:
        # A single dict read is atomic under the GIL: no lock on the hot path.
        entry = self._entries.get(msg_id)
        if entry is None or entry[1] <= self._clock():
            return None
        return recorded_digest(entry[0])

    def claim(self, msg_id: str, ttl: float, digest: str) -> str:
        with self._lock:
            now = self._clock()
            entry = self._entries.get(msg_id)
            if entry is not None and entry[1] > now:
                recorded = recorded_digest(entry[0])
                if recorded is not None:
                    refuse_handled(msg_id, recorded, digest)
                raise InProgressError(f"event {msg_id} is being handled by another worker")
            self._entries.pop(msg_id, None)
            self._make_room(now)
            token = new_token()
            self._entries[msg_id] = (token, now + ttl)
            return token

    def mark_handled(self, msg_id: str, token: str, ttl: float, digest: str) -> None:
        with self._lock:
            now = self._clock()
            self._entries.pop(msg_id, None)
            self._make_room(now)
            self._entries[msg_id] = (handled_record(digest), now + ttl)

    def release(self, msg_id: str, token: str) -> None:
        with self._lock:
            entry = self._entries.get(msg_id)
            if entry is not None and entry[0] == token:
                del self._entries[msg_id]

    def _make_room(self, now: float) -> None:
        entries = self._entries
        # Oldest first: drop the expired ones at the front, cheaply, on every write.
        while entries:
            oldest = next(iter(entries))
            if entries[oldest][1] > now and len(entries) < self._max_entries:
                break
            del entries[oldest]


_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisReplayCache:
    """A store shared by every receiver process and machine, in Redis.

    A claim is one `SET key token NX PX ttl`, atomic on the server, so of N workers
    receiving the same event exactly one wins. Finishing is a plain SET of the handled
    record: the event was handled, whoever holds the claim now. Releasing is a Lua script
    that compares the stored token first, so a worker whose claim expired and was taken
    over cannot delete the new owner's claim. `redis` is imported only here, on
    construction: install `enriched-webhook[redis]`.

    Given a URL, the client gets `timeout` (seconds) for connecting and for each reply,
    and no retries: redis-py 5 waits forever by default, so a frozen Redis would hang
    every request instead of answering 503 (ReplayStoreError), which the sender retries.
    A client you pass in keeps its own settings: give it `socket_timeout` and
    `socket_connect_timeout` for the same reason.
    """

    def __init__(
        self,
        client: Any,
        *,
        prefix: str = "enriched-webhook:replay:",
        timeout: float = DEFAULT_REDIS_TIMEOUT,
    ) -> None:
        try:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry
        except ImportError:
            raise ImportError(
                "RedisReplayCache needs the redis package: pip install 'enriched-webhook[redis]'"
            ) from None
        if isinstance(client, str):
            if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
                raise VerifierConfigError("timeout must be a positive number of seconds")
            client = redis.Redis.from_url(
                client,
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
                retry_on_timeout=False,
                retry=Retry(NoBackoff(), 0),  # redis-py 6 retries 3 times by default
            )
        self.client = client
        self.prefix = prefix
        self._errors: tuple[type[BaseException], ...] = (redis.exceptions.RedisError, OSError)
        self._release = client.register_script(_RELEASE)

    def _key(self, msg_id: str) -> str:
        return f"{self.prefix}{msg_id}"

    @staticmethod
    def _text(value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        return str(value)

    def handled_digest(self, msg_id: str) -> str | None:
        try:
            value = self.client.get(self._key(msg_id))
        except self._errors:
            raise ReplayStoreError("the replay store (Redis) is unavailable") from None
        return recorded_digest(self._text(value))

    def claim(self, msg_id: str, ttl: float, digest: str) -> str:
        key = self._key(msg_id)
        token = new_token()
        milliseconds = max(1, int(ttl * 1000))
        try:
            for _attempt in range(3):
                if self.client.set(key, token, nx=True, px=milliseconds):
                    return token
                current = self._text(self.client.get(key))
                recorded = recorded_digest(current)
                if recorded is not None:
                    refuse_handled(msg_id, recorded, digest)
                if current is not None:
                    raise InProgressError(f"event {msg_id} is being handled by another worker")
                # The other claim expired between SET and GET: try again.
        except self._errors:
            raise ReplayStoreError("the replay store (Redis) is unavailable") from None
        raise InProgressError(f"event {msg_id} is being handled by another worker")

    def mark_handled(self, msg_id: str, token: str, ttl: float, digest: str) -> None:
        milliseconds = max(1, int(ttl * 1000))
        record = handled_record(digest)
        try:
            self.client.set(self._key(msg_id), record, px=milliseconds)
        except self._errors:
            raise ReplayStoreError("the replay store (Redis) is unavailable") from None

    def release(self, msg_id: str, token: str) -> None:
        try:
            self._release(keys=[self._key(msg_id)], args=[token])
        except self._errors:
            raise ReplayStoreError("the replay store (Redis) is unavailable") from None
