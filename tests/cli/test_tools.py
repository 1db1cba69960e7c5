"""`keys`, `bundle` and `schema` through the real entry point, failure exits included."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import jwt
import pytest

from enriched_webhook.shared.signature import decode_secret
from enriched_webhook.tools.payload_schema import schema_text
from tests.cli.run_cli import cli
from tests.plugin.test_canvas_validate import validate

REPO = Path(__file__).resolve().parents[2]


def test_keys_hmac_prints_a_fresh_32_byte_secret() -> None:
    first, second = cli("keys", "hmac"), cli("keys", "hmac")
    assert first.returncode == 0
    secret = first.stdout.strip()
    assert secret.startswith("whsec_") and len(decode_secret(secret)) == 32
    assert secret != second.stdout.strip()


@pytest.mark.parametrize("algorithm", ["ES256", "EdDSA", "RS256"])
def test_keys_jwt_writes_a_0600_key_and_a_public_jwks_that_verify_together(
    tmp_path: Path, algorithm: str
) -> None:
    result = cli("keys", "jwt", "--alg", algorithm, "--kid", "k1", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    key_file, jwks_file = tmp_path / "k1.pem", tmp_path / "jwks.json"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert (
        "canvas config set enriched_webhook SIGNING_MODE=jwt JWT_ALGORITHM=" + algorithm
        in result.stdout
    )
    assert "BEGIN PRIVATE KEY" not in result.stdout  # the key goes to the file only
    jwks = json.loads(jwks_file.read_text())
    (public,) = jwks["keys"]
    assert public["kid"] == "k1" and public["alg"] == algorithm and "d" not in public
    token = jwt.encode({"x": 1}, key_file.read_text(), algorithm=algorithm)
    assert jwt.decode(token, jwt.PyJWK(public).key, algorithms=[algorithm]) == {"x": 1}


def test_keys_jwt_rotation_adds_a_kid_and_never_reuses_one(tmp_path: Path) -> None:
    assert cli("keys", "jwt", "--out", str(tmp_path)).returncode == 0
    assert cli("keys", "jwt", "--out", str(tmp_path)).returncode == 0
    kids = [key["kid"] for key in json.loads((tmp_path / "jwks.json").read_text())["keys"]]
    assert len(set(kids)) == 2 and all(kid.startswith("es256-") for kid in kids)
    again = cli("keys", "jwt", "--kid", kids[0], "--out", str(tmp_path))
    assert again.returncode == 1
    assert "is already in" in again.stderr and "Traceback" not in again.stderr
    (tmp_path / (kids[0] + ".pem")).unlink()  # retired and deleted: the kid is still taken
    assert cli("keys", "jwt", "--kid", kids[0], "--out", str(tmp_path)).returncode == 1


def test_keys_jwt_refuses_a_broken_jwks_before_writing_a_key(tmp_path: Path) -> None:
    (tmp_path / "jwks.json").write_text("{not json")
    result = cli("keys", "jwt", "--kid", "k", "--out", str(tmp_path))
    assert result.returncode == 1 and "is not a usable JWKS" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "k.pem").exists()


def test_keys_jwt_refuses_an_unknown_algorithm() -> None:
    result = cli("keys", "jwt", "--alg", "HS1")
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_schema_prints_the_committed_schema() -> None:
    result = cli("schema")
    assert result.returncode == 0
    committed = (REPO / "schema" / "payload-v1.schema.json").read_text()
    regenerate = "enriched-webhook schema > schema/payload-v1.schema.json"
    assert result.stdout == committed == schema_text(), "schema drifted; run: " + regenerate


def test_bundle_writes_a_validating_plugin_in_its_own_git_repository(tmp_path: Path) -> None:
    out = tmp_path / "deploy"
    result = cli("bundle", "--prefix", "acme", "--out", str(out))
    assert result.returncode == 0, result.stderr
    package = out / "acme__enriched_webhook"
    manifest = json.loads((package / "CANVAS_MANIFEST.json").read_text())
    assert manifest["name"] == "acme__enriched_webhook"
    assert manifest["custom_data"] == {
        "namespace": "acme__enriched_webhook",
        "access": "read_write",
    }
    components = manifest["components"]
    classes = [h["class"] for h in components["handlers"] + components.get("applications", [])]
    assert classes and all(c.startswith("acme__enriched_webhook.handlers.") for c in classes)
    assert "acme__enriched_webhook.handlers.task_events:TaskWebhookHandler" in classes
    assert not (package / "tools").exists() and not (package / "verify.py").exists()
    assert not (package / "receiver").exists() and not (package / "cli").exists()
    log = subprocess.run(
        ["git", "-C", str(out), "log", "--oneline"], capture_output=True, text=True, check=True
    )
    assert len(log.stdout.splitlines()) == 1
    status = subprocess.run(
        ["git", "-C", str(out), "status", "--porcelain"], capture_output=True, text=True, check=True
    )
    assert status.stdout == ""
    validated = validate(package)
    assert validated.returncode == 0, validated.stdout
    assert f"All {len(classes)} handler(s) load cleanly" in validated.stdout


@pytest.mark.parametrize("prefix", ["Acme", "1acme", "acme__x", "a-b", ""])
def test_bundle_refuses_a_bad_prefix(tmp_path: Path, prefix: str) -> None:
    result = cli("bundle", "--prefix", prefix, "--out", str(tmp_path / "x"))
    assert result.returncode == 1
    assert "--prefix must be" in result.stderr and "Traceback" not in result.stderr


def test_bundle_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "something").write_text("x")
    result = cli("bundle", "--prefix", "acme", "--out", str(tmp_path))
    assert result.returncode == 1 and "not empty" in result.stderr


def test_a_command_imports_only_its_own_module() -> None:
    code = (
        "import contextlib, io, sys\n"
        "from enriched_webhook.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['schema'])\n"
        "heavy = ('devtools', 'enriched_webhook.tools.keys', 'grpc')\n"
        "print([name for name in heavy if name in sys.modules])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_top_level_help_lists_every_command() -> None:
    result = cli("--help")
    assert result.returncode == 0
    for command in ("keys", "bundle", "schema", "audit", "verify", "receive"):
        assert command in result.stdout
    unknown = cli("frobnicate")
    assert unknown.returncode == 2 and "invalid choice" in unknown.stderr
