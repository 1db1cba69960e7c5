"""enriched-webhook: Canvas Task events as signed webhooks carrying the full FHIR Task.

Layout (the architecture in folders):
- `handlers/`, `plugin/`, `models/`: what runs inside Canvas's sandbox: the entry points
  Canvas calls, the work behind them, the outbox's custom-data models. Not in the wheel:
  they need `canvas_sdk`, which only Canvas (and `canvas run-plugin`) provides.
- `shared/`: rules both sides call: signature scheme, payload, Task rules, JWKS rule.
- `verify`, `receiver/`: the receiver library. `tools/`, `cli/`: the command line.
  These never run in Canvas and are left out of the uploaded plugin.

The wire format: docs/wire-format.md. This file imports nothing (it runs in the sandbox
too), so `import enriched_webhook.verify` works without `canvas`. The sandbox refuses any
assignment to a dunder name, so the version lives in `version.py` (`VERSION`, the one
source: the wheel's metadata, `enriched-webhook --version`, `enriched_webhook.verify.__version__`).
"""
