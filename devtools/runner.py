"""The real Canvas plugin runner (`canvas run-plugin`), driven over gRPC as Canvas drives it.

The runner reads SECRETS.json once at start, listens on the fixed port 50051, and runs
each handler in the RestrictedPython sandbox: so a pass here proves sandbox-safety at
compute time, which pytest alone cannot. Only one runner can run at a time.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from enriched_webhook.tools.plugin_files import PACKAGE_NAME, copy_plugin

RUNNER_PORT = 50051
START_TIMEOUT_SECONDS = 60.0


class RunnerError(RuntimeError):
    """The plugin runner could not be started or did not answer."""


@dataclass(frozen=True)
class EmittedEffect:
    """One effect the plugin returned: its type name and its decoded payload."""

    type: str
    payload: dict[str, Any]


def canvas_executable() -> str:
    """The `canvas` CLI installed beside this interpreter, else the one on PATH."""
    beside = Path(sys.executable).parent / "canvas"
    if beside.exists():
        return str(beside)
    found = shutil.which("canvas")
    if found is None:
        raise RunnerError("the canvas CLI is not installed (pip install canvas)")
    return found


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


class PluginRunner:
    """Starts `canvas run-plugin` on a plugin-only copy with the given variables.

    Use as a context manager; the runner is stopped (and its temporary folder removed) on
    exit, also when the body raises. `plugin_source` runs a copy of another plugin folder
    instead (the benchmark's floor plugin measures the runner's own cost per event with
    it); by default the runner gets the copy of ours that `canvas deploy` would get.
    """

    def __init__(
        self,
        secrets: dict[str, str],
        environment: dict[str, str] | None = None,
        log_path: Path | None = None,
        plugin_source: Path | None = None,
        database: Path | None = None,
    ) -> None:
        self.secrets = secrets
        self.plugin_source = plugin_source
        self.environment = environment or {}
        self.workdir = Path(tempfile.mkdtemp(prefix="enriched-webhook-runner-"))
        self.log_path = log_path or self.workdir / "runner.log"
        # The runner's SQLite database (the outbox): its own per run unless one is given,
        # e.g. to start a second runner on the first one's rows.
        self.database = database or self.workdir / "canvas_db.sqlite3"
        self.process: subprocess.Popen[bytes] | None = None
        self.channel: Any = None
        self.stub: Any = None
        self.saved_log = ""

    def __enter__(self) -> PluginRunner:
        try:
            self.start()
        except BaseException:
            # A failed or interrupted start (Ctrl-C while waiting) must not leave a runner
            # on port 50051, nor SECRETS.json on disk: the runner has its own session, so
            # a terminal's Ctrl-C never reaches it.
            self.stop()
            self.cleanup()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
        self.cleanup()

    def start(self) -> None:
        import grpc
        from canvas_generated.services.plugin_runner_pb2_grpc import PluginRunnerStub

        if not port_is_free(RUNNER_PORT):
            raise RunnerError(
                "port 50051 is in use: another plugin runner is running (stop it first)"
            )
        if self.plugin_source is None:
            plugin_dir = copy_plugin(self.workdir / "plugins")
        else:
            plugin_dir = self.workdir / "plugins" / self.plugin_source.name
            shutil.copytree(
                self.plugin_source, plugin_dir, ignore=shutil.ignore_patterns("__pycache__")
            )
        (plugin_dir / "SECRETS.json").write_text(json.dumps(self.secrets))
        env = dict(os.environ)
        env.update({"CANVAS_NO_UPDATE_CHECK": "1", "PYTHONUNBUFFERED": "1"})
        # A per-run key for the runner's own GraphQL tokens (never used here); unset, it warns.
        env.setdefault("PLUGIN_RUNNER_SIGNING_KEY", secrets.token_hex(32))
        env.update(self.environment)
        env.pop("DATABASE_URL", None)
        settings_dir = self.workdir / "settings"
        settings_dir.mkdir(exist_ok=True)
        shutil.copy2(Path(__file__).with_name("runner_settings.py"), settings_dir / "settings.py")
        env["PYTHONPATH"] = os.pathsep.join(
            [str(settings_dir), *filter(None, [env.get("PYTHONPATH")])]
        )
        env["ENRICHED_WEBHOOK_RUNNER_DB"] = str(self.database)
        command = [canvas_executable(), "run-plugin", str(plugin_dir)]
        log_file = self.log_path.open("ab")
        self.process = subprocess.Popen(
            command,
            cwd=self.workdir,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log_file.close()
        self.channel = grpc.insecure_channel("127.0.0.1:" + str(RUNNER_PORT))
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            if self.process.poll() is not None:
                raise RunnerError("the plugin runner exited at start:\n" + self.log_tail())
            try:
                grpc.channel_ready_future(self.channel).result(timeout=0.5)
                break
            except grpc.FutureTimeoutError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RunnerError(
                        "the plugin runner did not start:\n" + self.log_tail()
                    ) from None
        self.stub = PluginRunnerStub(self.channel)

    def send_event(
        self, event_type: str, target: str, context: dict[str, Any] | None = None
    ) -> list[EmittedEffect]:
        """Send one event as Canvas does and return the effects the plugins produced."""
        from canvas_generated.messages.events_pb2 import Event as EventMessage
        from canvas_generated.messages.events_pb2 import EventType

        if self.stub is None:
            raise RunnerError("the plugin runner is not running")
        message = EventMessage(
            type=EventType.Value(event_type),
            target=target,
            context=json.dumps(context or {}),
        )
        effects: list[EmittedEffect] = []
        for response in self.stub.HandleEvent(message, timeout=60):
            for effect in response.effects:
                payload = json.loads(effect.payload) if effect.payload else {}
                effects.append(EmittedEffect(type=_effect_name(effect.type), payload=payload))
        return effects

    def log_text(self) -> str:
        """Everything the runner has printed so far (the plugin's log lines included)."""
        if not self.log_path.exists():
            return self.saved_log
        return self.log_path.read_text(errors="replace")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def stop(self) -> None:
        if self.channel is not None:
            self.channel.close()
            self.channel = None
            self.stub = None
        started = self.process is not None
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, 15)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait(timeout=5)
        self.process = None
        # Wait for our runner's port to be released, so the next runner can start at once.
        deadline = time.monotonic() + 10
        while started and not port_is_free(RUNNER_PORT) and time.monotonic() < deadline:
            time.sleep(0.05)

    def cleanup(self) -> None:
        """Remove the runner's temporary folder (its SECRETS.json with it); keep the log."""
        self.saved_log = self.log_text()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _effect_name(effect_type: int) -> str:
    from canvas_generated.messages.effects_pb2 import EffectType

    return str(EffectType.Name(effect_type))


__all__ = ["PACKAGE_NAME", "EmittedEffect", "PluginRunner", "RunnerError"]
