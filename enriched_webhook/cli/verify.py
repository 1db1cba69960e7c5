"""Check the signature of one captured request offline, to debug a receiver.

Freshness is not checked unless --check-time: a capture is old by nature, so the clock is
set to the request's own webhook-timestamp. Secrets: --secret, or $WEBHOOK_SECRET (which
keeps them out of the process list).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..receiver.capture import CaptureFormatError, parse_capture
from ..receiver.errors import VerifierConfigError, WebhookVerificationError
from ..receiver.headers import TIMESTAMP
from ..receiver.verifier import Verifier
from .credentials import SECRET_ENV, hmac_secrets, load_jwks


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("capture", type=Path, metavar="CAPTURE", help="a captured request file")
    parser.add_argument(
        "--secret",
        action="append",
        default=[],
        help=f"whsec_ secret (repeatable); default: ${SECRET_ENV} unless --jwks",
    )
    parser.add_argument("--jwks", type=Path, metavar="FILE", help="JWKS file (JWT mode)")
    parser.add_argument("--audience", help="expected JWT aud (required with --jwks)")
    parser.add_argument("--issuer", help="expected JWT iss")
    parser.add_argument(
        "--check-time", action="store_true", help="also refuse a stale or future timestamp"
    )


def fail(message: str) -> int:
    print(f"enriched-webhook verify: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    try:
        headers, body = parse_capture(json.loads(args.capture.read_text(encoding="utf-8")))
    except OSError as error:
        return fail(f"cannot read {args.capture}: {error.strerror or 'error'}")
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        if isinstance(error, CaptureFormatError):
            return fail(f"{args.capture}: {error}")
        return fail(f"{args.capture} is not JSON")
    secrets = hmac_secrets(args.secret, from_env=not args.jwks)
    now: Any = None
    if not args.check_time:
        stamp = headers.get(TIMESTAMP, "")
        now = float(stamp) if stamp.isascii() and stamp.isdigit() else None
    try:
        verifier = Verifier(
            secrets or None,
            jwks=load_jwks(args.jwks) if args.jwks else None,
            audience=args.audience,
            issuer=args.issuer,
            now=now,
        )
    except VerifierConfigError as error:
        return fail(f"{error} (give --secret, ${SECRET_ENV}, or --jwks with --audience)")
    try:
        event = verifier.verify(body, headers)
    except WebhookVerificationError as error:
        print(f"INVALID  {args.capture}  {type(error).__name__}: {error}")
        return 1
    print(f"VALID  {args.capture}  {event.id}  {event.type}  Task/{event.task_id}")
    return 0
