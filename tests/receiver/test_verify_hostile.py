"""Hostile input: whatever arrives, only our exception family (or a valid event) comes out.

Over 10,000 generated cases in the default run, across random requests, mutated valid
requests, validly signed hostile bodies and mutated JWTs.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from enriched_webhook.shared.payload import envelope, serialize
from enriched_webhook.verify import VerifiedEvent, Verifier, WebhookVerificationError

from .helpers import (
    AUDIENCE,
    NOW,
    SOURCE,
    body_for,
    fixture,
    hmac_headers,
    jwt_headers,
    new_key_pair,
    new_whsec,
)

SECRET = new_whsec()
PAIR = new_key_pair("ES256", "hostile")
TASK = fixture().task
BODY = body_for(TASK)
JWKS = {"keys": [PAIR.public_jwk]}
HMAC = Verifier(SECRET, now=NOW)
HMAC_LAZY = Verifier(SECRET, now=NOW, validate_task=False)
JWT = Verifier(jwks=JWKS, audience=AUDIENCE, issuer=SOURCE, now=NOW)
BOTH = Verifier(SECRET, jwks=JWKS, audience=AUDIENCE, now=NOW)
VALID_HMAC = hmac_headers(SECRET, BODY)
VALID_JWT = jwt_headers(PAIR, BODY, task_id=TASK["id"])
TOKEN = VALID_JWT["authorization"].split(" ", 1)[1]
EXAMPLES = settings(
    max_examples=2500,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

HEADER_NAMES = st.sampled_from(
    [
        "webhook-id",
        "Webhook-Id",
        "WEBHOOK-TIMESTAMP",
        "webhook-timestamp",
        "webhook-signature",
        "Webhook-Signature",
        "authorization",
        "svix-id",
        "svix-signature",
        "content-type",
    ]
)
HOSTILE_TEXT = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=st.characters(min_codepoint=0x80), max_size=20),
    st.sampled_from(
        [
            "",
            " ",
            "v1",
            "v1,",
            "v1,=",
            "v1,AAAA",
            "v1,\u00e9\u00e9",
            "v2,abc",
            ",,,",
            "Bearer",
            "Bearer a.b.c",
            "Bearer ...",
            "Bearer " + TOKEN[:40],
            "1e10",
            "-1",
            "99999999999999999999",
            str(NOW),
            "\x00",
            "\r\n",
        ]
    ),
    st.integers(min_value=1000, max_value=20000).map(lambda size: "v1," + "A" * size),
)
HOSTILE_VALUE = st.one_of(
    HOSTILE_TEXT,
    st.none(),
    st.integers(),
    st.floats(allow_nan=True),
    st.binary(max_size=30),
    st.lists(st.text(max_size=5), max_size=3),
    st.booleans(),
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
TASK_ELEMENTS = [*sorted(TASK), "status", "intent", "priority", "for", "_status", "zzz", ""]


def survives(check: Callable[[], Any]) -> None:
    """Only a valid event or a WebhookVerificationError may come out."""
    try:
        result = check()
    except WebhookVerificationError as error:
        assert str(error)
        assert isinstance(error.http_status, int)
        return
    assert isinstance(result, VerifiedEvent)


def read_everything(event: VerifiedEvent) -> VerifiedEvent:
    _ = (event.payload, event.task, event.type, event.task_id, event.occurred_at)
    return event


@EXAMPLES
@given(
    body=st.one_of(st.binary(max_size=3000), st.text(max_size=200), HOSTILE_VALUE),
    headers=st.dictionaries(HEADER_NAMES, HOSTILE_VALUE, max_size=6),
    which=st.sampled_from([HMAC, HMAC_LAZY, JWT, BOTH]),
)
def test_random_requests(body: Any, headers: dict[str, Any], which: Verifier) -> None:
    survives(lambda: which.verify(body, headers))


@EXAMPLES
@given(
    replace=st.dictionaries(HEADER_NAMES, HOSTILE_VALUE, max_size=3),
    drop=st.sets(st.sampled_from(sorted(VALID_HMAC)), max_size=2),
    position=st.integers(min_value=0, max_value=len(BODY) - 1),
    flip=st.integers(min_value=0, max_value=255),
    which=st.sampled_from([HMAC, HMAC_LAZY, BOTH]),
)
def test_mutated_valid_hmac_requests(
    replace: dict[str, Any], drop: set[str], position: int, flip: int, which: Verifier
) -> None:
    headers: dict[str, Any] = {**VALID_HMAC, **VALID_JWT}
    for name in drop:
        headers.pop(name, None)
    headers.update(replace)
    body = BODY[:position] + bytes([BODY[position] ^ flip]) + BODY[position + 1 :]
    survives(lambda: read_everything(which.verify(body, headers)))


def _deep(depth: int, opener: str) -> bytes:
    closer = "]" if opener == "[" else "}"
    if opener == "{":
        return ('{"a":' * depth + "1" + closer * depth).encode()
    return (opener * depth + closer * depth).encode()


HOSTILE_BODIES = st.one_of(
    st.binary(max_size=2000),
    st.binary(max_size=200).map(lambda raw: b"\xff\xfe" + raw),
    JSON_VALUES.map(lambda value: json.dumps(value).encode()),
    st.builds(_deep, st.integers(min_value=1, max_value=200_000), st.sampled_from(["[", "{"])),
    st.integers(min_value=4000, max_value=6000).map(lambda digits: b"1" * digits),
    st.sampled_from([b"NaN", b"[Infinity]", b'{"version": 1e999}', b"\xc3\x28", b"\xed\xa0\x80"]),
)


@st.composite
def hostile_tasks(draw: st.DrawFn) -> bytes:
    """A v1 envelope around a fixture Task with elements replaced, removed or added."""
    task = copy.deepcopy(TASK)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        element = draw(st.sampled_from(TASK_ELEMENTS))
        if draw(st.booleans()):
            task[element] = draw(JSON_VALUES)
        else:
            task.pop(element, None)
    document: Any = envelope("TASK_CREATED", task, SOURCE, NOW)
    if draw(st.integers(min_value=0, max_value=5)) == 0:
        document[draw(st.sampled_from(sorted(document)))] = draw(JSON_VALUES)
    return serialize(document).encode()


@EXAMPLES
@given(body=st.one_of(HOSTILE_BODIES, hostile_tasks()), lazy=st.booleans())
def test_valid_signatures_over_hostile_bodies(body: bytes, lazy: bool) -> None:
    headers = hmac_headers(SECRET, body, "msg_hostile")
    which = HMAC_LAZY if lazy else HMAC
    survives(lambda: read_everything(which.verify(body, headers)))


@settings(
    max_examples=3000,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    cut=st.integers(min_value=0, max_value=len(TOKEN)),
    position=st.integers(min_value=0, max_value=len(TOKEN) - 1),
    replacement=st.sampled_from(list("AZaz09-_.=+/ \u00e9")),
    segment=st.sampled_from([None, 0, 1, 2]),
    junk=JSON_VALUES,
    mode=st.sampled_from(["truncate", "substitute", "replace-segment", "swap", "extend"]),
)
def test_mutated_jwts(
    cut: int, position: int, replacement: str, segment: int | None, junk: Any, mode: str
) -> None:
    import base64

    token = TOKEN
    parts = token.split(".")
    if mode == "truncate":
        token = token[:cut]
    elif mode == "substitute":
        token = token[:position] + replacement + token[position + 1 :]
    elif mode == "replace-segment" and segment is not None:
        raw = base64.urlsafe_b64encode(json.dumps(junk).encode()).rstrip(b"=").decode()
        parts[segment] = raw
        token = ".".join(parts)
    elif mode == "swap":
        token = ".".join([parts[1], parts[0], parts[2]])
    else:
        token = token + "." + replacement
    headers = {**VALID_JWT, "authorization": "Bearer " + token}
    survives(lambda: read_everything(JWT.verify(BODY, headers)))
