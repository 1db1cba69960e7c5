"""docs/wire-format.md's worked examples, recomputed with the project's own code.

Receivers in other languages copy these values to test their implementations, so a value
that drifted from what the plugin sends would mislead every one of them. Each labelled
block (`<!-- example: NAME -->` before a fenced block) is recomputed through the very
functions the plugin signs with (`shared.payload`, `shared.signature`, `plugin.signer`)
and accepted by the receiver library at the example's own time; the ES256 token, which
cannot be recomputed (ECDSA is randomized), is verified against the published JWKS.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from enriched_webhook.plugin.config import load_settings
from enriched_webhook.plugin.delivery_settings import (
    DEFAULT_FIRST_ATTEMPT_TIMEOUTS,
    DEFAULT_RETRY_SCHEDULE,
    DEFAULT_RETRY_TIMEOUTS,
)
from enriched_webhook.plugin.outbox.retry_policy import PERMANENT_STATUSES
from enriched_webhook.plugin.signer import sign_request
from enriched_webhook.receiver import errors
from enriched_webhook.receiver.capture import parse_capture
from enriched_webhook.shared.payload import (
    EVENT_TYPES,
    envelope,
    occurred_at,
    serialize,
    webhook_id,
)
from enriched_webhook.shared.signature import (
    body_sha256,
    decode_secret,
    jwt_claims,
    signed_content,
)
from enriched_webhook.verify import Verifier

DOC = Path(__file__).resolve().parents[2] / "docs" / "wire-format.md"
EXAMPLE = re.compile(r"<!-- example: ([a-z0-9-]+) -->\n```[a-z]*\n(.*?)\n```\n", re.DOTALL)
EXPECTED_BLOCKS = {
    "task",
    "parameters",
    "webhook-id-input",
    "webhook-id-sha256",
    "webhook-id",
    "body",
    "body-sha256",
    "hmac-secret",
    "hmac-key-hex",
    "hmac-signed-content",
    "hmac-request",
    "hmac-capture",
    "hs256-secret",
    "jwt-claims",
    "hs256-header-segment",
    "jwt-payload-segment",
    "hs256-request",
    "es256-jwks",
    "es256-header-segment",
    "es256-request",
    "retry-schedule",
}
# The plugin insists on these; the example never reads Canvas's FHIR API.
FHIR_CREDENTIALS = {"FHIR_CLIENT_ID": "unused", "FHIR_CLIENT_SECRET": "unused"}


def doc_blocks() -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8")
    found = EXAMPLE.findall(text)
    names = [name for name, _ in found]
    assert len(names) == len(set(names)), "an example label is used twice"
    labels = re.findall(r"<!-- example: ([a-z0-9-]+) -->", text)
    assert labels == names, "an example label is not right before a fenced block"
    return dict(found)


@pytest.fixture(scope="module")
def blocks() -> dict[str, str]:
    return doc_blocks()


@pytest.fixture(scope="module")
def params(blocks: dict[str, str]) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(blocks["parameters"])
    assert set(loaded) == {"event", "source", "webhook_url", "webhook_timestamp"}
    return loaded


@pytest.fixture(scope="module")
def task(blocks: dict[str, str]) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(blocks["task"])
    return loaded


def plugin_headers(params: dict[str, Any], body: str, variables: dict[str, str]) -> dict[str, str]:
    """The headers the plugin's signer gives this example under `variables`."""
    source = params["source"]
    instance = urlsplit(source).hostname.split(".")[0]
    settings = load_settings(
        {"WEBHOOK_URL": params["webhook_url"], **FHIR_CREDENTIALS, **variables},
        {"CUSTOMER_IDENTIFIER": instance},
    )
    assert settings.source == source
    msg_id = webhook_id(params["event"], "example-1", "2026-11-29T08:20:01+01:00")
    headers = sign_request(settings, msg_id, params["webhook_timestamp"], body, "example-1")
    return {name.lower(): value for name, value in headers.items()}


def request_head(block: str, params: dict[str, Any], body: bytes) -> dict[str, str]:
    """The signing headers of a documented request; its other lines checked here."""
    lines = block.split("\n")
    url = urlsplit(params["webhook_url"])
    assert lines[0] == "POST " + url.path + " HTTP/1.1"
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, separator, value = line.partition(": ")
        assert separator, line
        assert name.lower() not in headers, "header repeated: " + name
        headers[name.lower()] = value
    assert headers.pop("host") == url.netloc
    assert headers.pop("content-length") == str(len(body))
    return headers


def b64url_decode(segment: str) -> bytes:
    raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    # Only the canonical spelling: a changed character in unused low bits must not pass.
    assert base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") == segment
    return raw


def token_of(headers: dict[str, str]) -> str:
    scheme, _, token = headers["authorization"].partition(" ")
    assert scheme == "Bearer"
    return token


def test_every_example_block_is_present(blocks: dict[str, str]) -> None:
    assert set(blocks) == EXPECTED_BLOCKS


def test_webhook_id_is_the_rule_applied_to_the_task(
    blocks: dict[str, str], params: dict[str, Any], task: dict[str, Any]
) -> None:
    assert blocks["webhook-id-input"] == ":".join((params["event"], task["id"], occurred_at(task)))
    digest = hashlib.sha256(blocks["webhook-id-input"].encode("utf-8")).hexdigest()
    assert blocks["webhook-id-sha256"] == digest
    assert blocks["webhook-id"] == webhook_id(params["event"], task["id"], occurred_at(task))
    assert blocks["webhook-id"] == "msg_" + digest[:32]


def test_body_is_the_envelope_the_plugin_serializes(
    blocks: dict[str, str], params: dict[str, Any], task: dict[str, Any]
) -> None:
    document = envelope(params["event"], task, params["source"], params["webhook_timestamp"])
    assert blocks["body"] == serialize(document)
    assert blocks["body-sha256"] == body_sha256(blocks["body"].encode("ascii"))
    assert "358 bytes" in DOC.read_text(encoding="utf-8")
    assert len(blocks["body"].encode("ascii")) == 358


def test_hmac_example_recomputes_and_verifies(
    blocks: dict[str, str], params: dict[str, Any]
) -> None:
    secret = blocks["hmac-secret"]
    body = blocks["body"].encode("ascii")
    timestamp = params["webhook_timestamp"]
    assert decode_secret(secret).hex() == blocks["hmac-key-hex"]
    content = signed_content(blocks["webhook-id"], timestamp, body)
    assert blocks["hmac-signed-content"].encode("ascii") == content
    documented = request_head(blocks["hmac-request"], params, body)
    assert documented == plugin_headers(params, blocks["body"], {"WEBHOOK_SECRET": secret})
    event = Verifier(secrets=[secret], now=timestamp).verify(body, documented)
    assert (event.id, event.task_id) == (blocks["webhook-id"], "example-1")
    assert event.type == "task.created"


def test_hmac_capture_is_the_same_request(blocks: dict[str, str], params: dict[str, Any]) -> None:
    headers, body = parse_capture(json.loads(blocks["hmac-capture"]))
    assert body == blocks["body"].encode("ascii")
    url = urlsplit(params["webhook_url"])
    expected = {"host": url.netloc, "content-length": str(len(body))}
    expected.update(request_head(blocks["hmac-request"], params, body))
    assert headers == expected
    secret = blocks["hmac-secret"]
    assert Verifier(secrets=[secret], now=params["webhook_timestamp"]).verify(body, headers)


def test_hs256_example_recomputes_and_verifies(
    blocks: dict[str, str], params: dict[str, Any]
) -> None:
    body = blocks["body"].encode("ascii")
    timestamp = params["webhook_timestamp"]
    claims = jwt_claims(
        issuer=params["source"],
        audience=params["webhook_url"],
        task_id="example-1",
        msg_id=blocks["webhook-id"],
        timestamp=timestamp,
        body=body,
    )
    assert list(json.loads(blocks["jwt-claims"]).items()) == list(claims.items())
    documented = request_head(blocks["hs256-request"], params, body)
    variables = {
        "SIGNING_MODE": "jwt",
        "JWT_ALGORITHM": "HS256",
        "JWT_PRIVATE_KEY": blocks["hs256-secret"],
    }
    assert documented == plugin_headers(params, blocks["body"], variables)
    header, payload, _ = token_of(documented).split(".")
    assert b64url_decode(header).decode("ascii") == blocks["hs256-header-segment"]
    assert b64url_decode(payload).decode("ascii") == blocks["jwt-payload-segment"]
    assert json.loads(blocks["jwt-payload-segment"]) == claims
    verifier = Verifier(
        hs256_secret=blocks["hs256-secret"], audience=params["webhook_url"], now=timestamp
    )
    assert verifier.verify(body, documented).claims == claims


def test_es256_example_verifies_against_its_jwks(
    blocks: dict[str, str], params: dict[str, Any]
) -> None:
    body = blocks["body"].encode("ascii")
    jwks = json.loads(blocks["es256-jwks"])
    for member in ("x", "y"):
        assert len(b64url_decode(jwks["keys"][0][member])) == 32
    documented = request_head(blocks["es256-request"], params, body)
    hmac_head = request_head(blocks["hmac-request"], params, body)
    del hmac_head["webhook-signature"]
    assert {k: v for k, v in documented.items() if k != "authorization"} == hmac_head
    header, payload, signature = token_of(documented).split(".")
    assert b64url_decode(header).decode("ascii") == blocks["es256-header-segment"]
    assert b64url_decode(payload).decode("ascii") == blocks["jwt-payload-segment"]
    assert len(b64url_decode(signature)) == 64
    verifier = Verifier(
        jwks=jwks,
        audience=params["webhook_url"],
        issuer=params["source"],
        now=params["webhook_timestamp"],
    )
    event = verifier.verify(body, documented)
    assert event.claims == json.loads(blocks["jwt-claims"])


def test_es256_token_is_refused_for_any_other_body(
    blocks: dict[str, str], params: dict[str, Any]
) -> None:
    """The verification above means something: the same token fails one byte away."""
    body = blocks["body"].encode("ascii").replace(b"call back", b"call_back")
    verifier = Verifier(
        jwks=json.loads(blocks["es256-jwks"]),
        audience=params["webhook_url"],
        now=params["webhook_timestamp"],
    )
    documented = request_head(blocks["es256-request"], params, blocks["body"].encode("ascii"))
    with pytest.raises(errors.InvalidTokenError):
        verifier.verify(body, documented)


def section(title: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("\n## " + title + "\n")
    end = text.find("\n## ", start + 1)
    return text[start:end]


def test_event_types_section_lists_every_type_the_code_knows() -> None:
    listed = section("Event types")
    for event_name, event_type in EVENT_TYPES.items():
        assert "| `" + event_type + "` | `" + event_name + "` |" in listed


def test_refusal_table_states_each_errors_http_status() -> None:
    """Every error a receiver can raise is in the table, with the status it carries."""
    table = section("What a receiver must refuse")
    documented: dict[str, int] = {}
    for row in table.splitlines():
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        if len(cells) != 3 or not cells[2].isdigit():
            continue
        for name in re.findall(r"`(\w+Error)`", cells[1]):
            documented[name] = int(cells[2])
    family = {
        name: getattr(errors, name)
        for name in errors.__all__
        if isinstance(getattr(errors, name), type)
        and issubclass(getattr(errors, name), errors.WebhookVerificationError)
    }
    for name, status in documented.items():
        assert family[name].http_status == status, name
    leaves = {
        name
        for name, kind in family.items()
        if not any(other is not kind and issubclass(other, kind) for other in family.values())
    }
    assert leaves <= set(documented), sorted(leaves - set(documented))


def test_openssl_recipes_state_the_examples_signatures(
    blocks: dict[str, str], params: dict[str, Any]
) -> None:
    """The shell recipes name the example's key and print its signatures."""
    text = DOC.read_text(encoding="utf-8")
    recipes = re.findall(r"```sh\n(.*?)\n```", text, re.DOTALL)
    assert len(recipes) == 2
    hmac_recipe, hs256_recipe = recipes
    body = blocks["body"].encode("ascii")
    hmac_head = request_head(blocks["hmac-request"], params, body)
    assert "hexkey:" + blocks["hmac-key-hex"] + " " in hmac_recipe
    assert hmac_recipe.endswith("\n# " + hmac_head["webhook-signature"].removeprefix("v1,"))
    token = token_of(request_head(blocks["hs256-request"], params, body))
    assert "-hmac '" + blocks["hs256-secret"] + "' " in hs256_recipe
    assert hs256_recipe.endswith("\n# " + token.rsplit(".", 1)[1])


def test_delivery_section_states_the_outboxs_defaults(blocks: dict[str, str]) -> None:
    """Receivers size their timeouts and dedup memory from these numbers."""
    assert blocks["retry-schedule"] == ",".join(str(delay) for delay in DEFAULT_RETRY_SCHEDULE)
    schedule = DEFAULT_RETRY_SCHEDULE
    text = " ".join(section("Delivery, retries and deduplication").split())
    assert f"{len(schedule) + 1} attempts over about" in text
    assert f"({sum(schedule) / 3600:.1f} h)" in text
    first_connect, first_read = DEFAULT_FIRST_ATTEMPT_TIMEOUTS
    retry_connect, retry_read = DEFAULT_RETRY_TIMEOUTS
    assert f"at most {first_connect:g} s to connect and {first_read:g} s for the answer" in text
    assert f"{retry_connect:g} s and {retry_read:g} s on a retry" in text


def test_status_table_ends_exactly_the_senders_permanent_statuses() -> None:
    table = section("Status codes: what the receiver answers, what the sender does")
    permanent: set[int] = set()
    retried: set[int] = set()
    for row in table.splitlines():
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        if len(cells) != 3:
            continue
        codes = {int(code) for code in re.findall(r"\*\*(\d{3})\*\*", cells[0])}
        if "failed at once" in cells[2]:
            permanent |= codes
        elif "retries" in cells[2]:
            retried |= codes
    assert permanent == PERMANENT_STATUSES
    assert {408, 409, 425, 429, 500, 503} <= retried
    assert not retried & PERMANENT_STATUSES
