"""The outbox's cron tick, every minute: retries, pending reads, catch-up, retention.

Canvas sends a CRON event each minute (it may fire twice or skip one: the tick is
idempotent, see `plugin.outbox.cron`). The tick returns no effects: it sends itself, bounded by
CRON_TIME_BUDGET, and logs one line.
"""

from __future__ import annotations

import time

from canvas_sdk.effects import Effect
from canvas_sdk.handlers.cron_task import CronTask
from logger import log

from ..plugin.config import load_settings
from ..plugin.config_errors import ConfigError
from ..plugin.outbox.cron import run_tick
from ..plugin.task_webhook import LOG_PREFIX


class OutboxCron(CronTask):
    """Delivers what is due in the outbox."""

    SCHEDULE = "* * * * *"

    def execute(self) -> list[Effect]:
        started = time.perf_counter()
        try:
            settings = load_settings(self.secrets, self.environment)
        except ConfigError as error:
            log.error(LOG_PREFIX + ' cron outcome=config-error reason="' + str(error) + '"')
            return []
        try:
            report = run_tick(settings)
        except ConfigError as error:
            # A key that loads but cannot sign: name the variable; rows wait, claims lapse.
            log.error(LOG_PREFIX + ' cron outcome=config-error reason="' + str(error) + '"')
            return []
        except Exception as error:
            # The type only: messages can carry data. The next tick starts afresh.
            log.error(LOG_PREFIX + " cron outcome=error reason=unexpected " + type(error).__name__)
            return []
        elapsed = str(round((time.perf_counter() - started) * 1000, 1))
        log.info(LOG_PREFIX + " cron outcome=ok " + report.log_fields() + " total_ms=" + elapsed)
        return []
