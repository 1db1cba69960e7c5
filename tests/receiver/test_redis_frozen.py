"""A frozen Redis (SIGSTOP): every request is answered 503 within the timeout, none is lost.

redis-py 5 waits forever by default; RedisReplayCache(url) gives the client a timeout,
so the sender sees 503 (and retries) instead of a hung connection. After the freeze the
same deliveries, retried, are each handled exactly once.
"""

from __future__ import annotations

import os
import signal
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from enriched_webhook.receiver.http_server import serve
from enriched_webhook.verify import RedisReplayCache, VerifiedEvent, Verifier

from .helpers import NOW, body_for, fixture, hmac_headers, msg_id_for, new_whsec
from .servers import redis_server

TIMEOUT = 0.5
FROZEN_FOR = 10.0


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, float]:
    started = time.monotonic()
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    return status, time.monotonic() - started


def test_a_frozen_redis_gets_503_in_time_and_nothing_is_lost(tmp_path: Path) -> None:
    secret = new_whsec()
    handled: list[VerifiedEvent] = []
    with redis_server(tmp_path) as redis:
        store = RedisReplayCache(f"redis://127.0.0.1:{redis.port}/0", timeout=TIMEOUT)
        server = serve(
            Verifier(secret, now=NOW, replay_cache=store),
            on_event=handled.append,
            log=lambda line: None,
        )
        deliveries = []
        for number in range(40):
            task = dict(fixture().task)
            task["id"] = f"frozen-{number}"
            body = body_for(task)
            deliveries.append((body, hmac_headers(secret, body, msg_id_for(task))))
        try:
            assert post(server.url, *deliveries[0])[0] == 204  # connections are warm
            os.kill(redis.process.pid, signal.SIGSTOP)
            try:
                frozen_at = time.monotonic()
                answers = []
                batch = deliveries[1:5]  # never handled: each 503 leaves nothing behind
                with ThreadPoolExecutor(4) as pool:
                    while time.monotonic() - frozen_at < FROZEN_FOR:
                        answers += list(pool.map(lambda item: post(server.url, *item), batch))
            finally:
                os.kill(redis.process.pid, signal.SIGCONT)
            assert answers and {status for status, _ in answers} == {503}
            slowest = max(elapsed for _, elapsed in answers)
            assert slowest < TIMEOUT + 1.0, slowest
            assert [event.id for event in handled] == [deliveries[0][1]["webhook-id"]]
            # The sender retries after the freeze: every delivery handled exactly once.
            retried = [post(server.url, *item)[0] for item in deliveries]
            assert retried == [200] + [204] * (len(deliveries) - 1)
            assert sorted(event.id for event in handled) == sorted(
                headers["webhook-id"] for _, headers in deliveries
            )
        finally:
            server.shutdown()
    print(f"\nfrozen {FROZEN_FOR:.0f} s: {len(answers)} requests, all 503, slowest {slowest:.2f} s")
