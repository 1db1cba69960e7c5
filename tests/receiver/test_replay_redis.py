"""RedisReplayCache against a real redis-server (started by the `redis_url` fixture)."""

from __future__ import annotations

import hashlib
import threading
import time

import pytest
import redis

from enriched_webhook.verify import (
    AlreadyHandledError,
    IdReusedError,
    InProgressError,
    RedisReplayCache,
    ReplayCache,
    ReplayStoreError,
    Verifier,
)

from .helpers import NOW, body_for, fixture, hmac_headers


class HandlerError(Exception):
    pass


@pytest.fixture
def cache(redis_url: str) -> RedisReplayCache:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    return RedisReplayCache(client, prefix="test:")


def test_accepts_a_url_and_satisfies_the_protocol(redis_url: str) -> None:
    store = RedisReplayCache(redis_url)
    assert isinstance(store, ReplayCache)
    token = store.claim("url-check", 5, "d1")
    store.release("url-check", token)


def test_exactly_one_of_many_concurrent_process_calls_wins(
    cache: RedisReplayCache, secret: str
) -> None:
    body = body_for(fixture().task)
    headers = hmac_headers(secret, body, "msg_race")
    workers = [Verifier(secret, now=NOW, replay_cache=cache) for _ in range(4)]
    start = threading.Barrier(20)
    hold = threading.Event()
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker(index: int) -> None:
        check = workers[index % len(workers)]
        start.wait()
        try:
            with check.process(body, headers):
                result = "won"
                hold.wait(timeout=5)
        except InProgressError:
            result = "busy"
        except AlreadyHandledError:
            result = "handled"
        with lock:
            outcomes.append(result)
        if len(outcomes) == 19:
            hold.set()

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert len(outcomes) == 20
    assert outcomes.count("won") == 1
    assert outcomes.count("busy") + outcomes.count("handled") == 19
    with pytest.raises(AlreadyHandledError):
        workers[0].verify(body, headers)


def test_release_on_exception_then_retry_then_handled(cache: RedisReplayCache, secret: str) -> None:
    body = body_for(fixture().task)
    headers = hmac_headers(secret, body, "msg_retry")
    check = Verifier(secret, now=NOW, replay_cache=cache)
    with pytest.raises(HandlerError):
        with check.process(body, headers):
            raise HandlerError
    assert cache.client.get("test:msg_retry") is None
    with check.process(body, headers):
        pass
    assert cache.handled_digest("msg_retry") == hashlib.sha256(body).hexdigest()
    with pytest.raises(AlreadyHandledError):
        with check.process(body, headers):
            pass


def test_claims_and_handled_records_expire(cache: RedisReplayCache) -> None:
    cache.claim("short", 0.2, "d1")
    with pytest.raises(InProgressError):
        cache.claim("short", 0.2, "d1")
    time.sleep(0.35)
    token = cache.claim("short", 5, "d1")
    cache.mark_handled("short", token, 0.2, "d1")
    assert cache.handled_digest("short") == "d1"
    ttl = cache.client.pttl("test:short")
    assert 0 < ttl <= 200
    time.sleep(0.35)
    assert cache.handled_digest("short") is None


def test_release_only_if_still_ours(cache: RedisReplayCache) -> None:
    mine = cache.claim("owned", 0.1, "d1")
    time.sleep(0.2)
    theirs = cache.claim("owned", 5, "d1")
    cache.release("owned", mine)  # our claim expired and was taken over: no effect
    with pytest.raises(InProgressError):
        cache.claim("owned", 5, "d1")
    cache.release("owned", theirs)
    assert cache.client.get("test:owned") is None


def test_handled_record_is_not_released(cache: RedisReplayCache) -> None:
    token = cache.claim("done", 5, "d1")
    cache.mark_handled("done", token, 5, "d1")
    cache.release("done", token)
    assert cache.handled_digest("done") == "d1"
    with pytest.raises(AlreadyHandledError):
        cache.claim("done", 5, "d1")


def test_decode_responses_clients_work(redis_url: str) -> None:
    store = RedisReplayCache(redis.Redis.from_url(redis_url, decode_responses=True), prefix="s:")
    store.client.flushdb()
    token = store.claim("text", 5, "d1")
    store.mark_handled("text", token, 5, "d1")
    assert store.handled_digest("text") == "d1"
    with pytest.raises(AlreadyHandledError):
        store.claim("text", 5, "d1")


def test_unreachable_redis_is_a_store_error(secret: str) -> None:
    store = RedisReplayCache("redis://127.0.0.1:1/0")
    with pytest.raises(ReplayStoreError) as caught:
        store.claim("x", 5, "d1")
    assert caught.value.http_status == 503
    body = body_for(fixture().task)
    check = Verifier(secret, now=NOW, replay_cache=store)
    with pytest.raises(ReplayStoreError):
        check.verify(body, hmac_headers(secret, body))


def test_a_handled_id_with_a_different_body_is_refused_not_acknowledged(
    cache: RedisReplayCache, secret: str
) -> None:
    body = body_for(fixture().task)
    check = Verifier(secret, now=NOW, replay_cache=cache)
    with check.process(body, hmac_headers(secret, body, "msg_reused")):
        pass
    other = body_for(fixture("task-example3").task)
    with pytest.raises(IdReusedError) as caught:
        check.verify(other, hmac_headers(secret, other, "msg_reused"))
    assert caught.value.http_status == 422
    with pytest.raises(AlreadyHandledError):
        check.verify(body, hmac_headers(secret, body, "msg_reused"))


def test_a_redis_claim_tells_a_duplicate_from_a_reused_id(cache: RedisReplayCache) -> None:
    cache.mark_handled("race", cache.claim("race", 5, "d1"), 5, "d1")
    with pytest.raises(AlreadyHandledError):
        cache.claim("race", 5, "d1")
    with pytest.raises(IdReusedError):
        cache.claim("race", 5, "d2")
