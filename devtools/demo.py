"""The main job on one machine: Tasks through the real Canvas plugin runner and its outbox,
signed, sent and verified by the reference receiver. Exits non-zero if anything failed.

Three scenes:
1. every fixture Task, in HMAC and in JWT (ES256) mode, delivered on the first attempt
   from `compute()`; the same event again makes no second delivery (one outbox row);
2. an outage: the receiver refuses connections, then hangs, then answers 503 while Tasks
   are created; it comes back, cron ticks run, and every Task arrives, each re-signed when
   sent (the table says which attempt delivered it);
3. a receiver that answers 400: the row fails after one attempt and stays visible; once
   the receiver is fixed, a resend through the operations API delivers it;
4. PAYLOAD_FORMAT=fhir-notification with INCLUDE: every fixture Task as an R4 Subscriptions
   Backport notification Bundle carrying its patient, owner and requester
   (devtools/demo_notification.py).

Nothing to configure: secrets and keys are made fresh for the run and live only in memory
and in the runner's temporary folder, which is removed when it stops. The retry schedule
is shortened to seconds (RETRY_SCHEDULE) so the scenes take seconds, not days. Every
process and server it starts is stopped on the way out, Ctrl-C included.
"""

from __future__ import annotations

import copy
import json
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, TextIO

from enriched_webhook.receiver.event import VerifiedEvent
from enriched_webhook.receiver.http_server import serve
from enriched_webhook.receiver.verifier import Verifier
from enriched_webhook.tools.keys import new_hmac_secret, new_key_pair

from .demo_notification import (
    NOTIFICATION_VARIABLES,
    notification_scene,
    serve_resources,
    summary,
)
from .fault_gate import BLACKHOLE, FORWARD, REFUSE, FaultGate
from .fhir_server import LocalFhirServer
from .fixtures import FixtureTask, fixture_tasks
from .outbox_client import api, tick
from .runner import PluginRunner, RunnerError

SOURCE = "https://local.canvasmedical.com"
MODES = ("hmac", "jwt")
API_KEY = "demo-operations-key-0123456789"
# Seconds between retries for the demo; the default schedule spans 3.2 days.
DEMO_SCHEDULE = "1,1,1,1,1,1"
OUTAGE_TASKS = 6
MAX_TICKS = 8


@dataclass
class Row:
    scene: str
    mode: str
    msg_id: str
    task_id: str
    attempt: str
    verdict: str
    expected: str = "ok"

    @property
    def passed(self) -> bool:
        return self.verdict.split(" ")[0] == self.expected


class ReceiverRecord:
    """What the reference receiver saw: its verdict per webhook-id (from its log line)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.verdicts: dict[str, str] = {}
        self.handled: dict[str, int] = {}
        # Notifications only: event number and included counts (scene 4's table).
        self.summaries: dict[str, str] = {}

    def log(self, line: str) -> None:
        fields = dict(part.split("=", 1) for part in line.split(" ") if "=" in part)
        with self.lock:
            self.verdicts[fields.get("id", "-")] = (
                f"{fields.get('verdict', '?')} {fields.get('status', '?')}"
            )

    def on_event(self, event: VerifiedEvent) -> None:
        with self.lock:
            self.handled[event.id] = self.handled.get(event.id, 0) + 1
            if event.format == "fhir-notification":
                self.summaries[event.id] = summary(event)

    def verdict(self, msg_id: str) -> str:
        with self.lock:
            return self.verdicts.get(msg_id, "NOT DELIVERED")


def mode_setup(mode: str, url: str) -> tuple[dict[str, str], Verifier]:
    """The plugin's signing variables and the receiver's matching Verifier."""
    if mode == "hmac":
        secret = new_hmac_secret()
        return {"SIGNING_MODE": "hmac", "WEBHOOK_SECRET": secret}, Verifier(secrets=[secret])
    pair = new_key_pair("ES256", "demo-es256")
    jwks = {"keys": [pair.public_jwk]}
    variables = {
        "SIGNING_MODE": "jwt",
        "JWT_ALGORITHM": "ES256",
        "JWT_PRIVATE_KEY": pair.private_pem,
        "JWT_KEY_ID": pair.kid,
        "JWT_PUBLIC_JWKS": json.dumps(jwks),
    }
    return variables, Verifier(jwks=jwks, audience=url, issuer=SOURCE)


def outbox_row(runner: PluginRunner, task_id: str) -> dict[str, Any]:
    """The task's newest outbox row, through the operations API."""
    status, page = api(runner, "GET", "/api/deliveries", API_KEY, query="task_id=" + task_id)
    if status != 200 or not page["deliveries"]:
        return {"webhook_id": "-", "attempts": 0, "state": "missing"}
    return dict(page["deliveries"][0])


def say(out: TextIO, text: str) -> None:
    print("  " + text, file=out, flush=True)


class Scene:
    """A receiver (behind a fault gate) and a runner, for one scene and one signing mode."""

    def __init__(
        self,
        fhir: LocalFhirServer,
        mode: str,
        out: TextIO,
        payload: dict[str, str] | None = None,
    ) -> None:
        self.fhir = fhir
        self.mode = mode
        self.out = out
        self.payload = payload or {}
        self.record = ReceiverRecord()

    def run(self, body: Any) -> list[Row]:
        # The JWT audience is the URL the plugin sends to (the gate's), known once bound:
        # start with a placeholder verifier, install the real one before any request.
        server = serve(
            Verifier(secrets=[new_hmac_secret()]),
            log=self.record.log,
            on_event=self.record.on_event,
        )
        try:
            with FaultGate(int(server.server_address[1])) as gate:
                variables, server.verifier = mode_setup(self.mode, gate.url)
                variables.update(RETRY_SCHEDULE=DEMO_SCHEDULE, OPERATIONS_API_KEY=API_KEY)
                variables.update(FIRST_ATTEMPT_TIMEOUTS="1,2", RETRY_TIMEOUTS="1,2")
                variables.update(BREAKER_THRESHOLD="3")
                variables.update(self.payload)
                say(self.out, f"[{self.mode}] receiver at {gate.url}; starting the plugin runner")
                with PluginRunner(self.fhir.plugin_variables(gate.url, **variables)) as runner:
                    rows: list[Row] = body(self, runner, gate)
                    return rows
        finally:
            server.shutdown()

    def row(self, runner: PluginRunner, scene: str, task_id: str, expected: str = "ok") -> Row:
        found = outbox_row(runner, task_id)
        attempt = f"{found['attempts']} ({found['state']})"
        verdict = self.record.verdict(found["webhook_id"])
        return Row(scene, self.mode, found["webhook_id"], task_id, attempt, verdict, expected)


def every_fixture(scene: Scene, runner: PluginRunner, _gate: FaultGate) -> list[Row]:
    fixtures = fixture_tasks()
    say(scene.out, f"[{scene.mode}] scene 1: TASK_CREATED for {len(fixtures)} Tasks")
    rows = []
    for fixture in fixtures:
        runner.send_event("TASK_CREATED", fixture.task_id)
        rows.append(scene.row(runner, "every fixture", fixture.task_id))
    # Canvas may send the same event twice: one outbox row, one delivery.
    first = fixtures[0]
    runner.send_event("TASK_CREATED", first.task_id)
    again = scene.row(runner, "same event again", first.task_id)
    handled = scene.record.handled.get(again.msg_id, 0)
    again.verdict = f"ok one-row handled={handled}" if handled == 1 else f"FAILED handled={handled}"
    rows.append(again)
    return rows


def outage(scene: Scene, runner: PluginRunner, gate: FaultGate) -> list[Row]:
    ids = outage_tasks(scene.fhir)
    say(scene.out, f"[{scene.mode}] scene 2: receiver down while {len(ids)} Tasks are created")
    for mode, chunk in ((REFUSE, ids[:2]), (BLACKHOLE, ids[2:4]), ("status:503", ids[4:])):
        gate.set_mode(mode)
        say(scene.out, f"[{scene.mode}]   receiver {mode}: {', '.join(chunk)}")
        for task_id in chunk:
            runner.send_event("TASK_CREATED", task_id)
    gate.set_mode(FORWARD)
    say(scene.out, f"[{scene.mode}]   receiver back; cron ticks until every Task has arrived")
    for _ in range(MAX_TICKS):
        time.sleep(1.0)
        tick(runner)
        if all(outbox_row(runner, task_id)["state"] == "delivered" for task_id in ids):
            break
    return [scene.row(runner, "outage", task_id) for task_id in ids]


def refused_then_resent(scene: Scene, runner: PluginRunner, gate: FaultGate) -> list[Row]:
    task_id = outage_tasks(scene.fhir, prefix="refused", count=1)[0]
    say(scene.out, f"[{scene.mode}] scene 3: the receiver answers 400 to {task_id}")
    gate.set_mode("status:400")
    runner.send_event("TASK_CREATED", task_id)
    failed = outbox_row(runner, task_id)
    say(scene.out, f"[{scene.mode}]   row {failed['state']} after {failed['attempts']} attempt")
    gate.set_mode(FORWARD)
    path = f"/api/deliveries/{failed['webhook_id']}/resend"
    status, result = api(runner, "POST", path, API_KEY)
    say(scene.out, f"[{scene.mode}]   receiver fixed; POST /api{path[4:]} -> {status} {result}")
    return [scene.row(runner, "400, resent", task_id)]


def outage_tasks(
    fhir: LocalFhirServer, prefix: str = "outage", count: int = OUTAGE_TASKS
) -> list[str]:
    """Copies of Canvas's documented Task with their own ids, served by the FHIR server."""
    base = next(f for f in fixture_tasks() if f.name == "canvas/task_read_response_200.json")
    ids = []
    for index in range(count):
        task = copy.deepcopy(base.task)
        task["id"] = f"{prefix}-{index + 1}"
        fhir.add_task(task)
        ids.append(task["id"])
    return ids


def print_table(rows: list[Row], out: TextIO) -> None:
    header = ("scene", "mode", "webhook-id", "task id", "attempts (state)", "receiver verdict")
    table = [header] + [(r.scene, r.mode, r.msg_id, r.task_id, r.attempt, r.verdict) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        cells = zip(row, widths, strict=True)
        print("  ".join(cell.ljust(width) for cell, width in cells).rstrip(), file=out)


def serve_fixtures(fhir: LocalFhirServer, fixtures: list[FixtureTask]) -> None:
    for fixture in fixtures:
        fhir.add_task(fixture.body, fixture.task_id)


def main(out: TextIO = sys.stdout) -> int:
    started = time.perf_counter()
    fixtures = fixture_tasks()
    rows: list[Row] = []
    print(
        f"enriched-webhook demo: {len(fixtures)} Tasks through the Canvas plugin runner and its"
        " outbox (HMAC and JWT ES256), an outage, a refused delivery resent",
        file=out,
        flush=True,
    )
    try:
        with LocalFhirServer() as fhir:
            serve_fixtures(fhir, fixtures)
            serve_resources(fhir)
            say(out, f"local FHIR server (Canvas's documented responses) at {fhir.base_url}")
            for mode in MODES:
                rows.extend(Scene(fhir, mode, out).run(every_fixture))
            rows.extend(Scene(fhir, "hmac", out).run(outage))
            rows.extend(Scene(fhir, "hmac", out).run(refused_then_resent))
            rows.extend(Scene(fhir, "hmac", out, NOTIFICATION_VARIABLES).run(notification_scene))
    except RunnerError as error:
        print(f"demo failed: {error}", file=out)
        return 1
    except KeyboardInterrupt:
        print("demo interrupted: every process it started has been stopped", file=out)
        return 130
    print_table(rows, out)
    failed = [row for row in rows if not row.passed]
    seconds = time.perf_counter() - started
    print(
        f"{len(rows) - len(failed)}/{len(rows)} deliveries as expected ({len(fixtures)} Tasks x"
        f" 2 modes and a repeated event each, {OUTAGE_TASKS} through an outage, 1 resent"
        f" after a 400, {len(fixtures)} as FHIR notifications with includes) in {seconds:.1f} s",
        file=out,
    )
    if failed:
        print("FAILED: " + ", ".join(f"{row.scene} {row.task_id}" for row in failed), file=out)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
