"""`enriched-webhook receive` and `python -m enriched_webhook.cli receive`, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from enriched_webhook.cli.main import main
from enriched_webhook.cli.receive import build_verifier
from enriched_webhook.receiver.replay import RedisReplayCache
from enriched_webhook.verify import Verifier

from .helpers import AUDIENCE, body_for, fixture, hmac_headers, msg_id_for, new_key_pair, new_whsec


def parse(*argv: str) -> object:
    import argparse

    from enriched_webhook.cli import receive

    parser = argparse.ArgumentParser(prog="enriched-webhook receive")
    receive.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_options_build_the_verifier(tmp_path: Path, redis_url: str) -> None:
    secret = new_whsec()
    args = parse("--secret", secret, "--tolerance", "60")
    verifier = build_verifier(args)  # type: ignore[arg-type]
    assert isinstance(verifier, Verifier) and verifier.tolerance == 60
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps({"keys": [new_key_pair().public_jwk]}))
    args = parse("--jwks", str(jwks_file), "--audience", AUDIENCE, "--redis-url", redis_url)
    verifier = build_verifier(args)  # type: ignore[arg-type]
    assert isinstance(verifier.replay_cache, RedisReplayCache)
    pool = verifier.replay_cache.client.connection_pool.connection_kwargs
    assert pool["socket_timeout"] == 1.0 and pool["socket_connect_timeout"] == 1.0
    args = parse("--secret", secret, "--redis-url", redis_url, "--redis-timeout", "0.25")
    pool = build_verifier(args).replay_cache.client.connection_pool.connection_kwargs  # type: ignore[arg-type, attr-defined]
    assert pool["socket_timeout"] == 0.25


def test_the_memory_store_size_is_an_option() -> None:
    """The in-memory store forgets the oldest ids past its size: --memory-ids sets it."""
    secret = new_whsec()
    verifier = build_verifier(parse("--secret", secret, "--memory-ids", "2"))  # type: ignore[arg-type]
    store = verifier.replay_cache
    for number in range(3):
        store.mark_handled(f"id-{number}", "t", 60, "d")
    assert store.handled_digest("id-0") is None and store.handled_digest("id-2") == "d"
    assert main(["receive", "--port", "0", "--secret", secret, "--memory-ids", "0"]) == 2


def test_configuration_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    env_before = os.environ.pop("WEBHOOK_SECRET", None)
    try:
        assert main(["receive", "--port", "0"]) == 2
        assert main(["receive", "--port", "0", "--secret", "whsec_"]) == 2
        assert main(["receive", "--port", "0", "--jwks", "/nonexistent.json"]) == 2
    finally:
        if env_before is not None:
            os.environ["WEBHOOK_SECRET"] = env_before
    assert "secret" in capsys.readouterr().err
    assert main([]) == 2


def test_python_dash_m_cli_receive_serves_requests() -> None:
    secret = new_whsec()
    env = dict(os.environ, WEBHOOK_SECRET=secret, PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "enriched_webhook.cli", "receive", "--port", "0"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        banner = process.stderr.readline()
        assert "listening on http://127.0.0.1:" in banner, banner
        url = banner.rsplit(" ", 1)[1].strip()
        task = fixture().task
        body = body_for(task, now=int(time.time()))
        headers = hmac_headers(secret, body, msg_id_for(task), int(time.time()))
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 204
        line = process.stderr.readline()
        assert "verdict=ok" in line and msg_id_for(task) in line
        assert secret not in banner + line
    finally:
        process.terminate()
        process.wait(timeout=10)
