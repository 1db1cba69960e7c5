"""Plugin cost inside the real Canvas sandbox, per signing mode: a benchmark, not a test.

Runs `canvas run-plugin` once per mode against the local FHIR server, sends a copy of every
fixture Task per round (each copy its own Task: the outbox sends an event occurrence
once), and reads the plugin's own per-event log line (read, build, send, total
milliseconds; read is the FHIR round trip to 127.0.0.1, build includes writing the outbox
row and body, send is signing, the POST to a local receiver and recording the attempt).
Next to it, the round trip
of one event through the runner as the client sees it, and the same for a floor plugin
that only logs one line: what the runner itself costs per event, before any plugin work.
Then throughput: events/s through runner + local FHIR + the reference receiver (which
verifies every request) at 1, 2 and 5 runner workers.

The runner listens on the fixed port 127.0.0.1:50051; run this where no other runner is
(`unshare -n sh -c 'ip link set lo up && .venv/bin/python bench/plugin_compute.py'`).

    .venv/bin/python bench/plugin_compute.py [--rounds N] [--load-events N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devtools.capture_receiver import CaptureReceiver
from devtools.event_log import event_fields
from devtools.fhir_server import LocalFhirServer
from devtools.fixtures import FixtureTask, fixture_tasks
from devtools.load import distinct_tasks, drive
from devtools.runner import PluginRunner
from enriched_webhook.receiver.event import VerifiedEvent
from enriched_webhook.receiver.http_server import serve
from enriched_webhook.tools.keys import new_hmac_secret, new_key_pair
from enriched_webhook.verify import Verifier

MODES = ("hmac", "EdDSA", "ES256", "RS256")
FLOOR_PLUGIN = Path(__file__).resolve().parent / "floor_plugin" / "webhook_floor"
FLOOR = "floor"
WORKER_COUNTS = (1, 2, 5)
TIMINGS = ("read", "build", "send", "total")


def mode_secrets(mode: str) -> dict[str, str]:
    if mode == "hmac":
        return {"WEBHOOK_SECRET": new_hmac_secret()}
    pair = new_key_pair(mode, kid="bench")
    pem, jwk = pair.private_pem, pair.public_jwk
    return {
        "SIGNING_MODE": "jwt",
        "JWT_ALGORITHM": mode,
        "JWT_PRIVATE_KEY": pem,
        "JWT_KEY_ID": "bench",
        "JWT_PUBLIC_JWKS": json.dumps({"keys": [jwk]}),
    }


def round_trip(runner: PluginRunner, task_id: str) -> float:
    started = time.perf_counter()
    runner.send_event("TASK_CREATED", task_id)
    return (time.perf_counter() - started) * 1000


def round_tasks(fhir: LocalFhirServer, rounds: int) -> list[list[FixtureTask]]:
    """A copy of every fixture per round (and one for the warm-up), served by `fhir`."""
    copies = [
        distinct_tasks(fixture, rounds + 1, prefix="bench-" + str(index))
        for index, fixture in enumerate(fixture_tasks())
    ]
    per_round = [[tasks[number] for tasks in copies] for number in range(rounds + 1)]
    for tasks in per_round:
        for task in tasks:
            fhir.add_task(task.body, task.task_id)
    return per_round


def measure(mode: str, fhir: LocalFhirServer, rounds: int) -> dict[str, list[float]]:
    """Per-event timings of one mode (or the floor plugin): the plugin's own and the client's."""
    warm_up, *per_round = round_tasks(fhir, rounds)
    timings: dict[str, list[float]] = {"round trip": []}
    with CaptureReceiver() as receiver:
        if mode == FLOOR:
            runner = PluginRunner({}, plugin_source=FLOOR_PLUGIN)
        else:
            runner = PluginRunner(fhir.plugin_variables(receiver.url, **mode_secrets(mode)))
        with runner:
            runner.send_event("TASK_CREATED", warm_up[0].task_id)  # warm-up: token, imports
            for tasks in per_round:
                for task in tasks:
                    timings["round trip"].append(round_trip(runner, task.task_id))
        log = runner.log_text()
    if mode == FLOOR:
        lines = [line for line in log.splitlines() if "webhook-floor event=" in line]
        timings["total"] = [float(line.rsplit("total_ms=", 1)[1]) for line in lines[1:]]
        return timings
    for name in TIMINGS:
        timings[name] = []
    events = event_fields(log)
    # The warm-up event pays one-time costs (RS256: loading the key); shown on its own.
    timings["first send"] = [float(events[0]["send_ms"])]
    for fields in events[1:]:
        if fields.get("outcome") != "delivered":
            raise SystemExit("an event failed during the benchmark: " + str(fields))
        for name in TIMINGS:
            timings[name].append(float(fields[name + "_ms"]))
    return timings


def throughput(fhir: LocalFhirServer, events: int) -> dict[int, float]:
    """Events/s, HMAC mode, end to end (runner, FHIR read, outbox, delivery, verification)."""
    template = fixture_tasks()[0]
    secrets = mode_secrets("hmac")
    found: dict[int, float] = {}
    tasks = distinct_tasks(template, events + 1)
    for task in tasks:
        fhir.add_task(task.body, task.task_id)
    for workers in WORKER_COUNTS:
        handled: list[VerifiedEvent] = []  # list.append is atomic: no lock needed
        # A fresh receiver per run: its replay cache would otherwise see every event again.
        server = serve(
            Verifier(secrets["WEBHOOK_SECRET"]),
            port=0,
            on_event=handled.append,
            log=lambda line: None,
        )
        try:
            variables = fhir.plugin_variables(server.url, **secrets)
            environment = {"PLUGIN_RUNNER_MAX_WORKERS": str(workers)}
            with PluginRunner(variables, environment=environment) as runner:
                runner.send_event("TASK_CREATED", tasks[0].task_id)  # warm-up
                result = drive(runner, tasks[1:], concurrency=workers)
        finally:
            server.shutdown()
        delivered = len({event.id for event in handled}) - 1  # less the warm-up event
        if delivered != result.sent:
            raise SystemExit(
                "throughput run lost events: "
                + str(delivered)
                + " of "
                + str(result.sent)
                + " delivered"
            )
        found[workers] = result.events_per_second
    return found


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="sends of every fixture per mode")
    parser.add_argument("--load-events", type=int, default=200, help="events per worker count")
    args = parser.parse_args(argv)
    results: dict[str, dict[str, list[float]]] = {}
    with LocalFhirServer() as fhir:
        for fixture in fixture_tasks():
            fhir.add_task(fixture.body, fixture.task_id)
        for mode in (FLOOR, *MODES):
            results[mode] = measure(mode, fhir, args.rounds)
        rates = throughput(fhir, args.load_events) if args.load_events else {}
    print(
        "machine: "
        + platform.platform()
        + ", "
        + str(os.cpu_count())
        + " cores (shared, noisy), Python "
        + platform.python_version()
        + "; events per mode: "
        + str(len(results["hmac"]["total"]))
    )
    print()
    print("4. compute() inside the Canvas sandbox, ms per event (median; p99 for total)")
    print("   read = FHIR GET from 127.0.0.1; build = body + outbox row; send = sign + POST +")
    print("   record the attempt; round trip = client's HandleEvent call")
    columns = ("read", "build", "send", "total", "p99 total", "round trip", "1st send")
    widths = (8, 8, 8, 8, 11, 12, 10)
    print(f"{'mode':<7}" + "".join(f"{c:>{w}}" for c, w in zip(columns, widths, strict=True)))
    for mode, timings in results.items():
        med = {name: statistics.median(values) for name, values in timings.items()}
        if mode == FLOOR:
            print(
                f"{'floor':<7}{'':>8}{'':>8}{'':>8}{med['total']:>8.3f}"
                f"{p99(timings['total']):>11.3f}{med['round trip']:>12.3f}{'  (log only)':>12}"
            )
            continue
        print(
            f"{mode:<7}{med['read']:>8.3f}{med['build']:>8.3f}{med['send']:>8.3f}"
            f"{med['total']:>8.3f}{p99(timings['total']):>11.3f}"
            f"{med['round trip']:>12.3f}{med['first send']:>10.3f}"
        )
    floor_trip = statistics.median(results[FLOOR]["round trip"])
    print()
    print("   round trip vs the floor plugin's, same run:")
    for mode in MODES:
        ratio = statistics.median(results[mode]["round trip"]) / floor_trip
        print(f"   {mode:<7}{ratio:6.2f}x")
    if rates:
        print()
        print(
            "5a. events/s, HMAC, runner + local FHIR + reference receiver (verifying), "
            + str(args.load_events)
            + " events each"
        )
        print(f"{'workers':<9}{'events/s':>10}{'vs 1 worker':>13}")
        for workers, rate in rates.items():
            print(f"{workers:<9}{rate:>10.1f}{rate / rates[WORKER_COUNTS[0]]:>12.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
