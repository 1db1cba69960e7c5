"""Make a new whsec_ secret (`keys hmac`) or a JWT key pair and its JWKS (`keys jwt`)."""

from __future__ import annotations

import argparse
import secrets
import sys
import time
from pathlib import Path

from ..tools.keys import (
    JWT_KEY_ALGORITHMS,
    KeyFileExistsError,
    KeySetFileError,
    canvas_config_lines,
    new_hmac_secret,
    new_key_pair,
    write_key_pair,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    kinds = parser.add_subparsers(dest="kind", metavar="KIND", required=True)
    kinds.add_parser("hmac", help="print a new whsec_ secret (32 random bytes)")
    jwt_parser = kinds.add_parser(
        "jwt", help="write a private key (0600) and the public JWKS; print the canvas config lines"
    )
    jwt_parser.add_argument("--alg", choices=JWT_KEY_ALGORITHMS, default="ES256")
    jwt_parser.add_argument("--kid", help="key id (default: <alg>-<date>-<random>, never reused)")
    jwt_parser.add_argument(
        "--out", type=Path, default=Path("keys/generated"), help="folder (default keys/generated)"
    )


def default_kid(algorithm: str) -> str:
    """`<alg>-<date>-<random>`: unique by construction, so a kid is never reused, not even
    one whose key was retired and deleted (caches may still hold it under that kid)."""
    return f"{algorithm.lower()}-{time.strftime('%Y%m%d')}-{secrets.token_hex(3)}"


def run(args: argparse.Namespace) -> int:
    if args.kind == "hmac":
        print(new_hmac_secret())
        print(
            "install: canvas config set enriched_webhook WEBHOOK_SECRET=<the secret>",
            file=sys.stderr,
        )
        return 0
    kid = args.kid or default_kid(args.alg)
    pair = new_key_pair(args.alg, kid)
    try:
        private_path, jwks_path = write_key_pair(pair, args.out)
    except (KeyFileExistsError, KeySetFileError) as error:
        print(f"enriched-webhook keys: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(
            f"enriched-webhook keys: cannot write to {args.out}:"
            f" {error.strerror or 'unknown error'}",
            file=sys.stderr,
        )
        return 1
    print(f"private key: {private_path} (mode 0600; keep it secret, never commit it)")
    print(f"public JWKS: {jwks_path} (give it to receivers; the plugin serves it)")
    print("install in Canvas:")
    for line in canvas_config_lines(pair, private_path, jwks_path):
        print(f"  {line}")
    return 0
