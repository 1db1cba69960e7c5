"""The shared signature scheme against the published Standard Webhooks vectors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from enriched_webhook.shared.signature import (
    SecretFormatError,
    body_sha256,
    decode_secret,
    jwt_claims,
    signature_header,
    signed_content,
)
from tests.support import signature_matches


def vectors(vectors_dir: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((vectors_dir / "standard_webhooks.json").read_text())
    return loaded


def test_signing_reproduces_every_published_vector(vectors_dir: Path) -> None:
    cases = vectors(vectors_dir)["sign"]
    assert len(cases) == 2
    for case in cases:
        header = signature_header(
            [decode_secret(case["secret"])],
            case["msg_id"],
            case["timestamp"],
            case["payload"].encode(),
        )
        assert header == case["signature"]


def test_published_bad_signatures_do_not_match(vectors_dir: Path) -> None:
    for case in vectors(vectors_dir)["must_not_verify"]:
        content = signed_content(case["msg_id"], case["timestamp"], case["payload"].encode())
        assert not signature_matches(case["signature"], [decode_secret(case["secret"])], content)


def test_multi_signature_header_matches_on_its_one_valid_v1_entry(vectors_dir: Path) -> None:
    case = vectors(vectors_dir)["multi_signature_header"]
    content = signed_content(case["msg_id"], case["timestamp"], case["payload"].encode())
    key = decode_secret(case["secret"])
    assert signature_matches(case["header"], [key], content)
    # The same header without its valid entry must not match.
    valid = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert not signature_matches(case["header"].replace(valid, ""), [key], content)


def test_unpadded_secrets_are_accepted_and_empty_ones_refused(vectors_dir: Path) -> None:
    data = vectors(vectors_dir)
    for secret in data["unpadded_secrets_accepted"]:
        assert decode_secret(secret)
        assert decode_secret("whsec_" + secret) == decode_secret(secret)
    for secret in data["empty_secrets_rejected"]:
        with pytest.raises(SecretFormatError):
            decode_secret(secret)


@pytest.mark.parametrize("bad", ["whsec_!!!!", "whsec_abcde", "not base64 at all"])
def test_malformed_secrets_are_refused_without_echoing_them(bad: str) -> None:
    with pytest.raises(SecretFormatError) as caught:
        decode_secret(bad)
    assert bad not in str(caught.value)


def test_rotation_signs_once_per_key_and_each_key_verifies_alone() -> None:
    keys = [b"k" * 32, b"j" * 32]
    header = signature_header(keys, "msg_1", 1700000000, b"{}")
    assert len(header.split(" ")) == 2
    content = signed_content("msg_1", 1700000000, b"{}")
    assert signature_matches(header, [keys[0]], content)
    assert signature_matches(header, [keys[1]], content)
    assert not signature_matches(header, [b"x" * 32], content)


def test_jwt_claims_bind_the_token_to_id_time_and_exact_body() -> None:
    body = b'{"a":1}'
    claims = jwt_claims(
        issuer="https://i",
        audience="https://a",
        task_id="t1",
        msg_id="msg_x",
        timestamp=100,
        body=body,
    )
    assert claims == {
        "iss": "https://i",
        "aud": "https://a",
        "sub": "Task/t1",
        "iat": 100,
        "exp": 400,
        "jti": "msg_x",
        "request_body_sha256": body_sha256(body),
    }
    assert body_sha256(body) != body_sha256(body + b" ")
