"""The connection gate reads Content-Length by the same rule as the request thread
(headers.declared_length): a gate that refused what the thread accepts handed a request
over before its body and held a request thread waiting for it."""

from __future__ import annotations

import pytest

from enriched_webhook.receiver.connection_gate import body_size


def head(length: bytes) -> bytes:
    return b"POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: " + length + b"\r\n\r\n"


@pytest.mark.parametrize(
    ("length", "size"),
    [
        (b"5", 5),
        (b"0000000000000000005", 5),  # leading zeros: still 5 bytes to wait for
        (b"0", 0),
        (b"1024", 1024),
        (b"1025", None),  # over the limit: handed over at once, the thread answers 413
        (b"9" * 4301, None),  # never int() of thousands of digits
        (b"-5", None),
        (b"\xc2\xb2", None),  # a superscript two is no ASCII digit
    ],
)
def test_the_gate_waits_for_exactly_the_declared_body(length: bytes, size: int | None) -> None:
    assert body_size(head(length), max_body_bytes=1024) == size
