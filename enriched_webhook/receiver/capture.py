"""Captured requests: one JSON file each, `{"headers": {...}, "body": "<the body string>"}`.

The reference receiver writes them (`receive --capture DIR`); `audit` and `verify` read
them. The body is kept as the exact string received (the plugin sends ASCII JSON), so a
capture verifies offline byte for byte. Captures hold PHI: files are created 0600 in a
0700 folder, and nothing here ever logs their content.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .headers import ID

_SAFE_ID = re.compile(r"[A-Za-z0-9_.-]{1,80}")


class CaptureFormatError(ValueError):
    """The file is not a capture: the message says what is wrong, never its content."""


def capture_document(headers: Iterable[tuple[str, str]], body: bytes) -> dict[str, Any]:
    """The capture of one request; raises CaptureFormatError if the body is not UTF-8."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise CaptureFormatError("the body is not UTF-8 and cannot be kept as a string") from None
    return {"headers": {name.lower(): value for name, value in headers}, "body": text}


def parse_capture(document: Any) -> tuple[dict[str, str], bytes]:
    """Headers and exact body bytes of a capture document."""
    if not isinstance(document, dict) or set(document) != {"headers", "body"}:
        raise CaptureFormatError("not a capture (an object with exactly 'headers' and 'body')")
    headers, body = document["headers"], document["body"]
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise CaptureFormatError("'headers' is not an object of strings")
    if not isinstance(body, str):
        raise CaptureFormatError("'body' is not a string")
    return headers, body.encode("utf-8")


def is_capture(document: Any) -> bool:
    return isinstance(document, dict) and set(document) == {"headers", "body"}


class CaptureWriter:
    """Writes each request into `folder`, named by arrival time and webhook-id."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.folder = folder
        self._sequence = itertools.count()
        self._lock = threading.Lock()

    def write(self, headers: Iterable[tuple[str, str]], body: bytes) -> Path:
        document = capture_document(headers, body)
        msg_id = str(document["headers"].get(ID, ""))
        label = msg_id if _SAFE_ID.fullmatch(msg_id) else "no-id"
        with self._lock:
            number = next(self._sequence)
        name = f"{time.strftime('%Y%m%dT%H%M%S')}-{number:04d}-{label}.json"
        path = self.folder / name
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(document, handle, ensure_ascii=True)
        return path
