"""docs/wire-format.md's FHIR notification example, recomputed with the plugin's own code.

Receivers in other languages copy the documented Bundle to test their parsers, so each
labelled block (`<!-- fhir-example: NAME -->` before a fenced block) is rebuilt through
`plugin.body.build_body`, validated with fhir.resources R4B and accepted by the receiver
library at the example's own time.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.patient import Patient

from enriched_webhook.plugin.body import build_body
from enriched_webhook.plugin.config import load_settings
from enriched_webhook.plugin.signer import sign_request
from enriched_webhook.shared.notification import Included, IncludedResource, IncludeGap
from enriched_webhook.shared.payload import occurred_at, serialize, webhook_id
from enriched_webhook.verify import Verifier

DOC = Path(__file__).resolve().parents[2] / "docs" / "wire-format.md"
EXAMPLE = re.compile(r"<!-- fhir-example: ([a-z0-9-]+) -->\n```[a-z]*\n(.*?)\n```\n", re.DOTALL)
EXPECTED = {"task", "patient", "parameters", "bundle", "bundle-sha256"}
SECRET = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="  # the document's example


@pytest.fixture(scope="module")
def blocks() -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8")
    found = dict(EXAMPLE.findall(text))
    assert set(found) == EXPECTED
    assert len(re.findall(r"<!-- fhir-example: [a-z0-9-]+ -->", text)) == len(EXPECTED)
    return found


def rebuilt(blocks: dict[str, str]) -> tuple[str, dict[str, Any], Any]:
    """The body the plugin builds for the documented inputs, its settings' inputs, settings."""
    params: dict[str, Any] = json.loads(blocks["parameters"])
    task = json.loads(blocks["task"])
    patient = json.loads(blocks["patient"])
    variables = {
        name: params[name] for name in ("WEBHOOK_URL", "FHIR_BASE_URL", "PAYLOAD_FORMAT", "INCLUDE")
    }
    settings = load_settings(
        {**variables, "WEBHOOK_SECRET": SECRET, "FHIR_CLIENT_ID": "u", "FHIR_CLIENT_SECRET": "u"},
        {"CUSTOMER_IDENTIFIER": params["instance"]},
    )
    included = Included(
        (IncludedResource("Task:patient", task["for"]["reference"], patient),),
        (IncludeGap("Task:owner", task["owner"]["reference"], "http-404", 404),),
    )
    built = build_body(
        settings, params["event"], task, included, params["event_number"], params["built_at"]
    )
    assert built.content_type == "application/fhir+json"
    return built.body, params, settings


def test_the_documented_bundle_is_what_the_plugin_builds(blocks: dict[str, str]) -> None:
    body, _params, _settings = rebuilt(blocks)
    documented = json.loads(blocks["bundle"])
    assert documented == json.loads(body)
    # The compact serialization of the documented Bundle is the body, byte for byte.
    assert serialize(documented) == body
    assert hashlib.sha256(body.encode("ascii")).hexdigest() == blocks["bundle-sha256"]
    Bundle.model_validate(documented)
    Patient.model_validate(documented["entry"][2]["resource"])


def test_the_receiver_library_accepts_the_documented_request(blocks: dict[str, str]) -> None:
    body, params, settings = rebuilt(blocks)
    task = json.loads(blocks["task"])
    msg_id = webhook_id(params["event"], task["id"], occurred_at(task))
    headers = sign_request(
        settings, msg_id, params["built_at"], body, task["id"], "application/fhir+json"
    )
    event = Verifier(secrets=[SECRET], now=params["built_at"]).verify(body.encode(), headers)
    assert event.event_number == params["event_number"]
    assert event.topic == "urn:enriched-webhook:topic:task.created"
    assert event.task.id == task["id"]
    assert [type(model).__name__ for model in event.included] == ["Patient"]
    assert event.not_included == [{"reference": "Practitioner/example-dr", "reason": "http-404"}]
