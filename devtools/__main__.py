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
        "--ui",
        action="store_true",
        help="the Webhook deliveries page in a browser instead (demo --ui --help: its options)",
    )
    given = list(sys.argv[1:] if argv is None else argv)
    if given[:1] == ["demo"] and "--ui" in given:
        from .ui_demo import main as ui_demo_main

        return ui_demo_main([arg for arg in given[1:] if arg != "--ui"])
    args = parser.parse_args(given)
    if args.command == "demo":
        from .demo import main as demo_main

        return demo_main()
    return 2  # pragma: no cover - argparse refuses unknown commands


if __name__ == "__main__":
    sys.exit(main())
