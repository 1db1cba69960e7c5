"""Command line: `enriched-webhook <command>` (console script `enriched_webhook.cli.main:main`).

Receiver-side tooling; never imported by the plugin's handlers and free of `canvas_sdk`.
"""
