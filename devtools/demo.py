"""The main job on one machine: every fixture Task through the real Canvas plugin runner,
signed, delivered as the platform would, and verified by the reference receiver, in HMAC
and JWT (ES256) modes. Exits non-zero if anything failed.

Nothing to configure: secrets and keys are made fresh for the run and live only in memory
and in the runner's temporary SECRETS.json, which is removed when it stops. Every process
and server it starts is stopped on the way out, Ctrl-C included.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass
from typing import TextIO

from enriched_webhook.receiver.event import VerifiedEvent
from enriched_webhook.receiver.http_server import serve
from enriched_webhook.receiver.verifier import Verifier
from enriched_webhook.tools.keys import new_hmac_secret, new_key_pair

from .fhir_server import LocalFhirServer
from .fixtures import FixtureTask, fixture_tasks
from .platform_delivery import execute
from .runner import PluginRunner, RunnerError

SOURCE = "https://local.canvasmedical.com"
MODES = ("hmac", "jwt")


@dataclass
class Row:
    event: str
    mode: str
    msg_id: str
    verdict: str
    task_id: str
    status: str
    millis: float
    expected: str = "ok"

    @property
    def passed(self) -> bool:
        return self.verdict.split(" ")[0] == self.expected


class ReceiverRecord:
    """What the reference receiver saw: its log line and the handled Task, per webhook-id."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.verdicts: dict[str, str] = {}
        self.statuses: dict[str, str] = {}

    def log(self, line: str) -> None:
        fields = dict(part.split("=", 1) for part in line.split(" ") if "=" in part)
        with self.lock:
            self.verdicts[fields.get("id", "-")] = (
                fields.get("verdict", "?") + " " + fields.get("status", "?")
            )

    def on_event(self, event: VerifiedEvent) -> None:
        with self.lock:
            self.statuses[event.id] = str(event.task.status)


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


def send(
    runner: PluginRunner, record: ReceiverRecord, mode: str, fixture: FixtureTask, expected: str
) -> Row:
    started = time.perf_counter()
    effects = runner.send_event("TASK_CREATED", fixture.task_id)
    msg_id = "-"
    for effect in effects:
        msg_id = str(effect.payload["data"]["headers"].get("webhook-id", "-"))
        execute(effect)
    millis = (time.perf_counter() - started) * 1000
    with record.lock:
        verdict = record.verdicts.get(msg_id, "NOT DELIVERED")
        status = record.statuses.get(msg_id, "-")
    return Row("TASK_CREATED", mode, msg_id, verdict, fixture.task_id, status, millis, expected)


def run_mode(
    mode: str, fhir: LocalFhirServer, fixtures: list[FixtureTask], out: TextIO
) -> list[Row]:
    record = ReceiverRecord()
    # The JWT audience is the receiver's URL, known once it is bound: start it with a
    # placeholder verifier and install the real one before any request can arrive.
    server = serve(Verifier(secrets=[new_hmac_secret()]), log=record.log, on_event=record.on_event)
    try:
        url = server.url + "hook"
        variables, server.verifier = mode_setup(mode, url)
        print("  [" + mode + "] reference receiver at " + url, file=out, flush=True)
        print(
            "  [" + mode + "] starting the Canvas plugin runner (real sandbox) ...",
            file=out,
            flush=True,
        )
        rows: list[Row] = []
        with PluginRunner(fhir.plugin_variables(url, **variables)) as runner:
            print(
                "  [" + mode + "] sending TASK_CREATED for " + str(len(fixtures)) + " Tasks",
                file=out,
                flush=True,
            )
            for fixture in fixtures:
                rows.append(send(runner, record, mode, fixture, "ok"))
            # The platform may deliver an event twice: the receiver answers 2xx, once handled.
            rows.append(send(runner, record, mode, fixtures[0], "AlreadyHandledError"))
        return rows
    finally:
        server.shutdown()


def print_table(rows: list[Row], out: TextIO) -> None:
    header = ("event", "mode", "webhook-id", "receiver verdict", "task id", "status", "ms")
    table = [header] + [
        (r.event, r.mode, r.msg_id, r.verdict, r.task_id, r.status, str(round(r.millis, 1)))
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip(),
            file=out,
        )


def main(out: TextIO = sys.stdout) -> int:
    started = time.perf_counter()
    fixtures = fixture_tasks()
    rows: list[Row] = []
    print(
        "enriched-webhook demo: " + str(len(fixtures)) + " Tasks through the Canvas plugin runner,"
        " HMAC and JWT (ES256)",
        file=out,
        flush=True,
    )
    try:
        with LocalFhirServer() as fhir:
            for fixture in fixtures:
                fhir.add_task(fixture.body, fixture.task_id)
            print(
                "  local FHIR server (Canvas's documented responses) at " + fhir.base_url,
                file=out,
                flush=True,
            )
            for mode in MODES:
                rows.extend(run_mode(mode, fhir, fixtures, out))
    except RunnerError as error:
        print("demo failed: " + str(error), file=out)
        return 1
    except KeyboardInterrupt:
        print("demo interrupted: every process it started has been stopped", file=out)
        return 130
    print_table(rows, out)
    failed = [row for row in rows if not row.passed]
    seconds = time.perf_counter() - started
    print(
        str(len(rows) - len(failed))
        + "/"
        + str(len(rows))
        + " deliveries as expected ("
        + str(len(fixtures))
        + " Tasks x 2 modes, and one duplicate per mode answered 200) in "
        + str(round(seconds, 1))
        + " s",
        file=out,
    )
    if failed:
        print("FAILED: " + ", ".join(row.mode + " " + row.task_id for row in failed), file=out)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
