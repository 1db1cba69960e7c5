"""HMAC mode: interop with standardwebhooks and svix both ways, vectors, and the basics."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import standardwebhooks
import svix.webhooks
from fhir.resources.R4B.task import Task

from devtools.fixtures import fixture_tasks
from enriched_webhook.receiver.hmac_check import keyed_states
from enriched_webhook.shared.signature import (
    decode_secret,
    keyed_hmacs,
    signature_header,
    signed_content,
)
from enriched_webhook.verify import (
    AlreadyHandledError,
    FutureTimestampError,
    InvalidPayloadError,
    InvalidSignatureError,
    InvalidTaskError,
    MalformedHeaderError,
    MissingHeaderError,
    StaleTimestampError,
    VerifiedEvent,
    Verifier,
    VerifierConfigError,
    WebhookVerificationError,
)
from tests.support import signature_matches

from .helpers import NOW, body_for, fixture, hmac_headers, msg_id_for, new_whsec


def verifier(secret: str | list[str], **options: Any) -> Verifier:
    options.setdefault("now", NOW)
    return Verifier(secrets=secret, **options)


@pytest.mark.parametrize("task", fixture_tasks(), ids=lambda task: task.name)
def test_every_fixture_task_verifies_and_validates(task: Any, secret: str) -> None:
    body = body_for(task.task)
    msg_id = msg_id_for(task.task)
    event = verifier(secret).verify(body, hmac_headers(secret, body, msg_id))
    assert isinstance(event, VerifiedEvent)
    assert event.id == msg_id
    assert event.timestamp == NOW
    assert event.type == "task.created"
    assert event.payload["data"] == task.task
    assert isinstance(event.task, Task)
    assert event.task.id == task.task_id == event.task_id
    assert event.source.startswith("https://")


def test_event_types_come_from_the_envelope(secret: str) -> None:
    task = fixture().task
    for name, kind in (("TASK_UPDATED", "task.updated"), ("TASK_CLOSED", "task.closed")):
        body = body_for(task, name)
        event = verifier(secret).verify(body, hmac_headers(secret, body, msg_id_for(task, name)))
        assert event.type == kind


def test_signed_by_standardwebhooks_verifies_with_ours(secret: str) -> None:
    body = body_for(fixture().task)
    signer = standardwebhooks.Webhook(secret)
    moment = datetime.fromtimestamp(NOW, tz=UTC)
    headers = {
        "webhook-id": "msg_std",
        "webhook-timestamp": str(NOW),
        "webhook-signature": signer.sign("msg_std", moment, body.decode()),
    }
    assert verifier(secret).verify(body, headers).id == "msg_std"


def test_signed_by_svix_verifies_with_ours_under_svix_header_names(secret: str) -> None:
    body = body_for(fixture().task)
    signer = svix.webhooks.Webhook(secret)
    moment = datetime.fromtimestamp(NOW, tz=UTC)
    signature = signer.sign("msg_svix", moment, body.decode())
    for prefix in ("webhook-", "svix-", "Svix-"):
        headers = {
            prefix + "id": "msg_svix",
            prefix + "timestamp": str(NOW),
            prefix + "signature": signature,
        }
        assert verifier(secret).verify(body, headers).id == "msg_svix"


def test_signed_by_ours_verifies_under_both_libraries(secret: str) -> None:
    import time

    body = body_for(fixture().task)
    now = int(time.time())  # the libraries use the real clock
    headers = hmac_headers(secret, body, "msg_ours", now)
    assert standardwebhooks.Webhook(secret).verify(body, headers) == json.loads(body)
    svix.webhooks.Webhook(secret).verify(body, headers)  # raises on failure


def test_rotation_several_secrets_on_both_sides() -> None:
    old, new, other = new_whsec(), new_whsec(), new_whsec()
    body = body_for(fixture().task)
    signed_by_old = hmac_headers(old, body)
    signed_by_both = hmac_headers(old + " " + new, body)
    assert verifier([new, old]).verify(body, signed_by_old)
    assert verifier(new).verify(body, signed_by_both)
    assert verifier(old + " " + new).verify(body, signed_by_old)
    with pytest.raises(InvalidSignatureError):
        verifier(other).verify(body, signed_by_both)


def test_standard_webhooks_vectors(vectors: dict[str, Any]) -> None:
    data = vectors["standard_webhooks"]
    for case in data["sign"]:
        key = decode_secret(case["secret"])
        payload = case["payload"].encode()
        assert (
            signature_header([key], case["msg_id"], case["timestamp"], payload) == case["signature"]
        )
        headers = {
            "webhook-id": case["msg_id"],
            "webhook-timestamp": str(case["timestamp"]),
            "webhook-signature": case["signature"],
        }
        check = Verifier(case["secret"], now=case["timestamp"], validate_task=False)
        assert check.verify(payload, headers).id == case["msg_id"]
    for case in data["must_not_verify"]:
        headers = {
            "webhook-id": case["msg_id"],
            "webhook-timestamp": str(case["timestamp"]),
            "webhook-signature": case["signature"],
        }
        check = Verifier(case["secret"], now=case["timestamp"], validate_task=False)
        with pytest.raises(InvalidSignatureError):
            check.verify(case["payload"].encode(), headers)
    multi = data["multi_signature_header"]
    check = Verifier(multi["secret"], now=multi["timestamp"], validate_task=False)
    headers = {
        "webhook-id": multi["msg_id"],
        "webhook-timestamp": str(multi["timestamp"]),
        "webhook-signature": multi["header"],
    }
    assert check.verify(multi["payload"].encode(), headers)
    first = decode_secret(data["unpadded_secrets_accepted"][0])
    for unpadded in data["unpadded_secrets_accepted"]:
        assert Verifier(unpadded, validate_task=False)
        assert decode_secret(unpadded)[:20] == first[:20]
    for empty in data["empty_secrets_rejected"]:
        with pytest.raises(VerifierConfigError):
            Verifier(empty)


def test_fast_keyed_states_compute_the_shared_scheme(secret: str) -> None:
    keys = decode_secret(secret)
    content = signed_content("msg_x", NOW, b"body bytes")
    fast, reference = keyed_states([keys])[0].copy(), keyed_hmacs([keys])[0].copy()
    fast.update(content)
    reference.update(content)
    assert fast.digest() == reference.digest()
    header = signature_header([keys], "msg_x", NOW, b"body bytes")
    assert signature_matches(header, [keys], content)
    assert not signature_matches(header, [keys], content + b" ")


def test_header_names_are_case_insensitive_and_mappings_vary(secret: str) -> None:
    from email.message import Message

    body = body_for(fixture().task)
    headers = hmac_headers(secret, body)
    title = {name.title(): value for name, value in headers.items()}
    upper = {name.upper(): value for name, value in headers.items()}
    raw = {name.encode(): value.encode() for name, value in headers.items()}
    message = Message()
    for name, value in title.items():
        message[name] = value
    for variant in (headers, title, upper, raw, message):
        assert verifier(secret).verify(body, variant).id == "msg_test"
    assert verifier(secret).verify(bytearray(body), headers)
    assert verifier(secret).verify(memoryview(body), headers)
    assert verifier(secret).verify(body.decode(), headers)


def test_tolerance_both_directions(secret: str) -> None:
    body = body_for(fixture().task)
    check = verifier(secret, tolerance=300)
    assert check.verify(body, hmac_headers(secret, body, timestamp=NOW - 300))
    assert check.verify(body, hmac_headers(secret, body, timestamp=NOW + 300))
    with pytest.raises(StaleTimestampError):
        check.verify(body, hmac_headers(secret, body, timestamp=NOW - 301))
    with pytest.raises(FutureTimestampError):
        check.verify(body, hmac_headers(secret, body, timestamp=NOW + 301))
    assert verifier(secret, tolerance=3600).verify(
        body, hmac_headers(secret, body, timestamp=NOW - 3000)
    )


def test_timestamp_is_checked_before_the_signature(secret: str) -> None:
    body = body_for(fixture().task)
    headers = hmac_headers(secret, body, timestamp=NOW - 10_000)
    headers["webhook-signature"] = "v1,AAAA"
    with pytest.raises(StaleTimestampError):
        verifier(secret).verify(body, headers)


def test_nothing_is_parsed_before_the_signature(secret: str) -> None:
    """An invalid body with a bad signature is a signature error, never a payload error."""
    for body in (b"not json", b"\xff\xfe", b"[1]", body_for({"resourceType": "Task"})):
        headers = hmac_headers(new_whsec(), body)
        with pytest.raises(InvalidSignatureError):
            verifier(secret).verify(body, headers)
        with pytest.raises(InvalidPayloadError):
            verifier(secret).verify(body, hmac_headers(secret, body))


def test_flipped_body_byte_fails(secret: str) -> None:
    body = body_for(fixture().task)
    headers = hmac_headers(secret, body)
    for index in (0, len(body) // 2, len(body) - 1):
        flipped = body[:index] + bytes([body[index] ^ 0x01]) + body[index + 1 :]
        with pytest.raises(InvalidSignatureError):
            verifier(secret).verify(flipped, headers)


def test_missing_and_malformed_headers(secret: str) -> None:
    body = body_for(fixture().task)
    good = hmac_headers(secret, body)
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        headers = {key: value for key, value in good.items() if key != name}
        with pytest.raises(MissingHeaderError) as caught:
            verifier(secret).verify(body, headers)
        assert caught.value.header == name
    for name, value in (
        ("webhook-timestamp", "12.5"),
        ("webhook-timestamp", "-5"),
        ("webhook-timestamp", "١٢٣"),
        ("webhook-id", "msg\nforged"),
        ("webhook-id", ""),
        ("webhook-signature", "no-comma-here"),
    ):
        with pytest.raises(MalformedHeaderError):
            verifier(secret).verify(body, {**good, name: value})
    with pytest.raises(InvalidSignatureError):
        verifier(secret).verify(body, {**good, "webhook-signature": "v2,abc v1,@@@"})


def test_validate_task_false_defers_parsing(secret: str) -> None:
    body = b'{"version": 1, "type": "task.created", "data": "not a task"}'
    headers = hmac_headers(secret, body)
    event = verifier(secret, validate_task=False).verify(body, headers)
    assert event.id == "msg_test"
    with pytest.raises(InvalidPayloadError):
        _ = event.payload
    with pytest.raises(InvalidPayloadError):
        verifier(secret).verify(body, headers)


def test_invalid_tasks_are_refused_without_echoing_content(secret: str) -> None:
    task = dict(fixture().task)
    secret_text = "Patient John Q Sample has condition X"
    cases = [
        {**task, "status": "bogus", "description": secret_text},
        {**task, "intent": secret_text},
        {**task, "authoredOn": secret_text, "description": secret_text},
        {**task, "note": [{"text": 12345, "authorString": secret_text}]},
        {**task, "unknownElement": secret_text},
    ]
    for case in cases:
        body = body_for(case)
        with pytest.raises(InvalidTaskError) as caught:
            verifier(secret).verify(body, hmac_headers(secret, body))
        assert secret_text not in str(caught.value)
        assert "John" not in repr(caught.value)


def test_envelope_is_checked(secret: str) -> None:
    task = fixture().task
    base = json.loads(body_for(task))
    cases = [
        {**base, "version": 2},
        {**base, "version": True},
        {**base, "type": "task.deleted"},
        {**base, "timestamp": "yesterday"},
        {**base, "source": ""},
        {key: value for key, value in base.items() if key != "data"},
        [base],
        "text",
    ]
    for case in cases:
        body = json.dumps(case).encode()
        with pytest.raises(InvalidPayloadError):
            verifier(secret).verify(body, hmac_headers(secret, body))
    nan_body = body_for(task).replace(b'"version":1', b'"version":NaN')
    with pytest.raises(InvalidPayloadError):
        verifier(secret).verify(nan_body, hmac_headers(secret, nan_body))


def test_verify_refuses_handled_ids_but_records_nothing(secret: str) -> None:
    body = body_for(fixture().task)
    headers = hmac_headers(secret, body)
    check = verifier(secret)
    check.verify(body, headers)
    check.verify(body, headers)  # verify alone records nothing
    with check.process(body, headers):
        pass
    with pytest.raises(AlreadyHandledError):
        check.verify(body, headers)


def test_configuration_errors_are_not_verification_errors() -> None:
    for options in (
        {},
        {"secrets": "whsec_"},
        {"secrets": "whsec_!!!!"},
        {"secrets": [12]},
        {"secrets": new_whsec(), "tolerance": 0},
        {"jwks": {"keys": []}, "audience": "x"},
        {"hs256_secret": "short", "audience": "x"},
        {"hs256_secret": "x" * 40},
    ):
        with pytest.raises(VerifierConfigError) as caught:
            Verifier(**options)
        assert not isinstance(caught.value, WebhookVerificationError)
        assert "!!!!" not in str(caught.value)


def test_family_is_not_value_error() -> None:
    assert not issubclass(WebhookVerificationError, ValueError)
    assert issubclass(WebhookVerificationError, Exception)


def test_repr_does_not_leak_payload(secret: str) -> None:
    body = body_for(fixture().task)
    event = verifier(secret).verify(body, hmac_headers(secret, body))
    assert "description" not in repr(event)
    assert repr(event).startswith("VerifiedEvent(id='msg_test'")


class _ExplodingHeaders:
    def get(self, name: str) -> str:
        raise RuntimeError("broken mapping")

    def items(self) -> list[tuple[str, str]]:
        raise RuntimeError("broken mapping")


def test_wrong_types_raise_the_family(secret: str) -> None:
    body = body_for(fixture().task)
    good = hmac_headers(secret, body)
    check = verifier(secret)
    for headers in (None, 12, "webhook-id: x", [("webhook-id", "x")], _ExplodingHeaders()):
        with pytest.raises(WebhookVerificationError):
            check.verify(body, headers)
    for bad_body in (None, 12, ["x"], {"a": 1}, "\ud800"):
        with pytest.raises(WebhookVerificationError):
            check.verify(bad_body, good)  # type: ignore[arg-type]
    for value in (None, 12, 1.5, b"\xff", ["v1,x"], "x" * 100_000):
        with pytest.raises(WebhookVerificationError):
            check.verify(body, {**good, "webhook-signature": value})
    with pytest.raises(WebhookVerificationError):
        check.verify(body, {**good, 7: "x", "webhook-id": None})


def test_impossible_envelope_timestamps_are_refused(secret: str) -> None:
    base = json.loads(body_for(fixture().task))
    for when in ("9999-99-99T99:99:99Z", "2023-02-29", "2024-01-01T24:00:00Z", "2024-13"):
        body = json.dumps({**base, "timestamp": when}).encode()
        with pytest.raises(InvalidPayloadError, match="timestamp"):
            verifier(secret).verify(body, hmac_headers(secret, body))
    body = json.dumps({**base, "timestamp": "2024-02-29T23:59:60Z"}).encode()
    assert verifier(secret).verify(body, hmac_headers(secret, body)).occurred_at.startswith("2024")
