"""The main job on one machine: every fixture Task through the real plugin runner, signed,
delivered and verified, in HMAC and JWT (ES256) modes. Exits non-zero if anything failed.

Nothing to configure: secrets and keys are made fresh for the run and never written
anywhere but the runner's temporary SECRETS.json, which is removed when it stops.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from ..shared.payload import HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP
from ..shared.signature import (
    BODY_DIGEST_CLAIM,
    body_sha256,
    decode_secrets,
    signature_matches,
    signed_content,
)
from .capture_receiver import CapturedRequest, CaptureReceiver
from .fhir_server import LocalFhirServer
from .fixtures import FixtureTask, fixture_tasks
from .platform_delivery import execute
from .runner import PluginRunner, RunnerError

SOURCE = "https://local.canvasmedical.com"
Checker = Callable[[CapturedRequest], str]


@dataclass
class Row:
    event: str
    mode: str
    msg_id: str
    verdict: str
    task_id: str
    status: str
    millis: float


def hmac_mode() -> tuple[dict[str, str], Checker]:
    secret = "whsec_" + base64.b64encode(os.urandom(32)).decode("ascii")
    keys = decode_secrets(secret)

    def check(request: CapturedRequest) -> str:
        headers = request.headers
        content = signed_content(headers[HEADER_ID], headers[HEADER_TIMESTAMP], request.body)
        return (
            "valid"
            if signature_matches(headers[HEADER_SIGNATURE], keys, content)
            else "BAD SIGNATURE"
        )

    return {"SIGNING_MODE": "hmac", "WEBHOOK_SECRET": secret}, check


def jwt_mode(audience: str) -> tuple[dict[str, str], Checker]:
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    public_jwk = json.loads(ECAlgorithm.to_jwk(private.public_key()))
    public_jwk.update({"kid": "demo-es256", "alg": "ES256", "use": "sig"})

    def check(request: CapturedRequest) -> str:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        try:
            claims = jwt.decode(
                token, private.public_key(), algorithms=["ES256"], audience=audience, issuer=SOURCE
            )
        except jwt.InvalidTokenError as error:
            return "BAD JWT (" + type(error).__name__ + ")"
        if claims.get("jti") != request.headers.get(HEADER_ID):
            return "BAD JWT (jti)"
        if claims.get(BODY_DIGEST_CLAIM) != body_sha256(request.body):
            return "BAD JWT (body digest)"
        return "valid"

    secrets = {
        "SIGNING_MODE": "jwt",
        "JWT_ALGORITHM": "ES256",
        "JWT_PRIVATE_KEY": pem,
        "JWT_KEY_ID": "demo-es256",
        "JWT_PUBLIC_JWKS": json.dumps({"keys": [public_jwk]}),
    }
    return secrets, check


def run_mode(
    mode: str, fhir: LocalFhirServer, fixtures: list[FixtureTask], out: TextIO
) -> list[Row]:
    rows: list[Row] = []
    with CaptureReceiver() as receiver:
        extra, check = hmac_mode() if mode == "hmac" else jwt_mode(receiver.url)
        secrets = fhir.plugin_variables(receiver.url, **extra)
        print("  starting the Canvas plugin runner (" + mode + ") ...", file=out, flush=True)
        with PluginRunner(secrets) as runner:
            for fixture in fixtures:
                started = time.perf_counter()
                effects = runner.send_event("TASK_CREATED", fixture.task_id)
                before = len(receiver.requests)
                for effect in effects:
                    execute(effect)
                millis = (time.perf_counter() - started) * 1000
                arrived = receiver.requests[before:]
                rows.append(verdict_row(mode, fixture, arrived, check, millis))
    return rows


def verdict_row(
    mode: str, fixture: FixtureTask, arrived: list[CapturedRequest], check: Checker, millis: float
) -> Row:
    if len(arrived) != 1:
        return Row("TASK_CREATED", mode, "-", "NOT DELIVERED", fixture.task_id, "-", millis)
    request = arrived[0]
    verdict = check(request)
    document: dict[str, Any] = json.loads(request.body)
    if document.get("data") != fixture.task:
        verdict = "DATA DIFFERS"
    status = str(document.get("data", {}).get("status", "-"))
    return Row(
        "TASK_CREATED",
        mode,
        request.headers.get(HEADER_ID, "-"),
        verdict,
        fixture.task_id,
        status,
        millis,
    )


def print_table(rows: list[Row], out: TextIO) -> None:
    header = ("event", "mode", "webhook-id", "verdict", "task id", "status", "ms")
    table = [header] + [
        (r.event, r.mode, r.msg_id, r.verdict, r.task_id, r.status, str(round(r.millis, 1)))
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)), file=out
        )


def main(out: TextIO = sys.stdout) -> int:
    started = time.perf_counter()
    fixtures = fixture_tasks()
    rows: list[Row] = []
    print("enriched-webhook demo: " + str(len(fixtures)) + " Tasks, HMAC and JWT (ES256)", file=out)
    try:
        with LocalFhirServer() as fhir:
            for fixture in fixtures:
                fhir.add_task(fixture.body, fixture.task_id)
            print("  local FHIR server at " + fhir.base_url, file=out, flush=True)
            for mode in ("hmac", "jwt"):
                rows.extend(run_mode(mode, fhir, fixtures, out))
    except RunnerError as error:
        print("demo failed: " + str(error), file=out)
        return 1
    print_table(rows, out)
    failed = [row for row in rows if row.verdict != "valid"]
    seconds = time.perf_counter() - started
    print(
        str(len(rows) - len(failed))
        + "/"
        + str(len(rows))
        + " events delivered and verified in "
        + str(round(seconds, 1))
        + " s",
        file=out,
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
