"""Attempts per hour over the last 7 days, by outcome, as inline SVG drawn on the server.

Inline SVG needs no script, no image request and no library, so the Content-Security-
Policy stays closed. Bars are stacked delivered / retried / failed from the bottom, so an
outage reads as a run of red and amber, and a recovery as the green coming back. Colours
come from the page's CSS classes (no `style` attributes: the CSP refuses them).
"""

from __future__ import annotations

from datetime import date

from .formats import when
from .markup import Html, attr, text

BAR_WIDTH = 5
BAR_GAP = 1
LEFT = 40
TOP = 10
PLOT_HEIGHT = 150
BOTTOM = 24
OUTCOMES = ("delivered", "retried", "failed")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def count(hour: dict[str, object], outcome: str) -> int:
    value = hour.get(outcome)
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return 0


def nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten at or above `value` (at least 4)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value and step * factor >= 4:
                return step * factor
        step *= 10


def weekday(iso: str) -> str:
    """Day name of a `YYYY-MM-DD...` date."""
    return WEEKDAYS[date(int(iso[0:4]), int(iso[5:7]), int(iso[8:10])).weekday()]


def hourly_chart(hours: list[dict[str, object]]) -> Html:
    """The SVG for `operations.hourly()` (oldest first); an empty window draws empty axes."""
    totals = {outcome: 0 for outcome in OUTCOMES}
    peak = 0
    for hour in hours:
        stacked = 0
        for outcome in OUTCOMES:
            totals[outcome] = totals[outcome] + count(hour, outcome)
            stacked += count(hour, outcome)
        peak = max(peak, stacked)
    ceiling = nice_ceiling(peak)
    width = LEFT + len(hours) * BAR_WIDTH + 8
    height = TOP + PLOT_HEIGHT + BOTTOM
    scale = PLOT_HEIGHT / ceiling
    summary = (
        "Attempts per hour over the last "
        + str(len(hours) // 24)
        + " days: "
        + str(totals["delivered"])
        + " delivered, "
        + str(totals["retried"])
        + " retried, "
        + str(totals["failed"])
        + " failed"
    )
    parts = [
        '<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 '
        + str(width)
        + " "
        + str(height)
        + '" role="img" aria-labelledby="chart-title">',
        '<title id="chart-title">' + text(summary) + "</title>",
    ]
    for fraction in (0, 0.5, 1):
        y = TOP + PLOT_HEIGHT - round(PLOT_HEIGHT * fraction)
        label = ceiling * fraction
        parts.append(
            '<line class="grid" x1="'
            + str(LEFT)
            + '" x2="'
            + str(width - 4)
            + '" y1="'
            + str(y)
            + '" y2="'
            + str(y)
            + '"/>'
            + '<text class="axis" x="'
            + str(LEFT - 6)
            + '" y="'
            + str(y + 4)
            + '" text-anchor="end">'
            + text(int(label) if label == int(label) else label)
            + "</text>"
        )
    for index, hour in enumerate(hours):
        x = LEFT + index * BAR_WIDTH
        iso = hour.get("hour")
        iso_text = iso if isinstance(iso, str) else ""
        if len(iso_text) >= 13 and iso_text[11:13] == "00":
            parts.append(
                '<line class="day" x1="'
                + str(x)
                + '" x2="'
                + str(x)
                + '" y1="'
                + str(TOP)
                + '" y2="'
                + str(TOP + PLOT_HEIGHT + 4)
                + '"/>'
                + '<text class="axis" x="'
                + str(x + 2)
                + '" y="'
                + str(TOP + PLOT_HEIGHT + 17)
                + '">'
                + text(weekday(iso_text) + " " + iso_text[8:10])
                + "</text>"
            )
        stacked = sum(count(hour, outcome) for outcome in OUTCOMES)
        if stacked == 0:
            continue
        bar = ['<g class="hour"><title>' + text(hour_title(iso_text, hour)) + "</title>"]
        base: float = TOP + PLOT_HEIGHT
        for outcome in OUTCOMES:
            value = count(hour, outcome)
            if value == 0:
                continue
            tall = max(1.0, value * scale)
            base -= tall
            bar.append(
                '<rect class="bar-'
                + attr(outcome)
                + '" x="'
                + str(x)
                + '" y="'
                + str(round(base, 2))
                + '" width="'
                + str(BAR_WIDTH - BAR_GAP)
                + '" height="'
                + str(round(tall, 2))
                + '"/>'
            )
        bar.append("</g>")
        parts.append("".join(bar))
    parts.append("</svg>")
    return Html("".join(parts))


def hour_title(iso: str, hour: dict[str, object]) -> str:
    return (
        when(iso)[:16]
        + " UTC: "
        + str(count(hour, "delivered"))
        + " delivered, "
        + str(count(hour, "retried"))
        + " retried, "
        + str(count(hour, "failed"))
        + " failed"
    )
