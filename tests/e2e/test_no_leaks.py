"""Nothing leaks: sentinel PHI, secrets and tokens through every path, then every log,
error message, HTTP answer and CLI output is scanned for them.

Paths: delivery in HMAC and JWT modes, FHIR failures (with a sentinel in the error body),
the cron tick that reads that Task again and sends it, an invalid Task, a configuration
error, the reference receiver refusing tampered and invalid requests, and the audit and
verify commands on what it captured.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from devtools.fhir_server import LocalFhirServer
from devtools.fixtures import fixture_tasks
from devtools.runner import PluginRunner
from enriched_webhook.receiver.capture import CaptureWriter
from enriched_webhook.receiver.http_server import serve
from enriched_webhook.shared.payload import envelope, serialize
from enriched_webhook.shared.signature import decode_secrets, signature_header
from enriched_webhook.verify import Verifier
from tests.cli.run_cli import cli
from tests.e2e.test_runner_e2e import tick
from tests.support import new_key_pair, new_whsec

pytestmark = pytest.mark.runner

PHI = {
    "description": "SENTINELDESCRIPTION4471",
    "note": "SENTINELNOTE9902",
    "patient": "SENTINELPATIENT5531",
    "label": "SENTINELLABEL3310",
}
CLIENT_SECRET = "SENTINELCLIENTSECRET8086"
TOKEN_PREFIX = "SENTINELTOKEN"
FHIR_ERROR_BODY = b"SENTINELFHIRERRORBODY for patient SENTINELPATIENT5531"


def sentinel_task(task_id: str) -> dict[str, Any]:
    task: dict[str, Any] = json.loads(
        next(f for f in fixture_tasks() if f.name == "canvas/task_read_response_200.json").body
    )
    task["id"] = task_id
    task["description"] = "Call " + PHI["description"]
    task["note"][0]["text"] = PHI["note"] + " called back"
    task["for"]["reference"] = "Patient/" + PHI["patient"]
    task["input"][0]["valueString"] = PHI["label"]
    return task


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read().decode()


def test_no_sentinel_reaches_any_log_message_or_output(tmp_path: Path) -> None:
    secret = new_whsec()
    pem, jwk = new_key_pair("ES256", kid="leak-test")
    secrets_to_hide = [
        secret,
        secret.removeprefix("whsec_"),
        CLIENT_SECRET,
        TOKEN_PREFIX,
        pem.splitlines()[1],
    ]
    outputs: list[str] = []
    receiver_log: list[str] = []
    good, bad_status, other = (
        sentinel_task("leak-good"),
        sentinel_task("leak-bad"),
        sentinel_task("leak-500"),
    )
    bad_status["status"] = "SENTINELSTATUS"

    with LocalFhirServer(client_secret=CLIENT_SECRET, token_prefix=TOKEN_PREFIX) as fhir:
        for task in (good, bad_status, other):
            fhir.add_task(task)
        capture = CaptureWriter(tmp_path / "captures")
        hmac_receiver = serve(Verifier(secrets=[secret]), log=receiver_log.append, capture=capture)
        jwt_url = ""
        try:
            url = hmac_receiver.url + "hook"
            variables = fhir.plugin_variables(
                url, WEBHOOK_SECRET=secret, RETRY_SCHEDULE="0,0", FHIR_TIMEOUTS="1,2"
            )
            with PluginRunner(variables) as runner:
                assert runner.send_event("TASK_CREATED", "leak-good") == []
                assert len(list((tmp_path / "captures").iterdir())) == 1  # delivered
                assert runner.send_event("TASK_CREATED", "leak-bad") == []
                # The read fails twice with the sentinel body, then a tick reads and sends
                # (FHIR_TIMEOUTS small enough for a tick's budget: see test_faults.py).
                fhir.script_response("/Task/leak-500", 500, FHIR_ERROR_BODY, "text/plain")
                fhir.script_response("/Task/leak-500", 500, FHIR_ERROR_BODY, "text/plain")
                assert runner.send_event("TASK_CREATED", "leak-500") == []
                tick(runner)
                tick(runner)
                assert len(list((tmp_path / "captures").iterdir())) == 2
            outputs.append(runner.log_text())
            # The same Task in JWT mode, with the private key as a sentinel too.
            jwt_receiver = serve(
                Verifier(jwks={"keys": [jwk]}, audience="https://r.example/hook"),
                log=receiver_log.append,
            )
            try:
                jwt_url = jwt_receiver.url + "hook"
                variables = fhir.plugin_variables(
                    jwt_url,
                    SIGNING_MODE="jwt",
                    JWT_PRIVATE_KEY=pem,
                    JWT_KEY_ID="leak-test",
                    JWT_AUDIENCE="https://r.example/hook",
                )
                with PluginRunner(variables) as runner:
                    assert runner.send_event("TASK_CREATED", "leak-good") == []
                outputs.append(runner.log_text())
            finally:
                jwt_receiver.shutdown()
            # A configuration error whose value is a sentinel.
            bad_config = fhir.plugin_variables(url, WEBHOOK_SECRET="whsec_" + PHI["patient"] + "!!")
            with PluginRunner(bad_config) as runner:
                assert runner.send_event("TASK_CREATED", "leak-good") == []
            outputs.append(runner.log_text())

            # The receiver refusing: tampered body, Task failing the rules, wrong signature.
            body = serialize(
                envelope("TASK_CREATED", good, "https://local.canvasmedical.com", 0)
            ).encode()
            headers = {"webhook-id": "msg_leak", "webhook-timestamp": str(int(time.time()))}
            stamp = int(headers["webhook-timestamp"])
            headers["webhook-signature"] = signature_header(
                decode_secrets(secret), "msg_leak", stamp, body
            )
            tampered = body.replace(b"Call ", b"Kall ")
            outputs.append(post(url, tampered, headers)[1])
            invalid = serialize(
                envelope("TASK_CREATED", bad_status, "https://local.canvasmedical.com", 0)
            ).encode()
            signed_invalid = dict(
                headers,
                **{
                    "webhook-id": "msg_leak2",
                    "webhook-signature": signature_header(
                        decode_secrets(secret), "msg_leak2", stamp, invalid
                    ),
                },
            )
            status, answer = post(url, invalid, signed_invalid)
            assert status == 400
            outputs.append(answer)
        finally:
            hmac_receiver.shutdown()
        assert fhir.state.token_requests >= 1

    # The CLI on everything captured: audit, and verify with the right and a wrong secret.
    captured = sorted((tmp_path / "captures").iterdir())
    assert len(captured) == 4  # leak-good, leak-500 (after its retried read), two refused
    # The sentinels did travel: the captures (PHI by design, files 0600) carry them.
    assert all(PHI["description"] in path.read_text() for path in captured[:1])
    audit = cli("audit", *(str(p) for p in captured))
    outputs.extend([audit.stdout, audit.stderr])
    env = dict(os.environ, WEBHOOK_SECRET=secret)
    script = str(Path(sys.executable).parent / "enriched-webhook")
    for path in captured:
        for environment in (env, dict(os.environ, WEBHOOK_SECRET=new_whsec())):
            result = subprocess.run(
                [script, "verify", str(path)],
                env=environment,
                capture_output=True,
                text=True,
                check=False,
            )
            outputs.extend([result.stdout, result.stderr])
    outputs.extend(receiver_log)

    everything = "\n".join(outputs)
    assert "enriched-webhook event=TASK_CREATED task=leak-good" in everything  # the logs were read
    assert "verdict=InvalidTaskError" in everything and "INVALID" in everything
    leaks = [
        s
        for s in [*PHI.values(), "SENTINELSTATUS", "SENTINELFHIRERRORBODY", *secrets_to_hide]
        if s in everything
    ]
    assert leaks == [], "leaked: " + ", ".join(s[:16] + "..." for s in leaks)
