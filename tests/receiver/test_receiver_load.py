"""The reference receiver under load and slow clients (marked `load`; 127.0.0.1 only).

The receiver runs as a user runs it (`python -m enriched_webhook.cli receive`), in its
own process, so its memory and threads are its own. Bounded: 2,000 slow sockets, 1,000
and 5,000 deliveries, every client with a timeout; the slow clients stop with the test.
"""

from __future__ import annotations

import os
import resource
import selectors
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .helpers import body_for, fixture, hmac_headers, msg_id_for, new_whsec
from .servers import Served, free_port, server_process

pytestmark = pytest.mark.load
SECRET = new_whsec()
SLOW_CLIENTS = 2000


def raise_open_file_limit(needed: int) -> None:
    """Sockets of the test and (inherited) of the receiver: one descriptor each."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.fail(f"the open-file hard limit is {hard}; this test needs {needed}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Served]:
    raise_open_file_limit(4 * SLOW_CLIENTS + 1000)
    port = free_port()
    env = dict(os.environ, WEBHOOK_SECRET=SECRET, PYTHONUNBUFFERED="1")
    command = [sys.executable, "-m", "enriched_webhook.cli", "receive", "--port", str(port)]
    with server_process(command, port, tmp_path, env) as served:
        yield served


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def deliver(url: str, number: int, timeout: float = 5.0) -> tuple[int, float]:
    """One new connection, one signed delivery; status 0 is a timeout or a refused connect."""
    task = dict(fixture().task)
    task["id"] = f"load-{number}"
    now = int(time.time())
    body = body_for(task, now=now)
    headers = {**hmac_headers(SECRET, body, msg_id_for(task), now), "Connection": "close"}
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except OSError:
        status = 0
    return status, (time.perf_counter() - started) * 1000


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class SlowClients:
    """`count` sockets each sending one header byte a second, reconnecting when cut off."""

    def __init__(self, port: int, count: int) -> None:
        self.port = port
        self.count = count
        self.reconnects = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> SlowClients:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _open(self) -> socket.socket:
        sock = socket.socket()
        sock.setblocking(False)
        sock.connect_ex(("127.0.0.1", self.port))
        return sock

    def _run(self) -> None:
        selector = selectors.DefaultSelector()
        sockets = [self._open() for _ in range(self.count)]
        prefix = b"POST /hook HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
        sent = 0
        try:
            while not self._stop.wait(1.0):
                for index, sock in enumerate(sockets):
                    byte = prefix[sent : sent + 1] or b"a"
                    try:
                        sock.send(byte)
                    except (BlockingIOError, InterruptedError):
                        pass
                    except OSError:  # cut off by the receiver: an attacker reconnects
                        sock.close()
                        sockets[index] = self._open()
                        self.reconnects = self.reconnects + 1
                sent = sent + 1
        finally:
            selector.close()
            for sock in sockets:
                sock.close()


def test_slow_clients_do_not_stop_good_deliveries(receiver: Served) -> None:
    url = f"{receiver.url}/hook"
    assert deliver(url, -1)[0] == 204
    idle_rss = rss_mib(receiver.process.pid)
    with SlowClients(receiver.port, SLOW_CLIENTS) as slow, ThreadPoolExecutor(4) as pool:
        time.sleep(3)  # the slow clients are connected and trickling
        held_rss = rss_mib(receiver.process.pid)
        results = list(pool.map(lambda number: deliver(url, number), range(1000)))
        reconnects = slow.reconnects
    # All 2,000 just closed at once: the next delivery is not stalled behind them.
    after_status, after_ms = deliver(url, 1000)
    assert after_status == 204 and after_ms < 1000, after_ms
    statuses = [status for status, _ in results]
    latencies = [elapsed for _, elapsed in results]
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    print(
        f"\n{SLOW_CLIENTS} slow clients, 1,000 deliveries: p50 {p50:.1f} ms, p99 {p99:.1f} ms,"
        f" max {max(latencies):.1f} ms; receiver RSS {idle_rss:.0f} MiB idle, {held_rss:.0f} MiB"
        f" with the slow clients; slow-client reconnects {reconnects};"
        f" first delivery after all closed at once: {after_ms:.1f} ms"
    )
    assert statuses == [204] * 1000, {status: statuses.count(status) for status in set(statuses)}
    assert p99 < 100, p99


def test_5000_deliveries_50_clients_a_connection_each(receiver: Served) -> None:
    url = f"{receiver.url}/hook"
    with ThreadPoolExecutor(50) as pool:
        started = time.monotonic()
        results = list(pool.map(lambda number: deliver(url, number), range(5000)))
        seconds = time.monotonic() - started
    statuses = [status for status, _ in results]
    latencies = [elapsed for _, elapsed in results]
    print(
        f"\n5,000 deliveries, 50 clients, new connection each: {5000 / seconds:.0f}/s,"
        f" p50 {percentile(latencies, 0.5):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms,"
        f" max {max(latencies):.0f} ms, timeouts {statuses.count(0)}"
    )
    assert statuses.count(0) == 0
    assert statuses == [204] * 5000, {status: statuses.count(status) for status in set(statuses)}
