"""Check the signature of one captured request offline, to debug a receiver.

Freshness is not checked unless --check-time: a capture is old by nature, so the clock is
set to the request's own webhook-timestamp. Secrets: --secret, or $WEBHOOK_SECRET (which
keeps them out of the process list).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from ..receiver.capture import CaptureFormatError, parse_capture
from ..receiver.errors import VerifierConfigError, WebhookVerificationError
from ..receiver.verifier import Verifier
from .receive import SECRET_ENV


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("capture", type=Path, metavar="CAPTURE", help="a captured request file")
    parser.add_argument("--secret", action="append", default=[], help="whsec_ secret (repeatable)")
    parser.add_argument("--jwks", type=Path, metavar="FILE", help="JWKS file (JWT mode)")
    parser.add_argument("--audience", help="expected JWT aud (required with --jwks)")
    parser.add_argument("--issuer", help="expected JWT iss")
    parser.add_argument(
        "--check-time", action="store_true", help="also refuse a stale or future timestamp"
    )


def fail(message: str) -> int:
    print("enriched-webhook verify: " + message, file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    try:
        headers, body = parse_capture(json.loads(args.capture.read_text(encoding="utf-8")))
    except OSError as error:
        return fail("cannot read " + str(args.capture) + ": " + str(error.strerror or "error"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        if isinstance(error, CaptureFormatError):
            return fail(str(args.capture) + ": " + str(error))
        return fail(str(args.capture) + " is not JSON")
    secrets = [part for value in args.secret for part in value.split()]
    if not secrets and not args.jwks and os.environ.get(SECRET_ENV, "").strip():
        secrets = os.environ[SECRET_ENV].split()
    jwks: Any = None
    if args.jwks:
        try:
            jwks = json.loads(args.jwks.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return fail("cannot read --jwks as JSON")
    now: Any = None
    if not args.check_time:
        stamp = headers.get("webhook-timestamp", "")
        now = float(stamp) if stamp.isascii() and stamp.isdigit() else None
    try:
        verifier = Verifier(
            secrets or None,
            jwks=jwks,
            audience=args.audience,
            issuer=args.issuer,
            now=now,
        )
    except VerifierConfigError as error:
        return fail(str(error) + " (give --secret, $WEBHOOK_SECRET, or --jwks with --audience)")
    try:
        event = verifier.verify(body, headers)
    except WebhookVerificationError as error:
        print("INVALID  " + str(args.capture) + "  " + type(error).__name__ + ": " + str(error))
        return 1
    print(
        "VALID  "
        + str(args.capture)
        + "  "
        + event.id
        + "  "
        + event.type
        + "  Task/"
        + str(event.task_id)
    )
    return 0
