"""Write the deployable plugin for `canvas deploy`: ORG__enriched_webhook/ in its own git repo."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from ..tools.bundle import BundleError, write_bundle


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--prefix", required=True, help="your Canvas organization prefix")
    parser.add_argument(
        "--out",
        type=Path,
        help="new folder to create (default: ./<prefix>__enriched_webhook-deploy)",
    )


def run(args: argparse.Namespace) -> int:
    out = args.out or Path(args.prefix + "__enriched_webhook-deploy")
    try:
        package = write_bundle(args.prefix, out)
    except BundleError as error:
        print("enriched-webhook bundle: " + str(error), file=sys.stderr)
        return 1
    except (OSError, subprocess.CalledProcessError) as error:
        print("enriched-webhook bundle: could not write the bundle: " + str(error), file=sys.stderr)
        return 1
    print("wrote " + str(package) + " (a git repository at " + str(out) + ")")
    print("next: canvas validate " + str(package))
    print("      canvas login")
    print("      canvas deploy " + str(package))
    print("      canvas config set " + package.name + " WEBHOOK_URL=... WEBHOOK_SECRET=...")
    return 0
