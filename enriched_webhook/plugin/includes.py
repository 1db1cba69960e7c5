"""INCLUDE: reads the resources a Task references (its patient, owner, ...) for the payload.

A receiver that needs the full Task usually needs who it is for and who owns it too, and
would otherwise call Canvas's FHIR API again for each. The reads run concurrently (a
thread pool, which the sandbox allows through `canvas_sdk.utils.http`) with `requests`
and a per-request timeout, because canvas's `Http` fixes its timeout at 30 s; the whole
set shares one time budget. A reference that cannot be read is left out and named in
the payload as an IncludeGap: never a silent gap, and never a reason to hold the event.

INCLUDE follows literal references only, as FHIR's `_include` does: an identifier-only
(logical) reference names no resource to read, and a contained one (`#id`) is already in
the Task. An absolute URL outside FHIR_BASE_URL is not read (the plugin calls no hosts
but its configured ones) and is named as a gap.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import requests
from canvas_sdk.utils.http import ThreadPoolExecutor

from ..shared.notification import (
    RELATIVE_REFERENCE,
    Included,
    IncludedResource,
    IncludeGap,
)

if TYPE_CHECKING:
    from .config import PluginSettings
    from .fhir_client import FhirTaskReader

# Task search parameters INCLUDE accepts (as in `Task:owner`), and the element each follows.
TASK_INCLUDES = {
    "patient": "for",
    "subject": "for",
    "owner": "owner",
    "requester": "requester",
    "focus": "focus",
    "encounter": "encounter",
    "based-on": "basedOn",
    "part-of": "partOf",
}
# `Task:patient` follows `for` only where it is a Patient, as the FHIR search parameter does.
IMPLIED_TARGETS = {"patient": "Patient"}
# How long all of one event's include reads may take together (INCLUDE_BUDGET_SECONDS).
DEFAULT_INCLUDE_BUDGET_SECONDS = 3.0
CONNECT_TIMEOUT_SECONDS = 3.0
MAX_READS = 10
# References named one by one (read or gap); past this, one gap counts the rest, so the
# Bundle stays within the receiver's entry limit (receiver/notification.py MAX_ENTRIES).
MAX_NAMED = 40
MAX_WORKERS = 6


class IncludeSpecError(ValueError):
    """INCLUDE names something this plugin cannot include; the message says what."""


@dataclass(frozen=True)
class IncludeSpec:
    """One parsed INCLUDE item: `Task:<param>[:<TargetType>]`."""

    name: str
    element: str
    target: str


def parse_includes(text: str) -> tuple[IncludeSpec, ...]:
    """`Task:patient,Task:owner` -> specs, in order, without repeats; IncludeSpecError if bad."""
    specs: list[IncludeSpec] = []
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        parts = item.split(":")
        if len(parts) not in (2, 3) or parts[0] != "Task":
            raise IncludeSpecError("each item must be Task:<search parameter>[:<type>]")
        element = TASK_INCLUDES.get(parts[1])
        if element is None:
            raise IncludeSpecError("allowed parameters: Task:" + ", Task:".join(TASK_INCLUDES))
        target = parts[2] if len(parts) == 3 else IMPLIED_TARGETS.get(parts[1], "")
        if target and RELATIVE_REFERENCE.fullmatch(target + "/x") is None:
            raise IncludeSpecError("the target type must be a FHIR resource type")
        if parts[1] in IMPLIED_TARGETS and target != IMPLIED_TARGETS[parts[1]]:
            raise IncludeSpecError(
                "Task:" + parts[1] + " only targets " + IMPLIED_TARGETS[parts[1]]
            )
        spec = IncludeSpec(name=item, element=element, target=target)
        if spec not in specs:
            specs.append(spec)
    return tuple(specs)


def _references(task: dict[str, Any], spec: IncludeSpec) -> list[dict[str, Any]]:
    value = task.get(spec.element)
    items = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, dict)]


def _target_type(reference: dict[str, Any], path: str) -> str:
    kind = reference.get("type")
    if isinstance(kind, str) and kind:
        return kind
    return path.split("/")[0] if path else ""


def plan_reads(
    task: dict[str, Any], specs: tuple[IncludeSpec, ...], base_url: str
) -> tuple[list[tuple[str, str]], list[IncludeGap]]:
    """(include name, read path) pairs to read, deduplicated, and the gaps known up front."""
    reads: list[tuple[str, str]] = []
    gaps: list[IncludeGap] = []
    # The Task itself is already the focus entry; a second entry with its URL is ambiguous.
    seen: set[str] = {"Task/" + str(task.get("id"))}
    unnamed: dict[str, int] = {}
    prefix = base_url.rstrip("/") + "/"
    for spec in specs:
        for reference in _references(task, spec):
            text = reference.get("reference")
            if not isinstance(text, str) or not text or text.startswith("#"):
                continue  # logical or contained: nothing to read (module docstring)
            path = text[len(prefix) :] if text.startswith(prefix) else text
            literal = RELATIVE_REFERENCE.fullmatch(path) is not None
            if spec.target and _target_type(reference, path if literal else "") != spec.target:
                continue  # not the type this include asks for, as a FHIR _include
            if path in seen:
                continue
            seen.add(path)
            if len(reads) + len(gaps) >= MAX_NAMED:
                unnamed[spec.name] = unnamed.get(spec.name, 0) + 1
            elif not literal:
                gaps.append(IncludeGap(spec.name, text, "external-reference"))
            elif len(reads) >= MAX_READS:
                gaps.append(IncludeGap(spec.name, path, "over-limit"))
            else:
                reads.append((spec.name, path))
    for name, count in unnamed.items():
        gaps.append(IncludeGap(name, str(count) + " more references", "over-limit"))
    return reads, gaps


def _read_one(url: str, token: str, timeout: float) -> tuple[int, Any, str]:
    """(status, parsed JSON or None, error kind); never raises, it runs in a worker thread."""
    try:
        response = requests.get(
            url,
            headers={"Authorization": "Bearer " + token, "Accept": "application/fhir+json"},
            timeout=(min(CONNECT_TIMEOUT_SECONDS, timeout), timeout),
        )
    except requests.exceptions.Timeout:
        return 0, None, "timeout"
    except Exception:
        return 0, None, "unreachable"
    if response.status_code != 200:
        return response.status_code, None, "http-" + str(response.status_code)
    try:
        return 200, response.json(), ""
    except Exception:
        return 200, None, "not-json"


def _checked(
    include: str, path: str, result: tuple[int, Any, str]
) -> IncludedResource | IncludeGap:
    status, document, error = result
    if error:
        return IncludeGap(include, path, error, status or None)
    kind, ident = path.split("/")[0], path.split("/")[1]
    if (
        not isinstance(document, dict)
        or document.get("resourceType") != kind
        or document.get("id") != ident
    ):
        return IncludeGap(include, path, "wrong-resource", status)
    return IncludedResource(include, path, document)


def read_includes(
    task: dict[str, Any],
    specs: tuple[IncludeSpec, ...],
    base_url: str,
    token: str,
    budget_seconds: float = DEFAULT_INCLUDE_BUDGET_SECONDS,
) -> Included:
    """Read what `specs` name in `task`, concurrently, within `budget_seconds` in all."""
    reads, gaps = plan_reads(task, specs, base_url)
    if not reads:
        return Included((), tuple(gaps))
    deadline = time.monotonic() + budget_seconds
    prefix = base_url.rstrip("/") + "/"
    executor = ThreadPoolExecutor(max_workers=min(len(reads), MAX_WORKERS))
    try:
        futures = [
            executor.submit(_read_one, prefix + read[1], token, budget_seconds) for read in reads
        ]
        resources: list[IncludedResource] = []
        for (include, path), future in zip(reads, futures, strict=True):
            try:
                result = future.result(timeout=max(0.0, deadline - time.monotonic()))
            except Exception:
                # _read_one never raises: this is the budget running out.
                gaps.append(IncludeGap(include, path, "timeout"))
                continue
            checked = _checked(include, path, result)
            if isinstance(checked, IncludeGap):
                gaps.append(checked)
            else:
                resources.append(checked)
    finally:
        # A read still running past the budget is abandoned, not awaited.
        executor.shutdown(wait=False, cancel_futures=True)
    return Included(tuple(resources), tuple(gaps))


def read_event_includes(
    settings: PluginSettings, task: dict[str, Any], reader: FhirTaskReader
) -> Included:
    """INCLUDE for one event, with the token the Task was just read with; none if unset."""
    specs = settings.payload.includes
    if not specs:
        return Included()
    try:
        token = reader.token()
    except Exception:
        reads, gaps = plan_reads(task, specs, settings.fhir_base_url)
        missing = [IncludeGap(include, path, "no-token") for include, path in reads]
        return Included((), tuple(gaps + missing))
    return read_includes(
        task, specs, settings.fhir_base_url, token, settings.payload.include_budget_seconds
    )
