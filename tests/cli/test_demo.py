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


def test_demo_delivers_every_fixture_through_an_outage_and_a_resend() -> None:
    result = devtools("demo", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1].startswith("57/57 deliveries as expected")
    rows = [
        line.split() for line in lines if line.startswith(("every ", "same ", "outage ", "400,"))
    ]
    fixtures = [row for row in rows if row[0] == "every"]
    assert len(fixtures) == 32
    assert all(row[-2:] == ["ok", "204"] and "(delivered)" in row for row in fixtures)
    assert sum("one-row" in " ".join(row) for row in rows) == 2
    outage = [row for row in rows if row[0] == "outage"]
    assert len(outage) == 6 and all("(delivered)" in row for row in outage)
    # The Tasks created before the breaker opened needed a second attempt: the ticks sent it.
    assert sum(row[4] == "2" for row in outage) == 3
    (resent,) = [row for row in rows if row[0] == "400,"]
    assert resent[5] == "2" and resent[-2:] == ["ok", "204"]
    assert "receiver back; cron ticks" in result.stdout
    # Scene 4: every fixture as a FHIR notification Bundle, includes counted by the receiver.
    notified = [line for line in lines if line.startswith("fhir-notification ")]
    assert len(notified) == 16
    assert all(" ok 204 event-number=" in line and "(delivered)" in line for line in notified)
    canvas = [line for line in notified if "5f72fbcc-10ac-48ff-a2d2-02b229c38ce9" in line]
    assert canvas and canvas[0].endswith("included=3 named-gaps=0")
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
        if "scene 1: TASK_CREATED" in line:
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
        if "starting the plugin runner" in line:
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
