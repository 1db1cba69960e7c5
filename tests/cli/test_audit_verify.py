"""`receive --capture`, then `audit` and `verify` on what it captured, through the real
entry point; bad input gives one line and a non-zero exit, never a traceback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.fixtures import fixture_tasks
from enriched_webhook.shared.payload import envelope, occurred_at, serialize, webhook_id
from enriched_webhook.shared.ping import ping_envelope
from enriched_webhook.shared.signature import decode_secrets, jwt_claims, signature_header
from tests.cli.run_cli import cli
from tests.support import new_key_pair, new_whsec

FIXTURE = next(f for f in fixture_tasks() if f.name == "canvas/task_read_response_200.json")
SOURCE = "https://local.canvasmedical.com"


def signed_request(
    secret: str, task: dict[str, object] | None = None
) -> tuple[bytes, dict[str, str]]:
    task = task or FIXTURE.task
    body = serialize(envelope("TASK_CREATED", task, SOURCE, time.time())).encode()
    msg_id = webhook_id("TASK_CREATED", str(task["id"]), occurred_at(task))  # type: ignore[arg-type]
    stamp = int(time.time())
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": signature_header(decode_secrets(secret), msg_id, stamp, body),
        "content-type": "application/json",
    }
    return body, headers


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[tuple[str, str, Path, subprocess.Popen[str]]]:
    """`enriched-webhook receive --capture DIR` as a real process on a free port."""
    secret = new_whsec()
    captures = tmp_path / "captures"
    script = Path(sys.executable).parent / "enriched-webhook"
    env = dict(os.environ, WEBHOOK_SECRET=secret)
    process = subprocess.Popen(
        [str(script), "receive", "--port", "0", "--capture", str(captures)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    line = process.stderr.readline()
    assert "listening on" in line, line
    url = line.split("listening on ")[1].strip() + "hook"
    try:
        yield secret, url, captures, process
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)


def test_receive_captures_every_request_and_audit_and_verify_read_them(
    receiver: tuple[str, str, Path, subprocess.Popen[str]],
) -> None:
    secret, url, captures, _process = receiver
    body, headers = signed_request(secret)
    assert post(url, body, headers) == 204
    tampered = body.replace(b"completed", b"cancelled")
    assert post(url, tampered, headers) == 401
    files = sorted(captures.iterdir())
    assert len(files) == 2
    assert all(f.stat().st_mode & 0o777 == 0o600 for f in files)
    good, bad = files
    assert json.loads(good.read_text())["body"].encode() == body

    audited = cli("audit", str(good), str(bad))
    assert audited.returncode == 0, (
        audited.stdout
    )  # both payloads are valid; audit checks no signature
    assert audited.stdout.count("PASS") == 2
    assert "task.created  Task/" + FIXTURE.task_id in audited.stdout

    env_ok = dict(os.environ, WEBHOOK_SECRET=secret)
    ok = subprocess.run(
        [*cli_command(), "verify", str(good)],
        env=env_ok,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith("VALID") and headers["webhook-id"] in ok.stdout
    refused = cli("verify", str(bad), "--secret", secret)
    assert refused.returncode == 1 and "InvalidSignatureError" in refused.stdout
    wrong_key = cli("verify", str(good), "--secret", new_whsec())
    assert wrong_key.returncode == 1
    stale = cli("verify", str(good), "--secret", secret, "--check-time")
    assert stale.returncode == 0  # captured seconds ago: still fresh


def cli_command() -> list[str]:
    return [str(Path(sys.executable).parent / "enriched-webhook")]


def test_verify_checks_time_only_when_asked(tmp_path: Path) -> None:
    secret = new_whsec()
    body, headers = signed_request(secret)
    old = int(time.time()) - 86_400
    headers["webhook-timestamp"] = str(old)
    headers["webhook-signature"] = signature_header(
        decode_secrets(secret), headers["webhook-id"], old, body
    )
    capture = tmp_path / "old.json"
    capture.write_text(json.dumps({"headers": headers, "body": body.decode()}))
    assert cli("verify", str(capture), "--secret", secret).returncode == 0
    stale = cli("verify", str(capture), "--secret", secret, "--check-time")
    assert stale.returncode == 1 and "StaleTimestampError" in stale.stdout


def test_verify_a_jwt_capture_with_a_jwks_file(tmp_path: Path) -> None:
    import jwt as pyjwt

    pem, jwk = new_key_pair("EdDSA", kid="k9")
    body = serialize(envelope("TASK_CREATED", FIXTURE.task, SOURCE, 0)).encode()
    stamp = int(time.time())
    claims = jwt_claims(
        issuer=SOURCE,
        audience="https://r.example/hook",
        task_id=FIXTURE.task_id,
        msg_id="msg_jwt",
        timestamp=stamp,
        body=body,
    )
    token = pyjwt.encode(claims, pem, algorithm="EdDSA", headers={"kid": "k9", "typ": "JWT"})
    capture = tmp_path / "jwt.json"
    capture.write_text(
        json.dumps(
            {
                "headers": {
                    "webhook-id": "msg_jwt",
                    "webhook-timestamp": str(stamp),
                    "authorization": "Bearer " + token,
                },
                "body": body.decode(),
            }
        )
    )
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [jwk]}))
    ok = cli("verify", str(capture), "--jwks", str(jwks), "--audience", "https://r.example/hook")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    wrong = cli("verify", str(capture), "--jwks", str(jwks), "--audience", "https://other.example/")
    assert wrong.returncode == 1 and "InvalidTokenError" in wrong.stdout
    missing = cli("verify", str(capture), "--jwks", str(jwks))
    assert missing.returncode == 2 and "audience" in missing.stderr


def test_audit_reports_each_kind_of_bad_file(tmp_path: Path) -> None:
    valid = tmp_path / "valid.json"
    valid.write_text(serialize(envelope("TASK_CREATED", FIXTURE.task, SOURCE, 0)))
    bogus_task = dict(FIXTURE.task, status="bogus")
    invalid_status = tmp_path / "status.json"
    invalid_status.write_text(serialize(envelope("TASK_CREATED", bogus_task, SOURCE, 0)))
    not_json = tmp_path / "notjson.json"
    not_json.write_text("{nope")
    a_list = tmp_path / "list.json"
    a_list.write_text("[1, 2]")
    wrong_shape = tmp_path / "shape.json"
    wrong_shape.write_text(json.dumps({"headers": [], "body": 3}))
    no_envelope = tmp_path / "task-only.json"
    no_envelope.write_text(json.dumps(FIXTURE.task))
    missing = tmp_path / "missing.json"
    result = cli(
        "audit",
        *(
            str(p)
            for p in (valid, invalid_status, not_json, a_list, wrong_shape, no_envelope, missing)
        ),
    )
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("PASS") and "valid.json" in lines[0]
    assert "InvalidTaskError: Task.status is not in its required value set" in lines[1]
    assert lines[2].endswith("not JSON")
    assert "the JSON is not an object" in lines[3]
    assert "capture: 'headers' is not an object of strings" in lines[4]
    assert "InvalidPayloadError: the envelope version is not 1" in lines[5]
    assert "cannot read: No such file or directory" in lines[6]
    assert lines[-1] == "audit: 7 file(s), 1 valid, 6 invalid"
    assert "Traceback" not in result.stdout + result.stderr
    assert "Ask patient" not in result.stdout  # no Task content in the report


def test_audit_passes_every_fixture(tmp_path: Path) -> None:
    paths = []
    for number, fixture in enumerate(fixture_tasks()):
        path = tmp_path / (str(number) + ".json")
        path.write_text(serialize(envelope("TASK_CREATED", fixture.task, SOURCE, 0)))
        paths.append(str(path))
    result = cli("audit", *paths)
    assert result.returncode == 0, result.stdout
    assert result.stdout.splitlines()[-1] == "audit: 16 file(s), 16 valid, 0 invalid"


def test_verify_bad_input_is_one_line(tmp_path: Path) -> None:
    not_capture = tmp_path / "x.json"
    not_capture.write_text('{"a": 1}')
    for args in (
        ["verify", str(tmp_path / "absent.json"), "--secret", new_whsec()],
        ["verify", str(not_capture), "--secret", new_whsec()],
    ):
        result = cli(*args)
        assert result.returncode == 2
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_every_command_has_help() -> None:
    for command in ("keys", "bundle", "schema", "audit", "verify", "receive"):
        result = cli(command, "--help")
        assert result.returncode == 0 and "usage: enriched-webhook " + command in result.stdout
    assert cli().returncode == 2


def test_audit_passes_a_ping_as_the_library_accepts_it(tmp_path: Path) -> None:
    path = tmp_path / "ping.json"
    path.write_text(serialize(ping_envelope(SOURCE, 0)))
    result = cli("audit", str(path))
    assert result.returncode == 0, result.stdout
    assert result.stdout.splitlines()[-1] == "audit: 1 file(s), 1 valid, 0 invalid"
