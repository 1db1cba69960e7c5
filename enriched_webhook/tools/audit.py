"""Audit payload files offline: the same format checks (envelope or FHIR notification),
Task rules and fhir.resources validation a receiver applies, without any signature (for
that: `verify`).

Each file is a bare body or a captured request. The result line names the file and what
was wrong, never any Task content.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..receiver.capture import CaptureFormatError, is_capture, parse_capture
from ..receiver.errors import WebhookVerificationError
from ..receiver.event import VerifiedEvent
from ..shared.notification import FORMAT_ENVELOPE

MAX_FILE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class AuditResult:
    path: str
    passed: bool
    detail: str

    def line(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        return f"{verdict}  {self.path}  {self.detail}"


def audit_body(body: bytes) -> str:
    """`<type> Task/<id>` (and the format, included resources and gaps, when there are
    any) for a valid payload of either format; raises WebhookVerificationError otherwise."""
    # The library's own checks, as `verify` makes them after the signature: the format, the
    # Task rules, the R4B Task (none for a ping) and every included resource.
    parsed = VerifiedEvent("", 0, body).validate().parsed
    line = f"{parsed.type}  Task/{parsed.task.get('id', '-')}"
    if parsed.format != FORMAT_ENVELOPE:
        line += f"  {parsed.format} event-number {parsed.event_number}"
    if parsed.included or parsed.not_included:
        line += f"  included {len(parsed.included)}"
        line += f"  not included {len(parsed.not_included)}"
    return line


def audit_file(path: Path) -> AuditResult:
    name = str(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return AuditResult(name, False, "larger than 16 MiB: not a payload")
        raw = path.read_bytes()
    except OSError as error:
        return AuditResult(name, False, f"cannot read: {error.strerror or 'error'}")
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return AuditResult(name, False, "not JSON")
    body = raw
    kind = "body"
    if is_capture(document):
        kind = "capture"
        try:
            _headers, body = parse_capture(document)
        except CaptureFormatError as error:
            return AuditResult(name, False, f"capture: {error}")
    elif not isinstance(document, dict):
        return AuditResult(name, False, "not a payload: the JSON is not an object")
    try:
        return AuditResult(name, True, f"{kind}  {audit_body(body)}")
    except WebhookVerificationError as error:
        return AuditResult(name, False, f"{kind}  {type(error).__name__}: {error}")
