"""`python -m devtools demo` (= `make demo`), the main job, as a new user runs it; and Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import psutil
import pytest

from devtools.runner import RUNNER_PORT, port_is_free
from tests.cli.run_cli import REPO, devtools, devtools_command

pytestmark = pytest.mark.runner


def test_demo_delivers_and_verifies_every_fixture_in_both_modes() -> None:
    result = devtools("demo", timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1].startswith("34/34 deliveries as expected")
    rows = [line for line in lines if line.startswith("TASK_CREATED")]
    assert len(rows) == 34
    assert sum(" hmac " in row and " ok 204 " in row for row in rows) == 16
    assert sum(" jwt " in row and " ok 204 " in row for row in rows) == 16
    assert sum("AlreadyHandledError 200" in row for row in rows) == 2
    assert "starting the Canvas plugin runner" in result.stdout
    assert port_is_free(RUNNER_PORT)


def test_ctrl_c_stops_every_process_the_demo_started() -> None:
    env = dict(os.environ, CANVAS_NO_UPDATE_CHECK="1")
    demo = subprocess.Popen(
        devtools_command("demo"), stdout=subprocess.PIPE, text=True, env=env, cwd=REPO
    )
    assert demo.stdout is not None
    children: list[psutil.Process] = []
    deadline = time.monotonic() + 60
    for line in demo.stdout:
        if "sending TASK_CREATED" in line:
            children = psutil.Process(demo.pid).children(recursive=True)
            break
        assert time.monotonic() < deadline
    assert children, "the demo started no plugin runner"
    demo.send_signal(signal.SIGINT)
    rest = demo.stdout.read()
    assert demo.wait(timeout=30) == 130
    assert "every process it started has been stopped" in rest
    _gone, alive = psutil.wait_procs(children, timeout=10)
    assert alive == [], "left running: " + str([p.pid for p in alive])
    assert port_is_free(RUNNER_PORT)


def test_ctrl_c_while_the_runner_starts_stops_it_too() -> None:
    env = dict(os.environ, CANVAS_NO_UPDATE_CHECK="1")
    demo = subprocess.Popen(
        devtools_command("demo"), stdout=subprocess.PIPE, text=True, env=env, cwd=REPO
    )
    assert demo.stdout is not None
    for line in demo.stdout:
        if "starting the Canvas plugin runner" in line:
            break
    children: list[psutil.Process] = []
    deadline = time.monotonic() + 20
    while not children and time.monotonic() < deadline:  # the runner is spawned, still loading
        children = psutil.Process(demo.pid).children(recursive=True)
        time.sleep(0.02)
    assert children, "no runner process was started"
    demo.send_signal(signal.SIGINT)
    demo.stdout.read()
    assert demo.wait(timeout=30) == 130
    _gone, alive = psutil.wait_procs(children, timeout=10)
    assert alive == []
    assert port_is_free(RUNNER_PORT)
