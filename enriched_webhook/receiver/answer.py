"""From a request to the answer a sender needs, the same in every framework.

Flask, FastAPI, Django and the reference receiver all need the same glue around
`Verifier.process`: refuse what cannot be a delivery before reading it (a body over the
limit: 413; a declared length that is not one number: 400), tell a server that dropped a
chunked body (Django under WSGI hands the view an empty body) from a forged signature,
map each verification error to its status, run the user's handler inside the claim and
answer 500 if it fails, so the claim is released and the sender's retry can succeed.
Answering 401 to a good delivery whose body the server lost would tell the sender to
stop; 411 says what is wrong.

Every message here names a reason, never a header value, a body or a Task field.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass
from typing import Any

from .errors import WebhookVerificationError
from .event import VerifiedEvent
from .headers import CREDENTIAL_HEADERS, declared_length
from .verifier import Verifier

# A Task envelope is a few KB; 1 MiB leaves room for any legitimate Task.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
EventHandler = Callable[[VerifiedEvent], None]


@dataclass(frozen=True)
class WebhookAnswer:
    """The HTTP answer for one request: `status`, and `content` (JSON, or empty for 204).

    `verdict` is "ok" or the name of what refused the request (an exception class), for a
    log line; `event` is the verified event when verification got that far.
    """

    status: int
    verdict: str
    message: str = ""
    event: VerifiedEvent | None = None

    @property
    def content(self) -> bytes:
        """`{"verdict": ..., "message": ...}` as JSON, or b"" for 204."""
        if self.status == 204:
            return b""
        document = {"verdict": self.verdict}
        if self.message:
            document["message"] = self.message
        return json.dumps(document).encode("ascii")

    @property
    def content_type(self) -> str | None:
        return None if self.status == 204 else "application/json"


def answer_webhook(
    verifier: Verifier,
    headers: Any,
    body: bytes | Callable[[], bytes],
    handle: EventHandler | None = None,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> WebhookAnswer:
    """Verify, claim, run `handle(event)`, and say what to answer; never raises for a request.

    `headers` is the framework's header mapping; `body` the raw body bytes, or a function
    that reads them, called only after the declared length passed the limit (so an
    oversized body is never read). Exceptions from `handle` become 500 (the claim is
    released: the sender's retry can succeed); anything else `body()` raises propagates,
    so the framework can answer its own errors (Werkzeug's 413 for a long chunked body).
    """
    refused = _refuse_framing(headers, max_body_bytes)
    if refused is not None:
        return refused
    raw = body() if callable(body) else body
    if len(raw) > max_body_bytes:
        return WebhookAnswer(413, "PayloadTooLarge", "the body exceeds the receiver's limit")
    if not raw and _header(headers, "transfer-encoding") is not None:
        return WebhookAnswer(
            411,
            "LengthRequired",
            "the server passed on no body for this chunked request; send Content-Length",
        )
    event: VerifiedEvent | None = None
    try:
        with verifier.process(raw, headers) as event:
            if handle is not None:
                handle(event)
    except WebhookVerificationError as error:
        return WebhookAnswer(error.http_status, type(error).__name__, str(error), event)
    except Exception as error:
        return WebhookAnswer(
            500, type(error).__name__, "the receiver failed to handle the event", event
        )
    return WebhookAnswer(204, "ok", "", event)


async def read_capped(
    chunks: AsyncIterable[bytes], headers: Any, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
) -> bytes:
    """An async body (Starlette's `request.stream()`), read no further than the limit allows.

    Nothing is read when the declared length is already wrong or over the limit, and
    reading stops one chunk past the limit: `answer_webhook` then answers 413 (or 400).
    """
    if _refuse_framing(headers, max_body_bytes) is not None:
        return b""
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > max_body_bytes:
            break
    return bytes(body)


def _refuse_framing(headers: Any, max_body_bytes: int) -> WebhookAnswer | None:
    """400 for a repeated credential or length header or a bad length, 413 for too long."""
    for name in (*CREDENTIAL_HEADERS, "content-length"):
        if _count(headers, name) > 1:
            return WebhookAnswer(400, "DuplicateHeader", f"header {name} appears more than once")
    declared = _header(headers, "content-length")
    if declared is None:
        return None
    text = declared.strip() if isinstance(declared, str) else ""
    if not text.isascii() or not text.isdigit():
        return WebhookAnswer(400, "BadContentLength", "Content-Length is not a number")
    if declared_length(text) > max_body_bytes:
        return WebhookAnswer(413, "PayloadTooLarge", "the body exceeds the receiver's limit")
    return None


def _header(headers: Any, name: str) -> Any:
    try:
        return headers.get(name)
    except Exception:
        return None


def _count(headers: Any, name: str) -> int:
    """How often `name` occurs, where the mapping can tell (Werkzeug, Starlette, http.server).

    A plain dict or Django's headers keep one value per name, so they count as one.
    """
    for method in ("getlist", "get_all"):
        values = getattr(headers, method, None)
        if callable(values):
            try:
                found = values(name) or ()
            except Exception:
                return 1
            return len(found)
    return 1
