"""Receivers over HTTP: requests/s and latency of the reference receiver and the FastAPI example.

Run: .venv/bin/python bench/receiver_http_bench.py [--seconds 10] [--quick]
Needs `wrk` (apt-get install wrk) and the dev extra (fastapi, uvicorn).

Not a test: numbers depend on the machine. Each server runs in its own process with one
worker; `wrk` drives it with 32 keep-alive connections. Every server answers two paths:
`/hook` verifies (HMAC or ES256, then the Task validated with fhir.resources) and
`/ceiling` reads the body and answers 204 without verifying: the same server's cost of
HTTP alone, the ceiling any verification can reach. wrk replays one signed request, so
the replay store in these runs forgets every id (otherwise every request after the
first is a duplicate, answered before Task validation); storing an id in memory costs
microseconds. Runs are interleaved round by round and the median round is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import jwt  # noqa: E402
from fastapi import Request, Response  # noqa: E402 - module level: FastAPI resolves annotations here

from devtools.fixtures import fixture_tasks  # noqa: E402
from enriched_webhook.shared.payload import envelope, serialize, webhook_id  # noqa: E402
from enriched_webhook.shared.signature import (  # noqa: E402
    decode_secrets,
    jwt_claims,
    signature_header,
)
from enriched_webhook.tools.keys import new_hmac_secret, new_key_pair  # noqa: E402

SOURCE = "https://example.canvasmedical.com"
AUDIENCE = "https://receiver.example/hook"
CONNECTIONS = 32
SERVERS = ("reference", "fastapi")
WRK = shutil.which("wrk") or "wrk"


class ForgetfulReplayCache:
    """A replay store that records nothing, so one signed request can be replayed."""

    def handled_digest(self, msg_id: str) -> str | None:
        return None

    def claim(self, msg_id: str, ttl: float, digest: str) -> str:
        return "token"

    def mark_handled(self, msg_id: str, token: str, ttl: float, digest: str) -> None:
        return None

    def release(self, msg_id: str, token: str) -> None:
        return None


def build_verifier(config: dict[str, Any]) -> Any:
    from enriched_webhook.verify import Verifier

    if config["mode"] == "hmac":
        return Verifier(secrets=config["secret"], replay_cache=ForgetfulReplayCache())
    return Verifier(jwks=config["jwks"], audience=AUDIENCE, replay_cache=ForgetfulReplayCache())


def serve_reference(port: int, config: dict[str, Any]) -> None:
    """The reference receiver, with `/ceiling` answered without verification."""
    from enriched_webhook.receiver.answer import WebhookAnswer
    from enriched_webhook.receiver.http_server import WebhookRequestHandler, WebhookServer

    class WithCeiling(WebhookRequestHandler):
        def _answer_request(self) -> WebhookAnswer:
            if self.path != "/ceiling":
                return super()._answer_request()
            self.rfile.read(int(self.headers["content-length"]))
            return WebhookAnswer(204, "ok")

    server = WebhookServer(
        ("127.0.0.1", port),
        build_verifier(config),
        log=lambda line: None,
        handler_class=WithCeiling,
    )
    server.serve_forever()


def serve_fastapi(port: int, config: dict[str, Any]) -> None:
    """examples/fastapi/app.py as shipped, its verifier swapped, plus `/ceiling`."""
    import importlib.util

    import uvicorn

    os.environ.setdefault("WEBHOOK_SECRET", config.get("secret") or new_hmac_secret())
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:1/0")  # never connected: swapped
    spec = importlib.util.spec_from_file_location("example_app", REPO / "examples/fastapi/app.py")
    assert spec is not None and spec.loader is not None
    module: Any = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.verifier = build_verifier(config)
    module.handle = lambda event: None  # the example prints a line per event

    async def ceiling(request: Request) -> Response:
        await request.body()
        return Response(status_code=204)

    module.app.add_api_route("/ceiling", ceiling, methods=["POST"])

    uvicorn.run(module.app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def server(kind: str, config: dict[str, Any], folder: Path) -> Iterator[int]:
    port = free_port()
    config_file = folder / f"{kind}-{config['mode']}.json"
    config_file.write_text(json.dumps(config))
    command = [sys.executable, __file__, "--serve", kind, str(port), str(config_file)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"{kind} server did not start") from None
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=15)


def signed_request(mode: str, config: dict[str, Any], private_pem: str) -> dict[str, Any]:
    task = next(item for item in fixture_tasks() if "task_read_response_200" in item.name).task
    now = int(time.time())
    body = serialize(envelope("TASK_CREATED", task, SOURCE, now)).encode()
    msg_id = webhook_id("TASK_CREATED", task["id"], task.get("lastModified", ""))
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(now)}
    headers["content-type"] = "application/json"
    if mode == "hmac":
        keys = decode_secrets(config["secret"])
        headers["webhook-signature"] = signature_header(keys, msg_id, now, body)
    else:
        claims = jwt_claims(
            issuer=SOURCE,
            audience=AUDIENCE,
            task_id=task["id"],
            msg_id=msg_id,
            timestamp=now,
            body=body,
        )
        token = jwt.encode(claims, private_pem, algorithm="ES256", headers={"kid": "bench"})
        headers["authorization"] = f"Bearer {token}"
    return {"body": body.decode("ascii"), "headers": headers}


def wrk_script(request: dict[str, Any], folder: Path) -> Path:
    lines = ['wrk.method = "POST"', f"wrk.body = [==[{request['body']}]==]"]
    lines += [f'wrk.headers["{name}"] = "{value}"' for name, value in request["headers"].items()]
    script = folder / f"request-{abs(hash(request['body'] + str(request['headers'])))}.lua"
    script.write_text("\n".join(lines) + "\n")
    return script


def run_wrk(url: str, script: Path, seconds: float) -> dict[str, float]:
    result = subprocess.run(
        [
            WRK,
            "-t",
            "1",
            "-c",
            str(CONNECTIONS),
            "-d",
            f"{seconds:g}s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    output = result.stdout
    if "Non-2xx" in output:
        raise SystemExit(f"wrk saw non-2xx answers from {url}:\n{output}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    figures = {"rps": rate}
    for label, key in (("50%", "p50"), ("99%", "p99")):
        found = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        assert found is not None, output
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[found.group(2)]
        figures[key] = float(found.group(1)) * scale
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per run (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--quick", action="store_true", help="3 s runs, one round")
    parser.add_argument("--serve", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        kind, port, config_file = args.serve
        config = json.loads(Path(config_file).read_text())
        (serve_reference if kind == "reference" else serve_fastapi)(int(port), config)
        return 0
    if shutil.which("wrk") is None:
        raise SystemExit("receiver_http_bench needs wrk: apt-get install wrk")
    seconds, rounds = (3.0, 1) if args.quick else (args.seconds, args.rounds)
    pair = new_key_pair("ES256", "bench")
    configs: dict[str, dict[str, Any]] = {
        "hmac": {"mode": "hmac", "secret": new_hmac_secret()},
        "es256": {"mode": "es256", "jwks": {"keys": [pair.public_jwk]}},
    }
    print(
        f"receivers over HTTP: one worker each, wrk with {CONNECTIONS} keep-alive connections,"
        f" {seconds:g} s per run, median of {rounds} interleaved round(s);"
        f" {os.cpu_count()} CPUs shared by wrk and the server"
    )
    rows: dict[tuple[str, str], list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        for _round in range(rounds):
            for kind in SERVERS:
                for mode, config in configs.items():
                    with server(kind, config, folder) as port:
                        script = wrk_script(signed_request(mode, config, pair.private_pem), folder)
                        base = f"http://127.0.0.1:{port}"
                        run_wrk(f"{base}/hook", script, 1.0)  # warm-up
                        rows.setdefault((kind, mode), []).append(
                            run_wrk(f"{base}/hook", script, seconds)
                        )
                        if mode == "hmac":
                            rows.setdefault((kind, "ceiling"), []).append(
                                run_wrk(f"{base}/ceiling", script, seconds)
                            )
    print(f"{'server':<34}{'endpoint':<30}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'of ceiling':>12}")
    names = {"reference": "reference receiver (receive)", "fastapi": "FastAPI example (uvicorn)"}
    endpoints = {
        "ceiling": "no verification (ceiling)",
        "hmac": "HMAC + Task validation",
        "es256": "ES256 JWT + Task validation",
    }
    for kind in SERVERS:
        ceiling = statistics.median(run["rps"] for run in rows[(kind, "ceiling")])
        for mode in ("ceiling", "hmac", "es256"):
            runs = rows[(kind, mode)]
            rps = statistics.median(run["rps"] for run in runs)
            p50 = statistics.median(run["p50"] for run in runs)
            p99 = statistics.median(run["p99"] for run in runs)
            print(
                f"{names[kind]:<34}{endpoints[mode]:<30}{rps:>9.0f}{p50:>9.2f}{p99:>9.2f}"
                f"{rps / ceiling:>11.2f}x"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
