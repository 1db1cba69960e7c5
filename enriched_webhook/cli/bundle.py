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
    out = args.out or Path(f"{args.prefix}__enriched_webhook-deploy")
    try:
        package = write_bundle(args.prefix, out)
    except BundleError as error:
        print(f"enriched-webhook bundle: {error}", file=sys.stderr)
        return 1
    except (OSError, subprocess.CalledProcessError) as error:
        print(f"enriched-webhook bundle: could not write the bundle: {error}", file=sys.stderr)
        return 1
    print(f"wrote {package} (a git repository at {out})")
    print(f"next: canvas validate {package}")
    print("      canvas login")
    print(f"      canvas deploy {package}")
    print(f"      canvas config set {package.name} WEBHOOK_URL=... WEBHOOK_SECRET=...")
    return 0
