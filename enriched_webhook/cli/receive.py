"""Run the reference webhook receiver (verify, deduplicate, log one line per request).

Secrets given with --secret are visible to other local users in the process list;
prefer the WEBHOOK_SECRET environment variable (space-separated for rotation) outside a
local test. With several receiver processes, share the replay store (--redis-url): each
process's memory store knows only its own ids.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..receiver.answer import DEFAULT_MAX_BODY_BYTES
from ..receiver.capture import CaptureWriter
from ..receiver.errors import VerifierConfigError
from ..receiver.http_server import DEFAULT_HEADER_TIMEOUT, WebhookServer
from ..receiver.replay import (
    DEFAULT_MAX_ENTRIES,
    DEFAULT_REDIS_TIMEOUT,
    MemoryReplayCache,
    RedisReplayCache,
    ReplayCache,
)
from ..receiver.verifier import DEFAULT_TOLERANCE, Verifier
from .credentials import SECRET_ENV, hmac_secrets, load_jwks, secret_from_env


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 = any)")
    parser.add_argument(
        "--secret",
        action="append",
        default=[],
        help="whsec_ secret for HMAC; repeat (or space-separate) for rotation; "
        f"default: ${SECRET_ENV}",
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
        "--redis-timeout",
        type=float,
        default=DEFAULT_REDIS_TIMEOUT,
        help="seconds a Redis command may take before the request is answered 503 (default 1)",
    )
    parser.add_argument(
        "--memory-ids",
        type=int,
        default=DEFAULT_MAX_ENTRIES,
        help="ids the in-memory replay store keeps, without --redis-url (default 100000)",
    )
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        default=DEFAULT_MAX_BODY_BYTES,
        help="larger bodies are answered 413 (default 1 MiB)",
    )
    parser.add_argument(
        "--header-timeout",
        type=float,
        default=DEFAULT_HEADER_TIMEOUT,
        help="seconds a client has to send its request line and headers (default 10)",
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        help="open connections at most (default: what the open-file limit allows)",
    )
    parser.add_argument(
        "--capture",
        metavar="DIR",
        type=Path,
        help="write every request received into DIR, one JSON file each (PHI: files are 0600)",
    )


def build_verifier(args: argparse.Namespace) -> Verifier:
    """The Verifier the options describe; raises VerifierConfigError if they do not fit."""
    secrets = hmac_secrets(args.secret)
    hs256 = secret_from_env(args.hs256_secret_env) if args.hs256_secret_env else None
    replay: ReplayCache
    if args.redis_url:
        replay = RedisReplayCache(args.redis_url, timeout=args.redis_timeout)
    else:
        replay = MemoryReplayCache(max_entries=args.memory_ids)
    return Verifier(
        secrets or None,
        jwks=load_jwks(args.jwks) if args.jwks else None,
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
        sys.stderr.write(f"enriched-webhook receive: {error}\n")
        return 2
    try:
        capture = CaptureWriter(args.capture) if args.capture else None
    except OSError as error:
        sys.stderr.write(f"enriched-webhook receive: cannot use --capture: {error}\n")
        return 2
    server = WebhookServer(
        (args.host, args.port),
        verifier,
        max_body_bytes=args.max_body_bytes,
        capture=capture,
        header_timeout=args.header_timeout,
        max_connections=args.max_connections,
    )
    sys.stderr.write(f"enriched-webhook receive: listening on {server.url}\n")
    sys.stderr.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
