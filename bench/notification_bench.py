"""FHIR notifications and INCLUDE (issue 12): what they cost. A benchmark, not a test.

Plugin half: the real runner (`canvas run-plugin`, the sandbox) against the local FHIR
server, which waits a fixed 20 ms before answering every read, so the figures show whether
the INCLUDE reads overlap: with 0, 1 and 3 includes (Task:patient, Task:owner,
Task:requester of Canvas's documented Task, all served), the plugin's own per-event log
fields (read = the Task read, build = INCLUDE reads + body, total = compute()), medians.
Receiver half: `Verifier.verify` with validation (HMAC, the Task and any included
resources as fhir.resources models), envelope against notification Bundle, with and
without the three included resources; trials interleaved round-robin, medians.

The runner listens on the fixed port 127.0.0.1:50051; beside a test suite, give it its own
network namespace:
`unshare -n sh -c 'ip link set lo up && .venv/bin/python bench/notification_bench.py'`.

    .venv/bin/python bench/notification_bench.py [--events N] [--trials N] [--quick]
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devtools.capture_receiver import CaptureReceiver
from devtools.event_log import event_fields
from devtools.fhir_server import LocalFhirServer
from devtools.fixture_resources import fixture_resources
from devtools.fixtures import fixture_tasks
from devtools.load import distinct_tasks
from devtools.runner import PluginRunner
from enriched_webhook.plugin.body import build_body
from enriched_webhook.plugin.config import load_settings
from enriched_webhook.plugin.signer import sign_request
from enriched_webhook.shared.notification import Included, IncludedResource
from enriched_webhook.shared.payload import occurred_at, webhook_id
from enriched_webhook.tools.keys import new_hmac_secret
from enriched_webhook.verify import Verifier

READ_DELAY_SECONDS = 0.020
INCLUDES = {
    0: "",
    1: "Task:patient",
    3: "Task:patient,Task:owner,Task:requester",
}
TEMPLATE = next(t for t in fixture_tasks() if t.name == "canvas/task_read_response_200.json")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def plugin_run(
    fhir: LocalFhirServer, include: str, events: int, prefix: str
) -> dict[str, list[float]]:
    """One runner, `events` distinct Tasks: each event's fields and the client round trip."""
    tasks = distinct_tasks(TEMPLATE, events + 1, prefix=prefix)
    for task in tasks:
        fhir.add_task(task.body, task.task_id)
    with CaptureReceiver() as receiver:
        variables = fhir.plugin_variables(
            receiver.url,
            WEBHOOK_SECRET=new_hmac_secret(),
            PAYLOAD_FORMAT="fhir-notification",
            INCLUDE=include,
        )
        round_trips: list[float] = []
        with PluginRunner(variables) as runner:
            runner.send_event("TASK_CREATED", tasks[0].task_id)  # warm-up: token, imports
            for task in tasks[1:]:
                started = time.perf_counter()
                runner.send_event("TASK_CREATED", task.task_id)
                round_trips.append((time.perf_counter() - started) * 1000)
        log = runner.log_text()
    fields = [f for f in event_fields(log) if f.get("event") == "TASK_CREATED"][1:]
    if len(fields) != events or any(f.get("outcome") != "delivered" for f in fields):
        raise SystemExit("an event was not delivered during the benchmark")
    if len(receiver.requests) != events + 1:
        raise SystemExit("the receiver did not get every event")
    found = {
        name: [float(f.get(name + "_ms", "0")) for f in fields]
        for name in ("read", "include", "build", "total")
    }
    found["round trip"] = round_trips
    return found


def plugin_table(events: int, rounds: int) -> None:
    """Each configuration in `rounds` runner runs, the configurations taking turns, so drift
    on a shared machine reaches all alike; medians over every event of a configuration."""
    samples: dict[int, dict[str, list[float]]] = {count: {} for count in INCLUDES}
    with LocalFhirServer() as fhir:
        for resource in fixture_resources():
            fhir.add_resource(resource.path, resource.body)
        fhir.state.read_delay = READ_DELAY_SECONDS
        for round_number in range(rounds):
            for count, include in INCLUDES.items():
                prefix = f"bench-{count}-{round_number}"
                for name, values in plugin_run(fhir, include, events, prefix).items():
                    samples[count].setdefault(name, []).extend(values)
    results = {
        count: {name: median(values) for name, values in found.items()}
        for count, found in samples.items()
    }
    events = events * rounds
    base = results[0]
    print(
        "plugin in the runner, fhir-notification, HMAC, FHIR server +"
        + f"{READ_DELAY_SECONDS * 1000:.0f} ms per read, medians of {events} events per row"
    )
    print()
    print(
        "| includes | Task read ms | INCLUDE reads ms | if serial ms | build ms (reads, body,"
        " outbox row) | compute() total ms | vs 0 includes ms | client round trip ms |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for count, row in results.items():
        extra = row["total"] - base["total"]
        serial = count * READ_DELAY_SECONDS * 1000
        print(
            f"| {count} | {row['read']:.1f} | {row['include']:.1f} | {serial:.0f} "
            f"| {row['build']:.1f} | {row['total']:.1f} | {extra:+.1f} "
            f"| {row['round trip']:.1f} |"
        )


def signed_body(include: bool, notification: bool) -> tuple[bytes, dict[str, str], Verifier]:
    """One signed request of the given shape and a Verifier that accepts it."""
    secret = new_hmac_secret()
    variables = {
        "WEBHOOK_URL": "https://hooks.example.com/canvas",
        "WEBHOOK_SECRET": secret,
        "FHIR_CLIENT_ID": "c",
        "FHIR_CLIENT_SECRET": "s",
        "PAYLOAD_FORMAT": "fhir-notification" if notification else "envelope",
        "INCLUDE": INCLUDES[3] if include else "",
    }
    settings = load_settings(variables, {"CUSTOMER_IDENTIFIER": "bench"})
    served = {r.path: r.resource for r in fixture_resources()}
    task = TEMPLATE.task
    included = None
    if include:
        paths = [task["for"]["reference"], task["owner"]["reference"]]
        paths.append(task["requester"]["reference"])
        included = Included(tuple(IncludedResource("Task:x", p, served[p]) for p in paths))
    now = time.time()
    built = build_body(settings, "TASK_CREATED", task, included, 1, now)
    msg_id = webhook_id("TASK_CREATED", TEMPLATE.task_id, occurred_at(task))
    headers = sign_request(
        settings, msg_id, int(now), built.body, TEMPLATE.task_id, built.content_type
    )
    return built.body.encode("ascii"), headers, Verifier(secrets=[secret], now=now)


def receiver_table(trials: int, calls: int) -> None:
    shapes = {
        "envelope": (False, False),
        "notification Bundle": (False, True),
        "envelope + 3 included": (True, False),
        "Bundle + 3 included": (True, True),
    }
    runs: dict[str, Callable[[], object]] = {}
    sizes: dict[str, int] = {}
    for name, (include, notification) in shapes.items():
        body, headers, verifier = signed_body(include, notification)
        event = verifier.verify(body, headers)  # warm-up: model imports
        assert len(event.included) == (3 if include else 0)
        runs[name] = functools.partial(verifier.verify, body, headers)
        sizes[name] = len(body)
    timings: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(trials):
        for name, run in runs.items():
            started = time.perf_counter()
            for _ in range(calls):
                run()
            timings[name].append((time.perf_counter() - started) / calls * 1e6)
    base = median(timings["envelope"])
    print(
        f"receiver: Verifier.verify with validation (HMAC; Task and included resources as "
        f"fhir.resources R4B models), medians of {trials} interleaved trials of {calls} calls"
    )
    print()
    print("| body | bytes | µs per request | ratio to the envelope |")
    print("|---|---|---|---|")
    for name, values in timings.items():
        value = median(values)
        print(f"| {name} | {sizes[name]} | {value:.0f} | {value / base:.2f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=20, help="events per runner run")
    parser.add_argument("--rounds", type=int, default=3, help="runner runs per plugin row")
    parser.add_argument("--trials", type=int, default=21, help="receiver trials per row")
    parser.add_argument("--quick", action="store_true", help="10 events, 1 round, 5 trials")
    parser.add_argument("--only", choices=("receiver", "plugin"), help="run one half")
    args = parser.parse_args(argv)
    events, trials, rounds = (10, 5, 1) if args.quick else (args.events, args.trials, args.rounds)
    print(
        "machine: "
        + platform.platform()
        + ", "
        + str(os.cpu_count())
        + " CPUs, Python "
        + platform.python_version()
    )
    print()
    if args.only != "plugin":
        receiver_table(trials, 200)
        print()
    if args.only != "receiver":
        plugin_table(events, rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
