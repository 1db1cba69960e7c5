"""The delivery contract both sides rely on: the retry schedule and the statuses that end it.

The plugin retries on this schedule and stops at once on these statuses; the receiver
library remembers a handled `webhook-id` for at least the schedule's span, so that a repeat
sent days later (after a lost answer, or by an operator) is still recognised. One home, so
the sender's promise and the receiver's memory cannot drift (docs/wire-format.md,
"Delivery, retries and deduplication").
"""

from __future__ import annotations

# Seconds to wait before each retry, after the first attempt: 1 min, 5 min, 30 min, 2 h,
# 5 h, then every 10 h: 13 attempts over about 3.2 days (77.6 h). Svix spans ~28 h, Stripe
# 3 days: a receiver down over a long weekend still gets every event.
DEFAULT_RETRY_SCHEDULE: tuple[float, ...] = (60, 300, 1800, 7200, 18000, *([36000] * 7))

# The receiver refusing the request itself: the same bytes cannot succeed, so the sender
# stops after this one attempt (an operator can resend after fixing the cause).
PERMANENT_STATUSES = frozenset({400, 401, 403, 404, 410, 413, 422})

# How long after an event its last scheduled attempt can come, plus a day for an
# operator's resend: the receiver's default memory of handled ids.
DEFAULT_HANDLED_TTL_SECONDS = float(sum(DEFAULT_RETRY_SCHEDULE)) + 86400.0
