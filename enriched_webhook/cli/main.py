"""The `enriched-webhook` dispatcher: one subcommand per module, registered here.

Each subcommand module exposes `add_arguments(parser)` and `run(args) -> int`. Only the
chosen command's module is imported, so `verify` or `receive` do not pay for the key
tools' cryptography imports. The local demo is developer tooling in the repository
(`python -m devtools demo`), not a command of the installed package.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ..version import VERSION

PROG = "enriched-webhook"
# name -> one-line summary for the top-level help; the module's docstring is the rest.
COMMANDS = {
    "keys": "make a whsec_ secret, or a JWT key pair and its JWKS",
    "bundle": "write the deployable plugin for `canvas deploy`",
    "schema": "print the JSON Schema of the payload (envelope v1 or --format fhir-notification)",
    "audit": "validate captured payloads (envelopes or notification Bundles), Task rules, R4B",
    "verify": "check the signature of one captured request offline",
    "receive": "run the reference webhook receiver",
}


def top_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="enriched-webhook: keys, the deployable bundle, the payload schema, offline "
        "audit and verification, and a reference receiver.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {VERSION}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, summary in COMMANDS.items():
        commands.add_parser(name, help=summary, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the return value is the process exit status."""
    words = list(argv) if argv is not None else sys.argv[1:]
    if not words or words[0] not in COMMANDS:
        parser = top_parser()
        parser.parse_args(words)  # --help, or an error naming the unknown command
        parser.print_help(sys.stderr)
        return 2
    name = words[0]
    module = importlib.import_module(f".{name}", __package__)
    parser = argparse.ArgumentParser(prog=f"{PROG} {name}", description=module.__doc__)
    module.add_arguments(parser)
    args = parser.parse_args(words[1:])
    result: int = module.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
