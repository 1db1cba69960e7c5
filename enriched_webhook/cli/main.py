"""The `enriched-webhook` dispatcher: one subcommand per module, registered here.

Each subcommand module exposes `add_arguments(parser)` and `run(args) -> int`, so adding a
command is one import and one line, and `main` stays free of any command's imports cost.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import audit, bundle, demo, keys, receive, schema, verify

COMMANDS = {
    "demo": demo,
    "keys": keys,
    "bundle": bundle,
    "schema": schema,
    "audit": audit,
    "verify": verify,
    "receive": receive,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="enriched-webhook",
        description="enriched-webhook: the end-to-end demo, keys, the deployable bundle, the "
        "payload schema, offline audit and verification, and a reference receiver.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in COMMANDS.items():
        summary = (module.__doc__ or "").strip().splitlines()[0]
        sub = commands.add_parser(name, help=summary, description=module.__doc__)
        module.add_arguments(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the return value is the process exit status."""
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else sys.argv[1:])
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    result: int = COMMANDS[args.command].run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
