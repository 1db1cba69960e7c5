"""The outbox's tuning variables: retry schedule, timeouts, time budgets, breaker, retention.

Each has a default chosen for a shared Canvas instance (README, "Delivery"): every wait is
bounded, because the runner's 5 worker threads serve every plugin of the instance. The
values are read once per event or tick and checked here, so a bad value is one clear
ConfigError naming the variable, never a crash inside a tick.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..shared.delivery_contract import DEFAULT_RETRY_SCHEDULE
from .config_errors import ConfigError, bounded_number, finite_number, variable_text

# compute() makes the first attempt itself: it must not hold a runner thread for long.
DEFAULT_FIRST_ATTEMPT_TIMEOUTS = (2.0, 5.0)
# Retries run in the cron tick, which has its own budget, so they may wait longer.
DEFAULT_RETRY_TIMEOUTS = (3.0, 15.0)
DEFAULT_FHIR_TIMEOUTS = (3.0, 10.0)
DEFAULT_TICK_BUDGET_SECONDS = 25.0
# Requests a cron tick has in flight at once; each is bounded by RETRY_TIMEOUTS.
DEFAULT_CONCURRENCY = 4
DEFAULT_BREAKER_THRESHOLD = 5
DEFAULT_CATCH_UP_HOURS = 24.0
DEFAULT_RETENTION_DAYS = 30.0
MAX_TIMEOUT_SECONDS = 30.0
MAX_TICK_BUDGET_SECONDS = 50.0


@dataclass(frozen=True)
class DeliverySettings:
    """How the outbox delivers, retries and cleans up."""

    retry_schedule: tuple[float, ...] = DEFAULT_RETRY_SCHEDULE
    first_attempt_timeouts: tuple[float, float] = DEFAULT_FIRST_ATTEMPT_TIMEOUTS
    retry_timeouts: tuple[float, float] = DEFAULT_RETRY_TIMEOUTS
    fhir_timeouts: tuple[float, float] = DEFAULT_FHIR_TIMEOUTS
    tick_budget_seconds: float = DEFAULT_TICK_BUDGET_SECONDS
    concurrency: int = DEFAULT_CONCURRENCY
    breaker_threshold: int = DEFAULT_BREAKER_THRESHOLD
    catch_up_hours: float = DEFAULT_CATCH_UP_HOURS
    retention_days: float = DEFAULT_RETENTION_DAYS

    @property
    def read_budget_seconds(self) -> float:
        """How long one Task read may take in all: a token and a GET at FHIR_TIMEOUTS each."""
        return 2 * sum(self.fhir_timeouts)

    @property
    def claim_seconds(self) -> float:
        """How long a claimed row stays claimed: longer than any one attempt can take."""
        slowest = max(sum(self.first_attempt_timeouts), sum(self.retry_timeouts))
        return slowest + sum(self.fhir_timeouts) + 5.0


def _seconds_list(
    secrets: dict[str, Any], name: str, default: tuple[float, ...]
) -> tuple[float, ...]:
    text = variable_text(secrets, name)
    if not text:
        return default
    values = tuple(finite_number(part.strip(), name) for part in text.split(",") if part.strip())
    if not values or any(value < 0 for value in values):
        raise ConfigError(name, "must be comma-separated non-negative seconds")
    return values


def _timeouts(
    secrets: dict[str, Any], name: str, default: tuple[float, float]
) -> tuple[float, float]:
    values = _seconds_list(secrets, name, default)
    if len(values) != 2 or not all(0 < value <= MAX_TIMEOUT_SECONDS for value in values):
        raise ConfigError(name, "must be two seconds, connect,read, each above 0 and at most 30")
    return (values[0], values[1])


def load_delivery_settings(secrets: dict[str, Any]) -> DeliverySettings:
    """The outbox variables, each defaulted and checked."""
    return DeliverySettings(
        retry_schedule=_seconds_list(secrets, "RETRY_SCHEDULE", DEFAULT_RETRY_SCHEDULE),
        first_attempt_timeouts=_timeouts(
            secrets, "FIRST_ATTEMPT_TIMEOUTS", DEFAULT_FIRST_ATTEMPT_TIMEOUTS
        ),
        retry_timeouts=_timeouts(secrets, "RETRY_TIMEOUTS", DEFAULT_RETRY_TIMEOUTS),
        fhir_timeouts=_timeouts(secrets, "FHIR_TIMEOUTS", DEFAULT_FHIR_TIMEOUTS),
        tick_budget_seconds=bounded_number(
            secrets, "CRON_TIME_BUDGET", DEFAULT_TICK_BUDGET_SECONDS, 1.0, MAX_TICK_BUDGET_SECONDS
        ),
        concurrency=int(
            bounded_number(secrets, "DELIVERY_CONCURRENCY", DEFAULT_CONCURRENCY, 1, 16)
        ),
        breaker_threshold=int(
            bounded_number(secrets, "BREAKER_THRESHOLD", DEFAULT_BREAKER_THRESHOLD, 1, 1000)
        ),
        catch_up_hours=bounded_number(
            secrets, "CATCH_UP_HOURS", DEFAULT_CATCH_UP_HOURS, 0, 24 * 14
        ),
        retention_days=bounded_number(secrets, "RETENTION_DAYS", DEFAULT_RETENTION_DAYS, 0, 3650),
    )
