"""Receiver cost: enriched_webhook.verify against the floor and what users would otherwise use.

Run: .venv/bin/python bench/verify_bench.py [--trials 31] [--quick]

Not a test: numbers depend on the machine. Each table is timed in one go with its trials
interleaved round-robin (one trial of each row, then the next round), so drift in a shared
or throttled CPU hits all rows alike; a figure is the median per-call time over the trials,
and ratios are taken between rows of the same table. "floor" is the least any HMAC
verifier can do in plain Python: one hmac.new(key, content, sha256).digest(), one
b64encode, one compare_digest, with the signed content already built.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import importlib.metadata
import inspect
import json
import os
import platform
import statistics
import sys
import time
import timeit
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # devtools/ beside the package

import jwt
import standardwebhooks
import svix.webhooks
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from devtools.fixtures import fixture_tasks
from enriched_webhook.receiver.task_model import task_class
from enriched_webhook.shared.payload import envelope, serialize, webhook_id
from enriched_webhook.shared.signature import (
    decode_secret,
    jwt_claims,
    signature_header,
    signed_content,
)
from enriched_webhook.verify import Verifier

SOURCE = "https://example.canvasmedical.com"
AUDIENCE = "https://receiver.example/hook"
SECRET = "whsec_" + base64.b64encode(b"bench-key-0123456789abcdefghijk").decode()
FLOOR = "floor (hmac.new+b64+compare_digest)"
KB = 1024


@dataclass(frozen=True)
class Table:
    """Rows timed together; `baseline` names the row the ratio column divides by."""

    title: str
    baseline: str
    rows: dict[str, Callable[[], Any]]
    targets: dict[str, float]


def task_of_size(target: int) -> dict[str, Any]:
    """A valid fixture Task, padded with notes until its envelope is about `target` bytes."""
    task = dict(next(t for t in fixture_tasks() if t.name.endswith("read_response_200.json")).task)
    task.pop("note", None)
    base = len(serialize(envelope("TASK_CREATED", task, SOURCE, 0)))
    notes: list[dict[str, str]] = []
    note = {"text": "Follow-up note " + "x" * 40}
    size = base
    while size + len(json.dumps(note)) + 1 < target - 40:
        notes.append(dict(note))
        size = size + len(json.dumps(note)) + 1
    if notes:
        task["note"] = notes
    body = serialize(envelope("TASK_CREATED", task, SOURCE, 0))
    missing = target - len(body)
    if missing > 0:
        task["note"] = [*notes, {"text": "y" * max(1, missing - 13)}]
    return task


class Case:
    """One signed request of a given body size, and every verifier of it."""

    def __init__(self, target: int) -> None:
        task = task_of_size(target)
        self.task = task
        self.now = int(time.time())
        self.body = serialize(envelope("TASK_CREATED", task, SOURCE, self.now)).encode()
        self.msg_id = webhook_id("TASK_CREATED", task["id"], task.get("lastModified", ""))
        self.key = decode_secret(SECRET)
        self.headers = {
            "webhook-id": self.msg_id,
            "webhook-timestamp": str(self.now),
            "webhook-signature": signature_header([self.key], self.msg_id, self.now, self.body),
        }
        self.content = signed_content(self.msg_id, self.now, self.body)
        self.signature = self.headers["webhook-signature"][3:].encode()
        self.claims = jwt_claims(
            issuer=SOURCE,
            audience=AUDIENCE,
            task_id=task["id"],
            msg_id=self.msg_id,
            timestamp=self.now,
            body=self.body,
        )

    def hmac_rows(self) -> dict[str, Callable[[], Any]]:
        key, content, signature, body, headers = (
            self.key,
            self.content,
            self.signature,
            self.body,
            self.headers,
        )
        lazy = Verifier(SECRET, validate_task=False)
        standard = standardwebhooks.Webhook(SECRET)
        svix_hook = svix.webhooks.Webhook(SECRET)
        std_kwargs: dict[str, Any] = {}
        if "json_parse" in inspect.signature(standardwebhooks.Webhook.verify).parameters:
            std_kwargs = {"json_parse": False}
        compare, new, sha256, b64 = hmac.compare_digest, hmac.new, hashlib.sha256, base64.b64encode

        def floor() -> bool:
            return compare(b64(new(key, content, sha256).digest()), signature)

        return {
            FLOOR: floor,
            "ours Verifier(validate_task=False).verify": lambda: lazy.verify(body, headers),
            "standardwebhooks Webhook.verify": lambda: standard.verify(body, headers, **std_kwargs),
            "svix Webhook.verify (parses JSON)": lambda: svix_hook.verify(body, headers),
        }

    def jwt_rows(self, algorithm: str) -> dict[str, Callable[[], Any]]:
        private: Any
        if algorithm == "ES256":
            private = ec.generate_private_key(ec.SECP256R1())
            jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private.public_key()))
        else:
            private = ed25519.Ed25519PrivateKey.generate()
            jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(private.public_key()))
        public = private.public_key()
        jwk.update(kid="bench", alg=algorithm, use="sig")
        token = jwt.encode(self.claims, private, algorithm=algorithm, headers={"kid": "bench"})
        headers = {
            "webhook-id": self.msg_id,
            "webhook-timestamp": str(self.now),
            "authorization": "Bearer " + token,
        }
        lazy = Verifier(jwks={"keys": [jwk]}, audience=AUDIENCE, issuer=SOURCE, validate_task=False)
        body = self.body
        digest = hashlib.sha256(body).hexdigest()
        sha256, compare, decode = hashlib.sha256, hmac.compare_digest, jwt.decode
        algorithms = [algorithm]
        return {
            "bare jwt.decode": lambda: decode(
                token, public, algorithms=algorithms, audience=AUDIENCE, issuer=SOURCE
            ),
            "ours Verifier(validate_task=False).verify": lambda: lazy.verify(body, headers),
            # What any verifier of request_body_sha256 must add to a bare decode.
            "bare jwt.decode + body sha256": lambda: (
                decode(token, public, algorithms=algorithms, audience=AUDIENCE, issuer=SOURCE),
                compare(sha256(body).hexdigest(), digest),
            ),
        }

    def full_rows(self) -> dict[str, Callable[[], Any]]:
        full = Verifier(SECRET)
        model = task_class()
        task, body, headers = self.task, self.body, self.headers
        return {
            "fhir.resources Task.model_validate (alone)": lambda: model.model_validate(task),
            "ours Verifier().verify (HMAC + rules + Task)": lambda: full.verify(body, headers),
            "json.loads(body) + Task.model_validate": lambda: model.model_validate(
                json.loads(body)["data"]
            ),
        }


def calibrate(function: Callable[[], Any], budget: float) -> int:
    """Calls per trial so that one trial takes about `budget` seconds."""
    number = 1
    while True:
        elapsed = timeit.timeit(function, number=number)
        if elapsed >= budget / 4 or number >= 1_000_000:
            return max(1, int(number * budget / max(elapsed, 1e-9)))
        number = number * 4


def measure(rows: dict[str, Callable[[], Any]], trials: int, budget: float) -> dict[str, float]:
    """Median microseconds per call of every row, trials interleaved across rows."""
    for function in rows.values():
        function()  # must not raise: each row verifies a valid request
    numbers = {name: calibrate(function, budget) for name, function in rows.items()}
    samples: dict[str, list[float]] = {name: [] for name in rows}
    for _ in range(trials):
        for name, function in rows.items():
            elapsed = timeit.timeit(function, number=numbers[name])
            samples[name].append(elapsed / numbers[name] * 1e6)
    return {name: statistics.median(values) for name, values in samples.items()}


def print_table(table: Table, results: dict[str, float]) -> list[str]:
    """Print one table; return a line per missed target."""
    base = results[table.baseline]
    print()
    print(table.title)
    print(f"  {'':46s} {'us':>10s} {'vs ' + table.baseline.split(' (')[0]:>16s}  target")
    missed: list[str] = []
    for name, value in results.items():
        ratio = value / base
        target = table.targets.get(name)
        verdict = ""
        if target is not None:
            verdict = ("<= " if ratio <= target else "MISSED > ") + f"{target:.2f}x"
            if ratio > target:
                missed.append(f"{table.title}: {name} {ratio:.2f}x > {target:.2f}x")
        print(f"  {name:46s} {value:10.2f} {ratio:15.2f}x  {verdict}")
    return missed


def version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def header_lines() -> list[str]:
    return [
        "machine: "
        + platform.platform()
        + ", "
        + str(os.cpu_count())
        + " CPUs (shared, noisy: read ratios, not absolute times)",
        "python:  " + sys.version.split()[0] + " (" + platform.python_implementation() + ")",
        "libs:    standardwebhooks "
        + version("standardwebhooks")
        + ", svix "
        + version("svix")
        + ", PyJWT "
        + version("pyjwt")
        + ", cryptography "
        + version("cryptography")
        + ", fhir.resources "
        + version("fhir.resources"),
        "when:    " + datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ"),
    ]


def tables(quick: bool) -> Iterator[Table]:
    ours = "ours Verifier(validate_task=False).verify"
    hmac_targets = {1 * KB: 2.0, int(1.5 * KB): 2.0, 50 * KB: 1.2}
    for size in [int(1.5 * KB)] if quick else [1 * KB, int(1.5 * KB), 50 * KB]:
        case = Case(size)
        yield (
            Table(
                "1. HMAC, body " + str(len(case.body)) + " bytes",
                FLOOR,
                case.hmac_rows(),
                {ours: hmac_targets[size]},
            )
        )
    for size in [int(1.5 * KB)] if quick else [int(1.5 * KB), 50 * KB]:
        case = Case(size)
        for algorithm in ("ES256", "EdDSA"):
            yield (
                Table(
                    "2. JWT " + algorithm + ", body " + str(len(case.body)) + " bytes",
                    "bare jwt.decode",
                    case.jwt_rows(algorithm),
                    {ours: 1.15},
                )
            )
    for size in [int(1.5 * KB)] if quick else [int(1.5 * KB), 50 * KB]:
        case = Case(size)
        yield (
            Table(
                "3. full verify + validated Task, body " + str(len(case.body)) + " bytes",
                "fhir.resources Task.model_validate (alone)",
                case.full_rows(),
                {"ours Verifier().verify (HMAC + rules + Task)": 1.1},
            )
        )
    if not quick:
        for size in (1 * KB, 10 * KB, 100 * KB, 1024 * KB):
            case = Case(size)
            rows = case.hmac_rows()
            rows.update({"ES256 " + k: v for k, v in case.jwt_rows("ES256").items()})
            yield (
                Table(
                    "5b. growth with body size, body " + str(len(case.body)) + " bytes",
                    FLOOR,
                    rows,
                    {},
                )
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--trials", type=int, default=31)
    parser.add_argument("--budget", type=float, default=0.02, help="seconds per trial per row")
    parser.add_argument("--quick", action="store_true", help="11 trials, 1.5 KB only")
    args = parser.parse_args(argv)
    trials = 11 if args.quick else args.trials
    for line in header_lines():
        print(line)
    print("median of " + str(trials) + " interleaved trials; us per verification")
    missed: list[str] = []
    for table in tables(args.quick):
        # Large bodies: fewer, longer trials keep the run under a few minutes.
        count = trials if "1048" not in table.title else max(5, trials // 3)
        missed.extend(print_table(table, measure(table.rows, count, args.budget)))
    print()
    print("receiver targets: " + ("all met" if not missed else "MISSED:"))
    for line in missed:
        print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
