"""`python -m enriched_webhook.cli COMMAND ...` is `enriched-webhook COMMAND ...`."""

from __future__ import annotations

import sys

from .main import main

if __name__ == "__main__":
    sys.exit(main())
