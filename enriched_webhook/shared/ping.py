"""The test event (`ping`): what an operator sends to check a receiver, with no PHI in it.

An envelope v1 of type `ping` whose `data` is an empty object, with a random `webhook-id`
(each ping is its own event) and, in JWT mode, `sub` = "ping" (there is no Task to name).
It is always an envelope, whatever PAYLOAD_FORMAT says: it carries no resource to notify
about. The receiver library accepts it (`event.is_ping`, `event.task` is None); see
docs/wire-format.md, "Event types".
"""

from __future__ import annotations

import secrets
from typing import Any

from .payload import PAYLOAD_VERSION, utc_iso

PING_TYPE = "ping"
PING_EVENT = "PING"
PING_SUBJECT = "ping"


def ping_id() -> str:
    """A new `webhook-id` for one ping: `msg_` + 32 random hex digits."""
    return "msg_" + secrets.token_hex(16)


def ping_envelope(source: str, now: float) -> dict[str, Any]:
    """The ping's body: the envelope's members, an empty `data`."""
    return {
        "version": PAYLOAD_VERSION,
        "type": PING_TYPE,
        "timestamp": utc_iso("", now),
        "source": source,
        "data": {},
    }
