"""The payload variables: PAYLOAD_FORMAT, INCLUDE and INCLUDE_BUDGET_SECONDS.

Kept apart from config.py's transport and signing variables because they decide only
what the body carries (plugin/body.py) and which extra reads an event makes
(plugin/includes.py). A bad value is one ConfigError naming the variable, like the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..shared.notification import FORMAT_ENVELOPE, PAYLOAD_FORMATS
from .config_errors import ConfigError, bounded_number, variable_text
from .includes import (
    DEFAULT_INCLUDE_BUDGET_SECONDS,
    IncludeSpec,
    IncludeSpecError,
    parse_includes,
)

# All INCLUDE reads of one event share this budget: they run inside compute(), on one of
# the runner's few worker threads, before the first delivery attempt.
MIN_INCLUDE_BUDGET_SECONDS = 0.5
MAX_INCLUDE_BUDGET_SECONDS = 10.0


@dataclass(frozen=True)
class PayloadSettings:
    """The body's format, and the references INCLUDE reads for it (none by default)."""

    format: str = FORMAT_ENVELOPE
    includes: tuple[IncludeSpec, ...] = ()
    include_budget_seconds: float = DEFAULT_INCLUDE_BUDGET_SECONDS


DEFAULT_PAYLOAD = PayloadSettings()


def load_payload_settings(secrets: dict[str, Any]) -> PayloadSettings:
    """PAYLOAD_FORMAT (default envelope), INCLUDE (default none), INCLUDE_BUDGET_SECONDS."""
    payload_format = (variable_text(secrets, "PAYLOAD_FORMAT") or FORMAT_ENVELOPE).lower()
    if payload_format not in PAYLOAD_FORMATS:
        raise ConfigError("PAYLOAD_FORMAT", "must be one of " + ", ".join(PAYLOAD_FORMATS))
    try:
        includes = parse_includes(variable_text(secrets, "INCLUDE"))
    except IncludeSpecError as error:
        raise ConfigError("INCLUDE", str(error)) from None
    budget = bounded_number(
        secrets,
        "INCLUDE_BUDGET_SECONDS",
        DEFAULT_INCLUDE_BUDGET_SECONDS,
        MIN_INCLUDE_BUDGET_SECONDS,
        MAX_INCLUDE_BUDGET_SECONDS,
    )
    return PayloadSettings(payload_format, includes, budget)
