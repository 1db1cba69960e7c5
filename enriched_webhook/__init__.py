"""enriched-webhook: Canvas Task events as signed webhooks carrying the full FHIR Task.

Layout (the architecture in folders):
- `handlers/`: entry points Canvas calls, inside its sandbox.
- `plugin/`: the sandbox-safe work behind them (config, FHIR read, signing, delivery).
- `shared/`: rules both sides call: signature scheme, payload, Task rules, JWKS rule.
- receiver and tool modules (`verify`, `receiver/`, `cli/`, `localrun/`) never run in
  Canvas and are left out of the uploaded plugin.

This file imports nothing, so `import enriched_webhook.verify` works without `canvas`.
"""
