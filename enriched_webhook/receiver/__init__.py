"""Receiver side: verification, replay stores and the reference HTTP receiver.

Never imported by the plugin's handlers and left out of the uploaded plugin; the public
import path is `enriched_webhook.verify`. Run the reference receiver with
`enriched-webhook receive` (or `python -m enriched_webhook.cli receive`).
"""
