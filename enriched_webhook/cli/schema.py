"""Print the JSON Schema of a payload format: envelope v1 (default) or fhir-notification."""

from __future__ import annotations

import argparse
import sys

from ..shared.notification import FORMAT_ENVELOPE, FORMAT_NOTIFICATION, PAYLOAD_FORMATS
from ..tools.notification_schema import notification_schema_text
from ..tools.payload_schema import schema_text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The schemas are the ones committed in schema/ (payload-v1, fhir-notification-v1)."""
    parser.add_argument(
        "--format",
        choices=PAYLOAD_FORMATS,
        default=FORMAT_ENVELOPE,
        help="which PAYLOAD_FORMAT's schema to print (default: envelope)",
    )


def run(args: argparse.Namespace) -> int:
    if args.format == FORMAT_NOTIFICATION:
        sys.stdout.write(notification_schema_text())
    else:
        sys.stdout.write(schema_text())
    return 0
