"""The runner harness never leaves a runner or a SECRETS.json behind, even when it fails."""

from __future__ import annotations

import socket

import pytest

from devtools.runner import RUNNER_PORT, PluginRunner, RunnerError
from tests.support import new_whsec

pytestmark = pytest.mark.runner


def test_a_runner_that_cannot_start_leaves_no_secrets_behind() -> None:
    runner = PluginRunner({"WEBHOOK_SECRET": new_whsec()})
    with socket.socket() as blocker:
        # A runner stopped just before may leave 50051 in TIME_WAIT: bind anyway.
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        blocker.bind(("127.0.0.1", RUNNER_PORT))
        blocker.listen()
        with pytest.raises(RunnerError, match="port 50051 is in use"):
            with runner:
                pass
    assert not runner.workdir.exists()


def test_a_stopped_runner_removes_its_secrets_and_keeps_its_log() -> None:
    with PluginRunner({"WEBHOOK_SECRET": new_whsec()}) as runner:
        assert (runner.workdir / "plugins" / "enriched_webhook" / "SECRETS.json").exists()
    assert not runner.workdir.exists()
    assert "Successfully loaded plugin" in runner.log_text()
