"""Envelope v1 and webhook-id: deterministic, ASCII-only, the Task passed through whole."""

from __future__ import annotations

import hashlib
import json

import pytest

from devtools.fixtures import fixture_tasks
from enriched_webhook.shared.payload import envelope, occurred_at, serialize, utc_iso, webhook_id


def test_webhook_id_is_msg_plus_32_hex_of_sha256_of_event_task_and_time() -> None:
    expected = "msg_" + hashlib.sha256(b"TASK_CREATED:abc:2023-10-22T21:06:27Z").hexdigest()[:32]
    assert webhook_id("TASK_CREATED", "abc", "2023-10-22T21:06:27Z") == expected
    assert webhook_id("TASK_UPDATED", "abc", "2023-10-22T21:06:27Z") != expected


def test_occurred_at_prefers_last_modified_then_authored_on() -> None:
    assert occurred_at({"lastModified": "b", "authoredOn": "a"}) == "b"
    assert occurred_at({"authoredOn": "a"}) == "a"
    assert occurred_at({}) == ""


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("2023-10-22T21:06:27.893521+00:00", "2023-10-22T21:06:27Z"),
        ("2026-11-29T07:21:30.125000+01:00", "2026-11-29T06:21:30Z"),
        ("2023-09-22T14:00:00Z", "2023-09-22T14:00:00Z"),
        ("2023-09-22", "2023-09-22"),  # no time zone: passed on, not guessed
        ("", "1970-01-01T00:00:10Z"),  # no time at all: the handling time
        ("2023", "2023"),  # a FHIR dateTime Python cannot read: as written
        ("20261129", "1970-01-01T00:00:10Z"),  # not a FHIR dateTime: the handling time
        ("2026-11-29 07:20", "1970-01-01T00:00:10Z"),
        ("garbage", "1970-01-01T00:00:10Z"),
    ],
)
def test_timestamp_is_utc_iso_8601(when: str, expected: str) -> None:
    assert utc_iso(when, 10.9) == expected


@pytest.mark.parametrize("fixture", fixture_tasks(), ids=lambda f: f.name)
def test_body_is_ascii_and_carries_the_task_unchanged(fixture) -> None:  # type: ignore[no-untyped-def]
    body = serialize(envelope("TASK_CREATED", fixture.task, "https://local.canvasmedical.com", 0))
    body.encode("ascii")  # raises if anything is not ASCII
    document = json.loads(body)
    assert document["data"] == fixture.task
    assert document["version"] == 1 and document["type"] == "task.created"
    assert document["source"] == "https://local.canvasmedical.com"
    # The same occurrence yields the same body, whatever the clock says.
    again = serialize(
        envelope("TASK_CREATED", fixture.task, "https://local.canvasmedical.com", 99999)
    )
    assert (again == body) == bool(occurred_at(fixture.task))


def test_non_ascii_text_survives_as_escapes() -> None:
    fixture = next(f for f in fixture_tasks() if f.name == "local/task_non_ascii.json")
    body = serialize(envelope("TASK_CREATED", fixture.task, "https://x", 0))
    assert "\\u00fc" in body and "\\ud83d\\ude91" in body  # ü and the ambulance emoji
    assert json.loads(body)["data"]["description"] == fixture.task["description"]


@pytest.mark.parametrize(
    "when", ["20261129", "2026-11-29 07:20", "2026-11-29T07", "garbage", "2023"]
)
def test_the_receiver_accepts_every_timestamp_the_plugin_writes(when: str) -> None:
    from enriched_webhook.receiver.envelope import check_envelope, decode_body

    fixture = fixture_tasks()[1]
    task = dict(fixture.task, lastModified=when)
    body = serialize(envelope("TASK_CREATED", task, "https://x", 10)).encode()
    document = check_envelope(decode_body(body))
    assert document["data"]["lastModified"] == when
