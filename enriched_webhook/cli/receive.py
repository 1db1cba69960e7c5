"""Run the reference webhook receiver (verify, deduplicate, log one line per request).

Secrets given with --secret are visible to other local users in the process list;
prefer the WEBHOOK_SECRET environment variable (space-separated for rotation) outside a
local test.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from ..receiver.capture import CaptureWriter
from ..receiver.errors import VerifierConfigError
from ..receiver.http_server import DEFAULT_MAX_BODY_BYTES, WebhookServer
from ..receiver.replay import RedisReplayCache, ReplayCache
from ..receiver.verifier import DEFAULT_TOLERANCE, Verifier

SECRET_ENV = "WEBHOOK_SECRET"  # noqa: S105 - a variable name, not a secret


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 = any)")
    parser.add_argument(
        "--secret",
        action="append",
        default=[],
        help="whsec_ secret for HMAC; repeat (or space-separate) for rotation; "
        "default: $" + SECRET_ENV,
    )
    keys = parser.add_mutually_exclusive_group()
    keys.add_argument("--jwks", metavar="FILE", help="JWKS file with the sender's public keys")
    keys.add_argument("--jwks-url", metavar="URL", help="JWKS URL (fetched, cached, refreshed)")
    parser.add_argument("--hs256-secret-env", metavar="NAME", help="env var holding an HS256 key")
    parser.add_argument("--audience", help="expected JWT aud (this receiver's public URL)")
    parser.add_argument("--issuer", help="expected JWT iss (https://<instance>.canvasmedical.com)")
    parser.add_argument(
        "--tolerance",
        type=float,
        default=DEFAULT_TOLERANCE,
        help="seconds a timestamp may be in the past or future (default 300)",
    )
    parser.add_argument("--redis-url", help="share the replay store in Redis (several workers)")
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        default=DEFAULT_MAX_BODY_BYTES,
        help="larger bodies are answered 413 (default 1 MiB)",
    )
    parser.add_argument(
        "--capture",
        metavar="DIR",
        type=Path,
        help="write every request received into DIR, one JSON file each (PHI: files are 0600)",
    )


def build_verifier(args: argparse.Namespace) -> Verifier:
    """The Verifier the options describe; raises VerifierConfigError if they do not fit."""
    secrets = [part for value in args.secret for part in value.split()]
    if not secrets and os.environ.get(SECRET_ENV, "").strip():
        secrets = os.environ[SECRET_ENV].split()
    jwks: dict[str, Any] | None = None
    if args.jwks:
        try:
            with open(args.jwks, encoding="utf-8") as handle:
                jwks = json.load(handle)
        except (OSError, ValueError) as error:
            raise VerifierConfigError("cannot read --jwks: " + type(error).__name__) from None
        if not isinstance(jwks, dict):
            raise VerifierConfigError("--jwks is not a JSON object")
    hs256 = None
    if args.hs256_secret_env:
        hs256 = os.environ.get(args.hs256_secret_env)
        if not hs256:
            raise VerifierConfigError("$" + args.hs256_secret_env + " is empty")
    replay: ReplayCache | None = None
    if args.redis_url:
        replay = RedisReplayCache(args.redis_url)
    return Verifier(
        secrets or None,
        jwks=jwks,
        jwks_url=args.jwks_url,
        hs256_secret=hs256,
        audience=args.audience,
        issuer=args.issuer,
        tolerance=args.tolerance,
        replay_cache=replay,
    )


def run(args: argparse.Namespace) -> int:
    try:
        verifier = build_verifier(args)
    except (VerifierConfigError, ImportError) as error:
        sys.stderr.write("enriched-webhook receive: " + str(error) + "\n")
        return 2
    try:
        capture = CaptureWriter(args.capture) if args.capture else None
    except OSError as error:
        sys.stderr.write("enriched-webhook receive: cannot use --capture: " + str(error) + "\n")
        return 2
    server = WebhookServer(
        (args.host, args.port), verifier, max_body_bytes=args.max_body_bytes, capture=capture
    )
    sys.stderr.write("enriched-webhook receive: listening on " + server.url + "\n")
    sys.stderr.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
