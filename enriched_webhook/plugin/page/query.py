"""The list's filters, read from the query string and checked before any query runs.

A bad value is never passed on: it is reported on the page (escaped) and the filter is
dropped, so a hostile query string can neither reach the outbox query nor the markup raw.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ...models.outbox import STATES
from ...shared.task_rules import is_fhir_id

PAGE_SIZE = 50
MAX_PAGE = 10000
# webhook-ids are `msg_` + hex; ping ids too. Anything else in a detail URL is a 404.
WEBHOOK_ID = re.compile(r"[A-Za-z0-9_\-]{1,64}")


@dataclass
class Filters:
    state: str | None = None
    task_id: str | None = None
    page: int = 1
    # What the staff member typed, echoed into the form (escaped) even when refused.
    typed_task_id: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def offset(self) -> int:
        return (self.page - 1) * PAGE_SIZE

    def query(self, page: int | None = None) -> dict[str, str]:
        """The query parameters that reproduce this view (for the pager's links)."""
        params: dict[str, str] = {}
        if self.state:
            params["state"] = self.state
        if self.task_id:
            params["task_id"] = self.task_id
        chosen = self.page if page is None else page
        if chosen > 1:
            params["page"] = str(chosen)
        return params


def parse_filters(params: Any) -> Filters:
    """`params` is the request's query MultiDict (`.get` gives the first value)."""
    filters = Filters()
    state = (params.get("state") or "").strip()
    if state:
        if state in STATES:
            filters.state = state
        else:
            filters.problems.append("Unknown state: " + state[:80])
    task_id = (params.get("task_id") or "").strip()
    filters.typed_task_id = task_id[:200]
    if task_id:
        if is_fhir_id(task_id):
            filters.task_id = task_id
        else:
            filters.problems.append("Not a Task id: " + task_id[:200])
    page = (params.get("page") or "").strip()
    if page:
        if page.isdigit() and 1 <= int(page) <= MAX_PAGE:
            filters.page = int(page)
        else:
            filters.problems.append("Not a page number: " + page[:20])
    return filters


def valid_webhook_id(value: object) -> bool:
    return isinstance(value, str) and WEBHOOK_ID.fullmatch(value) is not None
