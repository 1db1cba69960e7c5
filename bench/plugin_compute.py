"""Plugin cost inside the real Canvas sandbox, per signing mode: a benchmark, not a test.

Runs `canvas run-plugin` once per mode against the local FHIR server, sends every fixture
Task several times, and reads the plugin's own per-event log line (read, build, sign,
total milliseconds; read is the FHIR round trip to 127.0.0.1). Prints medians and p99,
and ratios to HMAC measured in the same run.

    .venv/bin/python bench/plugin_compute.py [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from enriched_webhook.localrun.capture_receiver import CaptureReceiver
from enriched_webhook.localrun.fhir_server import LocalFhirServer
from enriched_webhook.localrun.fixtures import fixture_tasks
from enriched_webhook.localrun.runner import PluginRunner
from enriched_webhook.plugin.task_webhook import parse_event_line
from tests.support import new_key_pair, new_whsec

MODES = ("hmac", "ES256", "EdDSA", "RS256")


def mode_secrets(mode: str) -> dict[str, str]:
    if mode == "hmac":
        return {"WEBHOOK_SECRET": new_whsec()}
    pem, jwk = new_key_pair(mode, kid="bench")
    return {
        "SIGNING_MODE": "jwt",
        "JWT_ALGORITHM": mode,
        "JWT_PRIVATE_KEY": pem,
        "JWT_KEY_ID": "bench",
        "JWT_PUBLIC_JWKS": json.dumps({"keys": [jwk]}),
    }


def measure(mode: str, fhir: LocalFhirServer, rounds: int) -> dict[str, list[float]]:
    fixtures = fixture_tasks()
    with CaptureReceiver() as receiver:
        with PluginRunner(fhir.plugin_variables(receiver.url, **mode_secrets(mode))) as runner:
            runner.send_event("TASK_CREATED", fixtures[0].task_id)  # warm-up: token, imports
            for _ in range(rounds):
                for fixture in fixtures:
                    runner.send_event("TASK_CREATED", fixture.task_id)
        log = runner.log_text()
    timings: dict[str, list[float]] = {"read": [], "build": [], "sign": [], "total": []}
    lines = [fields for line in log.splitlines() if (fields := parse_event_line(line))]
    for fields in lines[1:]:
        if fields.get("outcome") != "queued":
            raise SystemExit("an event failed during the benchmark: " + str(fields))
        for name in timings:
            timings[name].append(float(fields[name + "_ms"]))
    return timings


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="sends of every fixture per mode")
    args = parser.parse_args()
    results: dict[str, dict[str, list[float]]] = {}
    with LocalFhirServer() as fhir:
        for fixture in fixture_tasks():
            fhir.add_task(fixture.body, fixture.task_id)
        for mode in MODES:
            results[mode] = measure(mode, fhir, args.rounds)
    print(
        "machine: "
        + platform.platform()
        + ", "
        + str(os.cpu_count())
        + " cores, Python "
        + platform.python_version()
        + "; events per mode: "
        + str(len(results["hmac"]["total"]))
    )
    print("compute() inside the Canvas sandbox, milliseconds (median; p99 for total)")
    columns = ("read", "build", "sign", "build+sign", "total", "p99 total", "sign vs hmac")
    widths = (9, 9, 9, 12, 9, 11, 14)
    print(f"{'mode':<7}" + "".join(f"{c:>{w}}" for c, w in zip(columns, widths, strict=True)))
    base_sign = statistics.median(results["hmac"]["sign"])
    for mode, timings in results.items():
        med = {name: statistics.median(values) for name, values in timings.items()}
        print(
            f"{mode:<7}{med['read']:>9.3f}{med['build']:>9.3f}{med['sign']:>9.3f}"
            f"{med['build'] + med['sign']:>12.3f}{med['total']:>9.3f}{p99(timings['total']):>11.3f}"
            f"{med['sign'] / base_sign:>13.1f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
