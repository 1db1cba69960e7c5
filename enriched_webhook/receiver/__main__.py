"""`python -m enriched_webhook.receiver ...` is `enriched-webhook receive ...`."""

from __future__ import annotations

import sys

from ..cli.main import main

if __name__ == "__main__":
    sys.exit(main(["receive", *sys.argv[1:]]))
