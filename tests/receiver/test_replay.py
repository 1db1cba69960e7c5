"""Replay semantics with the in-memory store: handled vs in progress, release on failure."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from enriched_webhook.shared.delivery_contract import DEFAULT_RETRY_SCHEDULE
from enriched_webhook.verify import (
    AlreadyHandledError,
    IdReusedError,
    InProgressError,
    MemoryReplayCache,
    ReplayCache,
    ReplayError,
    Verifier,
)

from .helpers import NOW, body_for, fixture, hmac_headers


class HandlerError(Exception):
    pass


def setup(secret: str, **options: Any) -> tuple[Verifier, bytes, dict[str, str]]:
    body = body_for(fixture().task)
    return Verifier(secret, now=NOW, **options), body, hmac_headers(secret, body)


def test_process_records_handled_and_refuses_a_resend(secret: str) -> None:
    check, body, headers = setup(secret)
    with check.process(body, headers) as event:
        assert event.id == "msg_test"
    with pytest.raises(AlreadyHandledError) as caught:
        with check.process(body, headers):
            pytest.fail("a handled event must not be handled again")
    assert caught.value.http_status == 200
    assert isinstance(caught.value, ReplayError)


def test_process_releases_the_claim_on_exception_so_a_retry_succeeds(secret: str) -> None:
    check, body, headers = setup(secret)
    with pytest.raises(HandlerError):
        with check.process(body, headers):
            raise HandlerError
    check.verify(body, headers)  # not recorded as handled
    with check.process(body, headers) as event:
        assert event.id == "msg_test"
    with pytest.raises(AlreadyHandledError):
        check.verify(body, headers)


def test_in_progress_is_its_own_error(secret: str) -> None:
    check, body, headers = setup(secret)
    with check.process(body, headers):
        with pytest.raises(InProgressError) as caught:
            with check.process(body, headers):
                pytest.fail("two workers must not hold one event")
        assert caught.value.http_status == 409
        assert not isinstance(caught.value, AlreadyHandledError)


def test_exactly_one_of_many_concurrent_claims_wins(secret: str) -> None:
    check, body, headers = setup(secret)
    barrier = threading.Barrier(16)
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait()
        try:
            with check.process(body, headers):
                result = "won"
                barrier_inner.wait(timeout=5)
        except InProgressError:
            result = "busy"
        except AlreadyHandledError:
            result = "handled"
        with lock:
            outcomes.append(result)

    barrier_inner = threading.Barrier(1)
    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert outcomes.count("won") == 1
    assert len(outcomes) == 16


def test_memory_cache_expires_and_is_bounded() -> None:
    ticks = [0.0]
    cache = MemoryReplayCache(max_entries=3, clock=lambda: ticks[0])
    assert isinstance(cache, ReplayCache)
    token = cache.claim("a", 10, "d1")
    with pytest.raises(InProgressError):
        cache.claim("a", 10, "d1")
    ticks[0] = 11.0  # the claim expired: a crashed worker does not block retries
    token = cache.claim("a", 10, "d1")
    cache.mark_handled("a", token, 100, "d1")
    assert cache.handled_digest("a") == "d1"
    cache.release("a", token)  # never undoes a handled record
    assert cache.handled_digest("a") == "d1"
    ticks[0] = 200.0
    assert cache.handled_digest("a") is None
    for name in "bcdef":
        cache.mark_handled(name, cache.claim(name, 10, "d1"), 1000, "d1")
    assert len(cache) <= 3
    assert cache.handled_digest("f") == "d1" and cache.handled_digest("b") is None


def test_release_only_if_still_ours() -> None:
    ticks = [0.0]
    cache = MemoryReplayCache(clock=lambda: ticks[0])
    mine = cache.claim("x", 5, "d1")
    ticks[0] = 6.0
    theirs = cache.claim("x", 5, "d1")
    cache.release("x", mine)  # late release of an expired claim
    with pytest.raises(InProgressError):
        cache.claim("x", 5, "d1")
    cache.release("x", theirs)
    assert cache.claim("x", 5, "d1")


def test_handled_ttl_covers_the_senders_whole_retry_span(secret: str) -> None:
    """A repeat may come days later, freshly signed: it must still be recognised."""
    check, _, _ = setup(secret, tolerance=300)
    assert check.handled_ttl >= sum(DEFAULT_RETRY_SCHEDULE) + 2 * 300


def test_a_handled_id_with_a_different_body_is_refused_not_acknowledged(secret: str) -> None:
    check, body, headers = setup(secret)
    with check.process(body, headers):
        pass
    other = body_for(fixture("task-example3").task)
    forged = hmac_headers(secret, other, headers["webhook-id"])
    with pytest.raises(IdReusedError) as caught:
        check.verify(other, forged)
    assert caught.value.http_status == 422
    assert not isinstance(caught.value, AlreadyHandledError)
    with pytest.raises(IdReusedError):
        with check.process(other, forged):
            pass


def test_a_claim_tells_a_duplicate_from_a_reused_id() -> None:
    """The race: another worker finished the id between verify() and claim()."""
    cache = MemoryReplayCache()
    cache.mark_handled("r", cache.claim("r", 10, "d1"), 100, "d1")
    with pytest.raises(AlreadyHandledError):
        cache.claim("r", 10, "d1")
    with pytest.raises(IdReusedError):
        cache.claim("r", 10, "d2")
