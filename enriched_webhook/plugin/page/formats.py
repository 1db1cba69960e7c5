"""How times, latencies and states read on the page (UTC throughout, like the outbox)."""

from __future__ import annotations

# The badge words (each with its colour in the CSS): the outbox's states, except that a
# pending row that has been attempted is "retrying" and one that has not, "queued".
BADGES = frozenset(("reading", "queued", "retrying", "delivered", "failed"))


def state_label(state: object, attempts: object) -> str:
    """The badge word: pending splits into queued and retrying by its attempt count."""
    if state == "pending":
        return "retrying" if isinstance(attempts, int) and attempts > 0 else "queued"
    if isinstance(state, str) and state in BADGES:
        return state
    return "unknown"


def when(iso: object) -> str:
    """`2026-11-29T13:00:00Z` as `2026-11-29 13:00:00`; anything else as it is."""
    if not isinstance(iso, str) or not iso:
        return "\u2014"
    if len(iso) >= 19 and iso[10] == "T":
        return iso[:10] + " " + iso[11:19]
    return iso


def short_when(iso: object) -> str:
    """`Nov 29 13:00` for table cells, where the year and seconds are noise."""
    if not isinstance(iso, str) or len(iso) < 16 or iso[10] != "T":
        return when(iso)
    month = MONTHS.get(iso[5:7], iso[5:7])
    return month + " " + iso[8:10] + " " + iso[11:16]


MONTHS = {
    "01": "Jan",
    "02": "Feb",
    "03": "Mar",
    "04": "Apr",
    "05": "May",
    "06": "Jun",
    "07": "Jul",
    "08": "Aug",
    "09": "Sep",
    "10": "Oct",
    "11": "Nov",
    "12": "Dec",
}


def millis(value: object) -> str:
    """A latency: `12 ms` from 10 ms up, `3.4 ms` below, an em dash when unknown."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "\u2014"
    if value >= 10:
        return str(round(value)) + " ms"
    return str(round(float(value), 1)) + " ms"


def status_code(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return "\u2014"
