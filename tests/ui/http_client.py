"""Plain HTTP to the gateway, as a browser (or an attacker's page) would send it."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from typing import Any

from devtools.gateway import SimpleApiGateway

ACTIONS = ("resend", "resend-failed", "ping", "backfill")


def request(
    gateway: SimpleApiGateway,
    method: str,
    path: str,
    cookie: str | None = None,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """`path` is below the plugin's API root, e.g. `/app/deliveries`."""
    sent = dict(headers or {})
    if cookie is not None:
        sent["Cookie"] = cookie
    url = gateway.origin + "/plugin-io/api/" + gateway.plugin_name + path
    req = urllib.request.Request(url, data=body, method=method, headers=sent)
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers.items()), error.read()


def page_token(gateway: SimpleApiGateway) -> str:
    """The CSRF token the page gives the stand-in staff member."""
    status, _headers, body = request(gateway, "GET", "/app/deliveries", gateway.cookie_header())
    assert status == 200
    found = re.search(rb'<meta name="csrf-token" content="([^"]*)">', body)
    assert found is not None and found.group(1)
    return found.group(1).decode()


def action(
    gateway: SimpleApiGateway,
    name: str,
    payload: dict[str, Any],
    cookie: str | None,
    token: str | None,
    content_type: str = "application/json",
) -> tuple[int, Any]:
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["X-CSRF-Token"] = token
    status, _headers, body = request(
        gateway, "POST", "/app/actions/" + name, cookie, headers, json.dumps(payload).encode()
    )
    return status, json.loads(body) if body else None
