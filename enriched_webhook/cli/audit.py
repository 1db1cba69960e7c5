"""Validate payload files (bare bodies or captured requests): envelope, Task rules, R4B Task."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..tools.audit import audit_file


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="payload files")


def run(args: argparse.Namespace) -> int:
    results = [audit_file(path) for path in args.files]
    for result in results:
        print(result.line())
    failed = sum(1 for result in results if not result.passed)
    print(f"audit: {len(results)} file(s), {len(results) - failed} valid, {failed} invalid")
    return 1 if failed else 0
