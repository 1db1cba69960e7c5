"""The test event (`ping`): accepted with no Task, and nothing else passes as one."""

from __future__ import annotations

import json

import pytest

from enriched_webhook.shared.payload import serialize
from enriched_webhook.shared.ping import ping_envelope, ping_id
from enriched_webhook.verify import InvalidPayloadError, InvalidTokenError, Verifier

from .helpers import AUDIENCE, NOW, SOURCE, hmac_headers, jwt_headers, new_key_pair, new_whsec


def ping_body(**changes: object) -> bytes:
    document = ping_envelope(SOURCE, NOW)
    document.update(changes)
    return serialize(document).encode()


def test_a_ping_is_verified_and_carries_no_task() -> None:
    secret = new_whsec()
    msg_id = ping_id()
    body = ping_body()
    event = Verifier(secrets=[secret], now=NOW).verify(body, hmac_headers(secret, body, msg_id))
    assert event.is_ping and event.type == "ping"
    assert event.task is None and event.task_id is None and event.included == []
    assert json.loads(body)["data"] == {} and msg_id != ping_id()


@pytest.mark.parametrize("data", [{"id": "x"}, [], None, {"resourceType": "Task"}])
def test_a_ping_with_anything_in_data_is_refused(data: object) -> None:
    secret = new_whsec()
    body = ping_body(data=data)
    with pytest.raises(InvalidPayloadError):
        Verifier(secrets=[secret], now=NOW).verify(body, hmac_headers(secret, body))


def test_a_jwt_ping_must_say_ping_as_its_subject() -> None:
    pair = new_key_pair("ES256")
    body = ping_body()
    verifier = Verifier(jwks={"keys": [pair.public_jwk]}, audience=AUDIENCE, now=NOW)
    good = jwt_headers(pair, body, claims={"sub": "ping"})
    assert verifier.verify(body, good).is_ping
    forged = jwt_headers(pair, body, "msg_other", claims={"sub": "Task/task-1"})
    with pytest.raises(InvalidTokenError):
        Verifier(jwks={"keys": [pair.public_jwk]}, audience=AUDIENCE, now=NOW).verify(body, forged)
