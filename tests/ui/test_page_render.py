"""The page's renderer in-process: escaping, the CSP hashes, the chart, filters, CSRF tokens.

The page package imports nothing of Canvas, so it is checked here directly with rows of the
shape `plugin.outbox.operations` returns; the browser test (test_deliveries_browser.py) checks the
same page served by the real runner.
"""

from __future__ import annotations

import re
from base64 import b64encode
from hashlib import sha256
from html.parser import HTMLParser

from enriched_webhook.plugin.page import views
from enriched_webhook.plugin.page.assets import CONTENT_SECURITY_POLICY, CSS, JS
from enriched_webhook.plugin.page.chart import hourly_chart, nice_ceiling, weekday
from enriched_webhook.plugin.page.csrf import csrf_key, csrf_token, csrf_valid
from enriched_webhook.plugin.page.query import PAGE_SIZE, parse_filters, valid_webhook_id

from .sample_rows import SCRIPT, hostile_row, hours, row, summary

NOW_ISO = "2026-11-29T13:30:00Z"
NOW = 1795959000.0


class Elements(HTMLParser):
    """Every start tag with its attributes, and all text, as a browser's parser sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self.scripts += 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> Elements:
    parser = Elements()
    parser.feed(html)
    return parser


def list_html(rows: list[dict[str, object]], query: dict[str, str] | None = None) -> str:
    return views.list_page(
        summary(),
        hours(),
        {"deliveries": rows, "total": len(rows), "offset": 0, "limit": PAGE_SIZE},
        parse_filters(query or {}),
        "token-1",
        True,
        NOW_ISO,
    )


def test_hostile_values_are_text_never_markup() -> None:
    html = list_html([hostile_row(1), row(2)], {"task_id": SCRIPT})
    page = parse(html)
    assert page.scripts == 1  # the page's own script, nothing injected
    assert not any(tag == "img" for tag, _ in page.tags)
    assert not any(name.startswith("on") for _, attributes in page.tags for name in attributes)
    text = "".join(page.text)
    assert SCRIPT in text  # shown, as text
    assert "Not a Task id: " + SCRIPT in text
    inputs = [
        attrs for tag, attrs in page.tags if tag == "input" and attrs.get("name") == "task_id"
    ]
    assert inputs[0]["value"] == SCRIPT  # echoed into the filter, as a value
    assert "<script>alert(1)</script>" not in html.replace("<script>" + JS, "")


def test_a_hostile_detail_is_text_too() -> None:
    detail = hostile_row(3)
    detail["history"] = [
        {
            "number": 1,
            "phase": SCRIPT,
            "started_at": SCRIPT,
            "status": 503,
            "latency_ms": 3.0,
            "error": SCRIPT,
            "outcome": SCRIPT,
        }
    ]
    html = views.detail_page(summary(), detail, "token-1", True, NOW_ISO)
    page = parse(html)
    assert page.scripts == 1
    assert "".join(page.text).count(SCRIPT) >= 5


def test_the_csp_admits_exactly_the_inline_css_and_js() -> None:
    html = list_html([row(1)])
    style = re.search(r"<style>(.*?)</style>", html, re.S)
    script = re.search(r"<script>(.*?)</script>", html, re.S)
    assert style is not None and script is not None
    for source in (style.group(1), script.group(1)):
        digest = b64encode(sha256(source.encode()).digest()).decode()
        assert "'sha256-" + digest + "'" in CONTENT_SECURITY_POLICY
    assert style.group(1) == CSS and script.group(1) == JS
    assert "default-src 'none'" in CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    # No inline style or handler attribute: the policy would refuse them.
    assert " style=" not in html and " onclick=" not in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html


def test_the_list_shows_each_row_and_the_pager_counts() -> None:
    rows = [row(1), row(2, "failed"), row(3, "pending", attempts=2)]
    html = views.list_page(
        summary(),
        hours(),
        {"deliveries": rows, "total": 120, "offset": 50, "limit": PAGE_SIZE},
        parse_filters({"page": "2", "state": "failed"}),
        "token-1",
        True,
        NOW_ISO,
    )
    page = parse(html)
    states = [
        attrs.get("data-state") for tag, attrs in page.tags if tag == "tr" and "data-state" in attrs
    ]
    assert states == ["delivered", "failed", "pending"]
    text = "".join(page.text)
    assert "51\u20135 of 120" not in text and "51\u201353 of 120" in text
    links = {
        attrs.get("rel"): attrs.get("href")
        for tag, attrs in page.tags
        if tag == "a" and attrs.get("rel")
    }
    assert links == {
        "prev": "./deliveries?state=failed",
        "next": "./deliveries?state=failed&page=3",
    }
    resend = [attrs for tag, attrs in page.tags if attrs.get("data-action") == "resend"]
    assert [attrs["data-webhook-id"] for attrs in resend] == [
        row(2)["webhook_id"],
        row(3)["webhook_id"],
    ]
    bulk = [attrs for tag, attrs in page.tags if attrs.get("data-action") == "resend-failed"]
    assert bulk[0]["data-webhook-ids"] == row(2)["webhook_id"]
    assert "retrying" in text and "Retrying" in text


def test_actions_are_disabled_when_the_plugin_cannot_act() -> None:
    html = views.list_page(
        {},
        hours(),
        {"deliveries": [row(1, "failed")], "total": 1},
        parse_filters({}),
        "",
        False,
        NOW_ISO,
    )
    buttons = [
        attrs for tag, attrs in parse(html).tags if tag == "button" and attrs.get("data-action")
    ]
    assert buttons and all("disabled" in attrs for attrs in buttons)
    assert "Actions are off" in html


def test_the_chart_draws_every_outcome_of_a_busy_hour() -> None:
    svg = hourly_chart(hours(busy_index=100))
    assert svg.count('class="bar-delivered"') == 1
    assert svg.count('class="bar-retried"') == 1
    assert svg.count('class="bar-failed"') == 1
    assert "5 delivered, 2 retried, 1 failed" in svg
    assert "Attempts per hour over the last 7 days: 5 delivered, 2 retried, 1 failed" in svg
    assert svg.count('class="day"') == 7  # one midnight line per day
    assert weekday("2026-11-29T00:00:00Z") == "Sun"
    assert [nice_ceiling(n) for n in (0, 3, 7, 11, 40, 501)] == [5, 5, 10, 20, 50, 1000]


def test_filters_refuse_what_is_not_a_state_a_task_id_or_a_page() -> None:
    good = parse_filters({"state": "failed", "task_id": "abc-1.2", "page": "3"})
    assert (good.state, good.task_id, good.page, good.offset, good.problems) == (
        "failed",
        "abc-1.2",
        3,
        2 * PAGE_SIZE,
        [],
    )
    bad = parse_filters({"state": "gone", "task_id": "a b", "page": "-1"})
    assert (bad.state, bad.task_id, bad.page) == (None, None, 1)
    assert len(bad.problems) == 3
    assert valid_webhook_id("msg_" + "0" * 32)
    assert not valid_webhook_id("../x") and not valid_webhook_id("")


def test_csrf_tokens_are_per_staff_member_and_day() -> None:
    key = csrf_key({"WEBHOOK_SECRET": "whsec_x", "OPERATIONS_API_KEY": "k"})
    assert key is not None
    token = csrf_token(key, "staff-1", NOW)
    assert csrf_valid(key, "staff-1", token, NOW)
    assert csrf_valid(key, "staff-1", token, NOW + 86400)  # a page left open overnight
    assert not csrf_valid(key, "staff-1", token, NOW + 2 * 86400)
    assert not csrf_valid(key, "staff-2", token, NOW)
    assert not csrf_valid(key, "staff-1", None, NOW)
    assert not csrf_valid(key, "staff-1", token[:-1] + ("A" if token[-1] != "A" else "B"), NOW)
    assert not csrf_valid(None, "staff-1", token, NOW)
    other = csrf_key({"WEBHOOK_SECRET": "whsec_y", "OPERATIONS_API_KEY": "k"})
    assert other is not None and not csrf_valid(other, "staff-1", token, NOW)
    assert csrf_key({}) is None
    assert "whsec_x" not in token


def test_the_receiver_pill_says_what_the_summary_knows() -> None:
    def pill(values: dict[str, object]) -> str:
        return views.page_header(values, "./", True)

    assert "receiver: unknown" in pill({})
    assert "receiver: accepting" in pill(summary())
    assert "receiver: circuit open" in pill(summary(breaker_open=True))
    strip = views.summary_strip(
        summary(breaker_open=True, breaker_open_until="2026-11-29T14:05:00Z")
    )
    assert "open until Nov 29 14:05" in strip
