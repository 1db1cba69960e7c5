"""Hostile notification Bundles: any change to a valid one is accepted or refused with a
WebhookVerificationError, never another exception (a receiver's 500), and a refusal never
quotes the body. Hypothesis replaces one node anywhere in the Bundle with arbitrary JSON."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from enriched_webhook.plugin.body import build_body
from enriched_webhook.receiver.errors import WebhookVerificationError
from enriched_webhook.receiver.notification import parse_body, validate_resource
from enriched_webhook.shared.notification import Included, IncludedResource, IncludeGap
from tests.notification.support import FHIR_BASE, served, settings_for, task_named

CANVAS = task_named("canvas/task_read_response_200.json")
PATIENT = "Patient/cfd91cd3bd9046db81199aa8ee4afd7f"
VALID: dict[str, Any] = json.loads(
    build_body(
        settings_for(PAYLOAD_FORMAT="fhir-notification", FHIR_BASE_URL=FHIR_BASE),
        "TASK_UPDATED",
        CANVAS.task,
        Included(
            (IncludedResource("Task:patient", PATIENT, served(PATIENT) or {}),),
            (IncludeGap("Task:owner", "Practitioner/x", "timeout"),),
        ),
        3,
        1_790_000_000.0,
    ).body
)
SENTINEL = "sentinel-3f9a"
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
    | st.just(SENTINEL),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += paths(value, (*prefix, index))
    return found


ALL_PATHS = paths(VALID)[1:]


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(where=st.sampled_from(ALL_PATHS), value=JSON, drop=st.booleans())
def test_any_one_change_is_accepted_or_refused_cleanly(
    where: tuple[Any, ...], value: Any, drop: bool
) -> None:
    document = copy.deepcopy(VALID)
    parent = document
    for step in where[:-1]:
        parent = parent[step]
    if drop:
        del parent[where[-1]]
    else:
        parent[where[-1]] = value
    body = json.dumps(document).encode()
    try:
        parsed = parse_body(body)
        for resource in parsed.included:
            validate_resource(resource)
    except WebhookVerificationError as error:
        assert SENTINEL not in str(error)
