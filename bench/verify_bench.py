"""Verification cost: enriched_webhook.verify against the floor and the reference libraries.

Run: .venv/bin/python bench/verify_bench.py [--trials 31] [--quick]

Not a test: numbers depend on the machine. Every row is timed in the same run, with the
trials interleaved round-robin (one trial of each row, then the next round) so drift in a
shared or throttled CPU hits all rows alike; the figure is the median per-call time over
the trials. "floor" is the least any HMAC verifier can do in plain Python: one
hmac.new(key, content, sha256).digest(), one b64encode, one compare_digest, with the
signed content already built.
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
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import jwt
import standardwebhooks
import svix.webhooks
from cryptography.hazmat.primitives.asymmetric import ec

from enriched_webhook.localrun.fixtures import fixture_tasks
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


def task_of_size(target: int) -> dict[str, Any]:
    """A valid fixture Task, padded with notes until its envelope is about `target` bytes."""
    task = dict(next(t for t in fixture_tasks() if t.name.endswith("read_response_200.json")).task)
    task.pop("note", None)
    base = len(serialize(envelope("TASK_CREATED", task, SOURCE, 0)))
    notes: list[dict[str, str]] = []
    while base + sum(len(json.dumps(n)) + 1 for n in notes) < target - 40:
        notes.append({"text": "Follow-up note " + "x" * 40})
    if notes:
        task["note"] = notes
    body = serialize(envelope("TASK_CREATED", task, SOURCE, 0))
    missing = target - len(body)
    if missing > 0:
        task["note"] = [*notes, {"text": "y" * max(1, missing - 13)}]
    return task


class Case:
    """The request and the per-library verifiers for one body size."""

    def __init__(self, target: int) -> None:
        task = task_of_size(target)
        self.now = int(time.time())
        self.body = serialize(envelope("TASK_CREATED", task, SOURCE, self.now)).encode()
        self.msg_id = webhook_id("TASK_CREATED", task["id"], task.get("lastModified", ""))
        key = decode_secret(SECRET)
        self.key = key
        self.headers = {
            "webhook-id": self.msg_id,
            "webhook-timestamp": str(self.now),
            "webhook-signature": signature_header([key], self.msg_id, self.now, self.body),
        }
        self.content = signed_content(self.msg_id, self.now, self.body)
        self.signature = self.headers["webhook-signature"][3:].encode()
        self.lazy = Verifier(SECRET, validate_task=False)
        self.full = Verifier(SECRET)
        self.standard = standardwebhooks.Webhook(SECRET)
        self.svix = svix.webhooks.Webhook(SECRET)
        self.std_kwargs: dict[str, Any] = {}
        if "json_parse" in inspect.signature(standardwebhooks.Webhook.verify).parameters:
            self.std_kwargs = {"json_parse": False}
        private = ec.generate_private_key(ec.SECP256R1())
        self.public = private.public_key()
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.public))
        jwk.update(kid="bench", alg="ES256", use="sig")
        claims = jwt_claims(
            issuer=SOURCE,
            audience=AUDIENCE,
            task_id=task["id"],
            msg_id=self.msg_id,
            timestamp=self.now,
            body=self.body,
        )
        self.token = jwt.encode(claims, private, algorithm="ES256", headers={"kid": "bench"})
        self.jwt_headers = {
            "webhook-id": self.msg_id,
            "webhook-timestamp": str(self.now),
            "authorization": "Bearer " + self.token,
        }
        self.jwt_lazy = Verifier(
            jwks={"keys": [jwk]}, audience=AUDIENCE, issuer=SOURCE, validate_task=False
        )

    def rows(self) -> dict[str, Callable[[], Any]]:
        key, content, signature, body = self.key, self.content, self.signature, self.body
        headers, jwt_headers = self.headers, self.jwt_headers
        lazy, full, standard, svix_hook = self.lazy, self.full, self.standard, self.svix
        std_kwargs, token, public, jwt_lazy = (
            self.std_kwargs,
            self.token,
            self.public,
            self.jwt_lazy,
        )
        compare, new, sha256, b64 = hmac.compare_digest, hmac.new, hashlib.sha256, base64.b64encode
        digest = hashlib.sha256(body).hexdigest()

        def floor() -> bool:
            return compare(b64(new(key, content, sha256).digest()), signature)

        return {
            "floor (hmac.new+b64+compare_digest)": floor,
            "ours HMAC, validate_task=False": lambda: lazy.verify(body, headers),
            "ours HMAC, validate_task=True": lambda: full.verify(body, headers),
            "standardwebhooks Webhook.verify": lambda: standard.verify(body, headers, **std_kwargs),
            "svix Webhook.verify": lambda: svix_hook.verify(body, headers),
            "ours ES256 JWT, validate_task=False": lambda: jwt_lazy.verify(body, jwt_headers),
            "bare jwt.decode (ES256)": lambda: jwt.decode(
                token, public, algorithms=["ES256"], audience=AUDIENCE, issuer=SOURCE
            ),
            # What any verifier of request_body_sha256 must add: hashing the body.
            "bare jwt.decode + body sha256": lambda: (
                jwt.decode(token, public, algorithms=["ES256"], audience=AUDIENCE, issuer=SOURCE),
                compare(sha256(body).hexdigest(), digest),
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
    for function in rows.values():
        function()  # must not raise: each row verifies a valid request
    numbers = {name: calibrate(function, budget) for name, function in rows.items()}
    samples: dict[str, list[float]] = {name: [] for name in rows}
    for _ in range(trials):
        for name, function in rows.items():
            elapsed = timeit.timeit(function, number=numbers[name])
            samples[name].append(elapsed / numbers[name] * 1e6)
    return {name: statistics.median(values) for name, values in samples.items()}


def version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=31)
    parser.add_argument("--budget", type=float, default=0.02, help="seconds per trial per row")
    parser.add_argument("--quick", action="store_true", help="11 trials, 1.5 KB only")
    args = parser.parse_args()
    trials = 11 if args.quick else args.trials
    sizes = [1536] if args.quick else [1536, 50 * 1024]

    print("machine: " + platform.platform() + ", " + str(os.cpu_count()) + " CPUs")
    print("python:  " + sys.version.split()[0] + " (" + platform.python_implementation() + ")")
    print(
        "libs:    standardwebhooks "
        + version("standardwebhooks")
        + ", svix "
        + version("svix")
        + ", PyJWT "
        + version("pyjwt")
        + ", cryptography "
        + version("cryptography")
    )
    print("when:    " + datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ"))
    print("median of " + str(trials) + " interleaved trials; us per verification")
    note = ""
    for size in sizes:
        case = Case(size)
        if not case.std_kwargs:
            note = "standardwebhooks has no json_parse option here: its row includes json.loads"
        results = measure(case.rows(), trials, args.budget)
        floor = results["floor (hmac.new+b64+compare_digest)"]
        bare = results["bare jwt.decode (ES256)"]
        print()
        print("body " + str(len(case.body)) + " bytes")
        print(f"{'':38s} {'us':>9s} {'vs floor':>9s} {'vs jwt.decode':>14s}")
        for name, value in results.items():
            is_jwt = "JWT" in name or "jwt" in name
            versus_floor = "" if is_jwt else f"{value / floor:8.2f}x"
            versus_bare = f"{value / bare:13.2f}x" if is_jwt else ""
            print(f"{name:38s} {value:9.2f} {versus_floor:>9s} {versus_bare:>14s}")
    if note:
        print()
        print("note: " + note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
