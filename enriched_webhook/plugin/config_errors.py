"""Reading one variable, and the one error a bad variable gives.

The error names the variable, never its value (most are secrets). `variable_text` is the
one reader every settings module uses: absent is "", anything but a string is an error;
`finite_number` and `bounded_number` are the one reading of a number.
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


def finite_number(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(name, "must be a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ConfigError(name, "must be a finite number")
    return value


def bounded_number(
    secrets: dict[str, Any], name: str, default: float, low: float, high: float
) -> float:
    """The variable as a number in [low, high]; `default` when it is not set."""
    text = variable_text(secrets, name)
    if not text:
        return default
    value = finite_number(text, name)
    if value < low or value > high:
        raise ConfigError(name, "must be between " + str(low) + " and " + str(high))
    return value
