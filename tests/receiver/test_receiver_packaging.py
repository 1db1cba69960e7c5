"""The receiver works without `canvas`: import-blocked in-process, and as a built wheel
installed into a brand-new virtualenv (the `slow` test; deselect with -m 'not slow')."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURE_TASK = REPO / "fixtures" / "canvas" / "task_read_response_200.json"
# What the wheel ships: the receiver library, the rules it shares with the plugin, the
# command line and its tools. Never handlers/, plugin/, models/ (they need canvas_sdk), the
# manifest, devtools/ or fixtures.
WHEEL_PARTS = ("receiver", "shared", "tools", "cli")
WHEEL_FILES = ("__init__.py", "verify.py", "version.py", "py.typed")


def intended_wheel_files() -> set[str]:
    package = REPO / "enriched_webhook"
    files = {"enriched_webhook/" + name for name in WHEEL_FILES}
    for part in WHEEL_PARTS:
        files |= {
            path.relative_to(REPO).as_posix()
            for path in (package / part).rglob("*.py")
            if "__pycache__" not in path.parts
        }
    return files


BLOCKED = ("canvas_sdk", "canvas_cli", "canvas_generated", "plugin_runner", "logger", "settings")

# Verifies one HMAC and one ES256 JWT request built from the packaged Task fixtures.
VERIFY_SCRIPT = textwrap.dedent(
    """
    import base64, json, os, sys, time
    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from enriched_webhook.verify import Verifier, AlreadyHandledError, InvalidSignatureError
    from enriched_webhook.shared.payload import envelope, serialize, webhook_id
    from enriched_webhook.shared.signature import decode_secret, jwt_claims, signature_header

    with open(os.environ["FIXTURE_TASK"], "rb") as fixture:
        task = json.load(fixture)
    now = int(time.time())
    body = serialize(envelope("TASK_CREATED", task, "https://x.canvasmedical.com", now)).encode()
    msg_id = webhook_id("TASK_CREATED", task["id"], task.get("lastModified", ""))
    secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    headers = {
        "Webhook-Id": msg_id,
        "Webhook-Timestamp": str(now),
        "Webhook-Signature": signature_header([decode_secret(secret)], msg_id, now, body),
    }
    verifier = Verifier(secrets=[secret])
    with verifier.process(body, headers) as event:
        assert event.task.id == task["id"], event.task.id
    try:
        verifier.verify(body, headers)
        raise SystemExit("a handled id must be refused")
    except AlreadyHandledError:
        pass
    try:
        Verifier(secrets=[secret]).verify(body + b" ", headers)
        raise SystemExit("a changed body must be refused")
    except InvalidSignatureError:
        pass

    private = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private.public_key()))
    jwk.update(kid="k1", alg="ES256", use="sig")
    claims = jwt_claims(issuer="https://x.canvasmedical.com", audience="https://r.example/hook",
                        task_id=task["id"], msg_id=msg_id, timestamp=now, body=body)
    token = jwt.encode(claims, private, algorithm="ES256", headers={"kid": "k1", "typ": "JWT"})
    jwt_verifier = Verifier(jwks={"keys": [jwk]}, audience="https://r.example/hook")
    event = jwt_verifier.verify(body, {"webhook-id": msg_id, "webhook-timestamp": str(now),
                                       "authorization": "Bearer " + token})
    assert event.type == "task.created"
    print("VERIFIED", event.id)
    """
)

BLOCKER = textwrap.dedent(
    """
    import importlib.abc, sys
    BLOCKED = {blocked!r}

    class RefuseCanvas(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError("blocked in this test: " + name)
            return None

    sys.meta_path.insert(0, RefuseCanvas())
    import enriched_webhook.verify
    import enriched_webhook.receiver.http_server
    import enriched_webhook.cli.main
    """
).format(blocked=BLOCKED)

AFTER = textwrap.dedent(
    """
    leaked = sorted(name for name in sys.modules if name.split(".")[0] in BLOCKED)
    assert not leaked, leaked
    """
)


def test_verify_imports_and_works_with_canvas_blocked() -> None:
    script = BLOCKER + VERIFY_SCRIPT + AFTER
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env=dict(os.environ, FIXTURE_TASK=str(FIXTURE_TASK)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "VERIFIED msg_" in result.stdout


def _source_copy(target: Path) -> Path:
    """Every tracked file of the checkout (devtools/ and fixtures/ too, so a packaging change
    that swept them in would show), copied so the build never writes into the checkout."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True, timeout=60
    )
    for name in listed.stdout.decode().split("\0"):
        if name and (REPO / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, target / name)
    return target


def _run(command: list[str], env: dict[str, str], timeout: float, cwd: Path | None = None) -> Any:
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False, env=env
    )


def _env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel `pip wheel` builds from the tracked files (no dependencies)."""
    root = tmp_path_factory.mktemp("wheel")
    source = _source_copy(root / "src")
    dist = root / "dist"
    wheel_command = [sys.executable, "-m", "pip", "wheel", "--no-deps"]
    built = _run([*wheel_command, "-q", "-w", str(dist), str(source)], _env(), 600)
    assert built.returncode == 0, built.stdout + built.stderr
    wheels = list(dist.glob("enriched_webhook-*.whl"))
    assert len(wheels) == 1, list(dist.iterdir())
    return wheels[0]


def test_the_built_wheel_holds_exactly_the_intended_files(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as opened:
        shipped = {name for name in opened.namelist() if ".dist-info/" not in name}
    assert shipped == intended_wheel_files(), (
        "unexpected: "
        + str(sorted(shipped - intended_wheel_files()))
        + " missing: "
        + str(sorted(intended_wheel_files() - shipped))
    )


# What pip prints when it cannot reach the package index at all (not a packaging fault).
NO_INDEX = (
    "NewConnectionError",
    "Network is unreachable",
    "Temporary failure in name resolution",
    "ConnectTimeoutError",
)


@pytest.mark.slow
def test_built_wheel_verifies_in_a_clean_virtualenv(wheel: Path, tmp_path: Path) -> None:
    env = _env()
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = str(venv / "bin" / "python")
    install = [python, "-m", "pip", "install", "-q", "--retries", "2", str(wheel)]
    installed = _run(install, env, 900)
    said = installed.stdout + installed.stderr
    if installed.returncode != 0 and any(marker in said for marker in NO_INDEX):
        pytest.skip(
            "the package index is unreachable here, so the wheel's dependencies cannot be"
            " installed into a new virtualenv (its file list is checked by the test above)"
        )
    assert installed.returncode == 0, said
    script = VERIFY_SCRIPT + AFTER.replace("BLOCKED", repr(BLOCKED))
    run_env = dict(env, FIXTURE_TASK=str(FIXTURE_TASK))
    run = _run([python, "-c", script], run_env, 300, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "VERIFIED msg_" in run.stdout
    probe_code = (
        "import importlib.util, enriched_webhook;"
        "assert importlib.util.find_spec('canvas_sdk') is None;"
        "print(enriched_webhook.__file__)"
    )
    probe = _run([python, "-c", probe_code], env, 120, cwd=tmp_path)
    assert probe.returncode == 0, probe.stderr
    assert str(venv) in probe.stdout  # the installed wheel, not the checkout
    receiver_help = _run(
        [python, "-m", "enriched_webhook.cli", "receive", "--help"], env, 120, cwd=tmp_path
    )
    assert receiver_help.returncode == 0, receiver_help.stderr
    assert "--max-body-bytes" in receiver_help.stdout
