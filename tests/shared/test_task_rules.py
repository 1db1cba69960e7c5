"""The shared Task rules: in step with fhir.resources' R4B Task, and strict on codes."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from fhir.resources.R4B.task import Task

from devtools.fixtures import FIXTURES_DIR, fixture_tasks
from enriched_webhook.shared.task_rules import (
    PRIMITIVE_ELEMENTS,
    REQUEST_PRIORITY,
    TASK_ELEMENTS,
    TASK_INTENT,
    TASK_STATUS,
    TaskRuleError,
    check_task,
)


def model_elements() -> set[str]:
    return {(field.alias or name) for name, field in Task.model_fields.items()} - {"fhir_comments"}


def test_element_names_match_the_r4b_task_model() -> None:
    names = model_elements()
    plain = {name for name in names if not name.startswith("_")}
    assert plain | {"resourceType"} == set(TASK_ELEMENTS)
    assert {name[1:] for name in names if name.startswith("_")} <= set(PRIMITIVE_ELEMENTS)


@pytest.mark.parametrize(
    ("element", "ours"),
    [("status", TASK_STATUS), ("intent", TASK_INTENT), ("priority", REQUEST_PRIORITY)],
)
def test_value_sets_contain_every_code_the_model_lists(element: str, ours: frozenset[str]) -> None:
    listed = (Task.model_fields[element].json_schema_extra or {}).get("enum_values", [])
    codes = {code for code in listed if code != "+"}  # fhir.resources lists a prefix, then '+'
    assert codes, "fhir.resources no longer lists codes for " + element
    assert codes <= ours


@pytest.mark.parametrize("fixture", fixture_tasks(), ids=lambda f: f.name)
def test_every_fixture_passes_the_rules_and_fhir_resources(fixture: Any) -> None:
    check_task(fixture.task, fixture.task_id)
    Task.model_validate(fixture.task)


def canvas_task() -> dict[str, Any]:
    task: dict[str, Any] = json.loads(
        (FIXTURES_DIR / "canvas" / "task_read_response_200.json").read_text()
    )
    return task


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda t: t.update(status="bogus"), "Task.status is not in its required value set"),
        (lambda t: t.update(intent="whenever"), "Task.intent is not in its required value set"),
        (lambda t: t.update(priority="high"), "Task.priority is not in its required value set"),
        (lambda t: t.update(status=3), "Task.status is not in its required value set"),
        (lambda t: t.pop("status"), "Task.status is missing"),
        (lambda t: t.pop("intent"), "Task.intent is missing"),
        (lambda t: t.update(resourceType="Patient"), "resourceType is not 'Task'"),
        (
            lambda t: t.update(context={"reference": "Encounter/1"}),
            "elements that R4 does not define: context",
        ),
        (lambda t: t.update(id="another"), "Task.id is not the event's target id"),
    ],
)
def test_rule_violations_are_named_without_values(mutate: Any, expected: str) -> None:
    task = canvas_task()
    target = task["id"]
    mutate(task)
    with pytest.raises(TaskRuleError) as caught:
        check_task(task, target)
    assert expected in str(caught.value)
    assert "bogus" not in str(caught.value) and "insurance" not in str(caught.value)


def test_bogus_status_passes_fhir_resources_which_is_why_the_rules_exist() -> None:
    task = canvas_task()
    task["status"] = "bogus"
    Task.model_validate(task)  # structure only: no code check
    with pytest.raises(TaskRuleError):
        check_task(task)


def test_primitive_extension_elements_are_allowed_and_others_are_not() -> None:
    task = canvas_task()
    task["_status"] = {"extension": []}
    check_task(copy.deepcopy(task), task["id"])
    task["_for"] = {}
    with pytest.raises(TaskRuleError):
        check_task(task, task["id"])


@pytest.mark.parametrize("value", [[], "Task", None, 7])
def test_non_objects_are_refused(value: Any) -> None:
    with pytest.raises(TaskRuleError, match="not a JSON object"):
        check_task(value)


def test_an_unknown_element_with_an_odd_name_is_not_echoed() -> None:
    task = canvas_task()
    task["Mrs Jane Doe, 1970-01-01"] = 1
    with pytest.raises(TaskRuleError) as caught:
        check_task(task)
    assert "Jane" not in str(caught.value)
