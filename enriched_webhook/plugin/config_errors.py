"""The one error a bad variable gives: it names the variable, never its value (often a secret)."""

from __future__ import annotations


class ConfigError(ValueError):
    """One variable is missing or malformed; `variable` names it for the log line."""

    def __init__(self, variable: str, reason: str) -> None:
        super().__init__(variable + ": " + reason)
        self.variable = variable
        self.reason = reason
