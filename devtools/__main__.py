"""`python -m devtools demo`: the README's main job, from a checkout of the repository.

The local-run harness is developer tooling, not part of the installed package: it needs the
`canvas` package (its plugin runner) and the repository's fixtures, which receivers never
install. Run it from the repository root (`make demo` does).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools",
        description="Local runs of the enriched-webhook plugin in the real Canvas plugin runner.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    demo = commands.add_parser(
        "demo", help="every fixture Task through the plugin runner, local FHIR and a receiver"
    )
    demo.add_argument(
        "--ui", action="store_true", help="the Webhook deliveries page in a browser instead"
    )
    args, rest = parser.parse_known_args(argv)
    if args.command == "demo" and args.ui:
        from .ui_demo import main as ui_demo_main

        return ui_demo_main(rest)
    if rest:
        parser.error("unrecognized arguments: " + " ".join(rest))
    if args.command == "demo":
        from .demo import main as demo_main

        return demo_main()
    return 2  # pragma: no cover - argparse refuses unknown commands


if __name__ == "__main__":
    sys.exit(main())
