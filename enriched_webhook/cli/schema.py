"""Print the JSON Schema of payload v1 (the envelope and the Task inside it)."""

from __future__ import annotations

import argparse
import sys

from ..tools.payload_schema import schema_text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options: the schema is the one committed as schema/payload-v1.schema.json."""


def run(args: argparse.Namespace) -> int:
    sys.stdout.write(schema_text())
    return 0
