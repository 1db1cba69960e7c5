"""The Webhook deliveries page: HTML, its inline SVG chart, its CSS and JS, its CSRF proof.

Sandbox-safe (only `html`, `hmac`, `hashlib`, `base64`, `urllib.parse`, `re`), with no
Canvas import, so every piece renders and is tested in-process from plain dicts of the shape
`plugin.outbox.operations` returns. The handler in `handlers/deliveries_app.py` wires it to the
outbox. Every value written into the page goes through `markup.text` or `markup.attr`:
receivers, Task ids and query strings come from outside.
"""
