"""Reading one variable, and the one error a bad variable gives.

The error names the variable, never its value (most are secrets). `variable_text` is the
one reader every settings module uses: absent is "", anything but a string is an error.
"""

from __future__ import annotations

from typing import Any


class ConfigError(ValueError):
    """One variable is missing or malformed; `variable` names it for the log line."""

    def __init__(self, variable: str, reason: str) -> None:
        super().__init__(variable + ": " + reason)
        self.variable = variable
        self.reason = reason


def variable_text(secrets: dict[str, Any], name: str) -> str:
    """The variable's value, stripped; "" when it is not set."""
    value = secrets.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ConfigError(name, "is not a string")
    return value.strip()
