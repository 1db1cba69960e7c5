"""The page's HTML: summary strip, chart, filtered list, one delivery's detail, the dialog.

Ids, times, states, status codes and error kinds only: nothing of a Task's content or its
patient is on the page, because `operations` returns nothing else. Every value goes
through `markup` (escaped), links are relative (`root`), so the page works under whatever
prefix Canvas mounts it (`/plugin-io/api/<plugin>/app/...`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from .assets import CSS, JS
from .chart import hourly_chart
from .formats import millis, short_when, state_label, status_code, when
from .markup import Html, attr, element, join, text
from .query import Filters

TITLE = "Webhook deliveries"
RESENDABLE = ("failed", "pending")


def document(title: str, content: Html, csrf_token: str, root: str) -> str:
    """The whole page; the inline <style> and <script> are exactly the hashed CSS and JS."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="csrf-token" content="' + attr(csrf_token) + '">'
        '<link rel="icon" href="data:,">'
        "<title>" + text(title) + "</title>"
        "<style>" + CSS + "</style></head>"
        '<body data-root="'
        + attr(root)
        + '"><main>'
        + content
        + "</main>"
        + confirm_dialog()
        + "<script>"
        + JS
        + "</script></body></html>"
    )


def page_header(summary: dict[str, Any], root: str, actions_enabled: bool) -> Html:
    if "breaker_open" not in summary:
        pill = element("span", "receiver: unknown", class_="pill")
    elif summary.get("breaker_open"):
        pill = element("span", "receiver: circuit open", class_="pill open")
    else:
        pill = element("span", "receiver: accepting", class_="pill closed")
    return join(
        [
            Html('<header class="top">'),
            element("h1", element("a", TITLE, href=root + "deliveries")),
            pill,
            action_button(
                "ping",
                "Send test event",
                "Send a test event?",
                "Sends a signed ping event (no Task, no patient data) to the receiver now.",
                actions_enabled,
                css="primary",
            ),
            action_button(
                "backfill",
                "Backfill\u2026",
                "Backfill Tasks",
                "Queues a delivery for every Task created since the date you choose that the "
                "outbox does not hold yet.",
                actions_enabled,
            ),
            Html("</header>"),
        ]
    )


def action_button(
    action: str,
    label: str,
    title: str,
    confirm: str,
    enabled: bool,
    css: str = "",
    **data: str,
) -> Html:
    return element(
        "button",
        label,
        type="button",
        class_=css or None,
        data_action=action,
        data_title=title,
        data_confirm=confirm,
        disabled=not enabled,
        **data,
    )


# The filter's words are the badges' words: `pending` rows show as retrying or queued.
STATE_FILTERS = (
    ("delivered", "delivered"),
    ("pending", "retrying or queued"),
    ("failed", "failed"),
    ("reading", "reading Task"),
)


def card(label: str, value: Html | str, tone: str = "", small: bool = False) -> Html:
    return element(
        "div",
        join(
            [
                element("div", label, class_="label"),
                element("div", value, class_="value small" if small else "value"),
            ]
        ),
        class_="card " + tone if tone else "card",
    )


def summary_strip(summary: dict[str, Any]) -> Html:
    delivered = summary.get("delivered", 0)
    retrying = summary.get("retrying", 0)
    failed = summary.get("failed", 0)
    reading = summary.get("reading", 0)
    latency = millis(summary.get("latency_p50_ms")) + " / " + millis(summary.get("latency_p95_ms"))
    if summary.get("breaker_open"):
        breaker = "open until " + short_when(summary.get("breaker_open_until"))
        breaker_tone = "bad"
    else:
        breaker = "closed"
        breaker_tone = "ok"
    next_retry = summary.get("next_retry_at")
    cards = [
        Html('<section class="cards" aria-label="Last 24 hours" id="summary">'),
        card("Delivered \u00b7 24 h", text(delivered), "ok"),
        card("Retrying", text(retrying), "warn" if retrying else ""),
        card("Failed \u00b7 24 h", text(failed), "bad" if failed else ""),
    ]
    total_failed = summary.get("total_failed", failed)
    if total_failed != failed:  # the app drawer's badge counts these
        cards.append(card("Failed \u00b7 all", text(total_failed), "bad"))
    if reading:
        cards.append(card("Reading Task", text(reading)))
    cards += [
        card("Latency p50 / p95", text(latency), small=True),
        card("Circuit breaker", text(breaker), breaker_tone, small=True),
        card(
            "Next retry",
            text(short_when(next_retry) if next_retry else "none due"),
            small=True,
        ),
        Html("</section>"),
    ]
    return join(cards)


def chart_section(hours: list[dict[str, Any]]) -> Html:
    return join(
        [
            element("h2", "Attempts per hour, last 7 days (UTC)"),
            Html('<div class="chart-box">'),
            hourly_chart(hours),
            Html(
                '<p class="legend"><span class="delivered">delivered</span>'
                '<span class="retried">retried</span><span class="failed">failed</span></p>'
            ),
            Html("</div>"),
        ]
    )


def filters_form(filters: Filters, root: str, failed_ids: list[str], enabled: bool) -> Html:
    options = [element("option", "all states", value="")]
    for state, label in STATE_FILTERS:
        options.append(element("option", label, value=state, selected=filters.state == state))
    resend_all = action_button(
        "resend-failed",
        "Resend failed in view (" + str(len(failed_ids)) + ")",
        "Resend the failed deliveries in view?",
        "Resends the "
        + str(len(failed_ids))
        + " failed deliveries listed below, each with its own webhook-id and a fresh "
        "signature. Receivers deduplicate by webhook-id.",
        enabled and bool(failed_ids),
        css="danger",
        data_webhook_ids=" ".join(failed_ids),
    )
    return join(
        [
            Html('<form class="filters" method="get" action="' + attr(root + "deliveries") + '">'),
            element(
                "label",
                join([text("State"), element("select", join(options), name="state")]),
            ),
            element(
                "label",
                join(
                    [
                        text("Task id"),
                        Html(
                            '<input name="task_id" maxlength="200" placeholder="any Task" value="'
                            + attr(filters.typed_task_id)
                            + '">'
                        ),
                    ]
                ),
            ),
            element("button", "Filter", type="submit"),
            element("a", "Clear", href=root + "deliveries", class_="button"),
            Html('<span class="spacer"></span>'),
            resend_all,
            Html("</form>"),
        ]
    )


def detail_href(root: str, webhook_id: object) -> str:
    return root + "deliveries/" + quote(str(webhook_id), safe="")


def resend_button(row: dict[str, Any], enabled: bool) -> Html:
    if row.get("state") not in RESENDABLE:
        return Html("")
    webhook_id = str(row.get("webhook_id"))
    return action_button(
        "resend",
        "Resend",
        "Resend " + webhook_id + "?",
        "Sends this delivery again now: same webhook-id and body, a fresh signature. "
        "Resending twice makes one more attempt, not two.",
        enabled,
        css="small",
        data_webhook_id=webhook_id,
    )


def badge(row: dict[str, Any]) -> Html:
    label = state_label(row.get("state"), row.get("attempts"))
    return element("span", label, class_="badge " + label)


def list_section(
    listing: dict[str, Any], filters: Filters, root: str, actions_enabled: bool
) -> Html:
    rows: list[dict[str, Any]] = list(listing.get("deliveries") or [])
    total = listing.get("total") or 0
    failed_ids = [str(row.get("webhook_id")) for row in rows if row.get("state") == "failed"]
    parts = [element("h2", "Deliveries"), filters_form(filters, root, failed_ids, actions_enabled)]
    for problem in filters.problems:
        parts.append(element("p", problem, class_="notice error", role="alert"))
    if not rows:
        parts.append(element("p", "No deliveries match this view.", class_="empty"))
        return join(parts)
    head = (
        "<thead><tr><th>Time</th><th>Event</th><th>Task id</th><th>webhook-id</th>"
        '<th>State</th><th class="num">Attempts</th><th class="num">Last status</th>'
        '<th class="num">Latency</th><th>Error</th><th></th></tr></thead>'
    )
    body = []
    for row in rows:
        body.append(
            element(
                "tr",
                join(
                    [
                        element(
                            "td", short_when(row.get("created_at")), title=row.get("created_at")
                        ),
                        element("td", text(row.get("type") or row.get("event")), class_="mono"),
                        element("td", text(row.get("task_id")), class_="mono"),
                        element(
                            "td",
                            element(
                                "a",
                                text(row.get("webhook_id")),
                                href=detail_href(root, row.get("webhook_id")),
                            ),
                            class_="mono",
                        ),
                        element("td", badge(row)),
                        element("td", text(row.get("attempts")), class_="num"),
                        element("td", status_code(row.get("last_status")), class_="num"),
                        element("td", millis(row.get("last_latency_ms")), class_="num"),
                        element("td", text(row.get("last_error") or ""), class_="mono"),
                        element("td", resend_button(row, actions_enabled)),
                    ]
                ),
                data_webhook_id=row.get("webhook_id"),
                data_state=row.get("state"),
            )
        )
    parts.append(
        join(
            [
                Html('<div class="table-wrap"><table id="deliveries">' + head + "<tbody>"),
                *body,
                Html("</tbody></table></div>"),
            ]
        )
    )
    parts.append(pager(filters, total if isinstance(total, int) else 0, len(rows), root))
    return join(parts)


def pager(filters: Filters, total: int, shown: int, root: str) -> Html:
    first = filters.offset + 1
    last = filters.offset + shown
    parts = [
        element(
            "span",
            str(first) + "\u2013" + str(last) + " of " + str(total),
            class_="muted",
            id="range",
        )
    ]
    if filters.page > 1:
        parts.append(
            element(
                "a", "\u2190 Newer", href=list_href(root, filters, filters.page - 1), rel="prev"
            )
        )
    if last < total:
        parts.append(
            element(
                "a", "Older \u2192", href=list_href(root, filters, filters.page + 1), rel="next"
            )
        )
    return element("nav", join(parts), class_="pager", aria_label="Pages")


def list_href(root: str, filters: Filters, page: int) -> str:
    query = urlencode(filters.query(page))
    return root + "deliveries" + ("?" + query if query else "")


def detail_section(detail: dict[str, Any], root: str, actions_enabled: bool) -> Html:
    facts = [
        ("webhook-id", element("span", text(detail.get("webhook_id")), class_="mono")),
        ("State", badge(detail)),
        ("Event", element("span", text(detail.get("type") or detail.get("event")), class_="mono")),
        ("Task id", element("span", text(detail.get("task_id")), class_="mono")),
        ("Origin", text(detail.get("origin"))),
        ("Event number", text(detail.get("event_number"))),
        ("Created", text(when(detail.get("created_at")))),
        ("Delivered", text(when(detail.get("delivered_at")))),
        ("Attempts", text(detail.get("attempts"))),
        ("Last status", text(status_code(detail.get("last_status")))),
        ("Last error", element("span", text(detail.get("last_error") or "\u2014"), class_="mono")),
        ("Last latency", text(millis(detail.get("last_latency_ms")))),
        ("Next attempt", text(when(detail.get("next_attempt_at")))),
    ]
    rows = join([join([element("dt", label), element("dd", value)]) for label, value in facts])
    attempts: list[dict[str, Any]] = list(detail.get("history") or [])
    parts = [
        element("p", element("a", "\u2190 All deliveries", href=root + "deliveries")),
        element(
            "h2",
            join(
                [text("Delivery "), element("span", text(detail.get("webhook_id")), class_="mono")]
            ),
        ),
        element("dl", rows, class_="facts", id="facts"),
        resend_button(detail, actions_enabled),
        element("h2", "Attempts"),
    ]
    if not attempts:
        parts.append(element("p", "No attempt yet.", class_="empty"))
    else:
        head = (
            '<thead><tr><th class="num">#</th><th>Phase</th><th>Time</th>'
            '<th class="num">Status</th><th class="num">Latency</th><th>Error</th>'
            "<th>Outcome</th></tr></thead>"
        )
        body = []
        for attempt in attempts:
            outcome = str(attempt.get("outcome") or "")
            tone = {"delivered": "delivered", "retry": "retrying", "failed": "failed"}.get(
                outcome, "unknown"
            )
            body.append(
                element(
                    "tr",
                    join(
                        [
                            element("td", text(attempt.get("number")), class_="num"),
                            element("td", text(attempt.get("phase"))),
                            element("td", when(attempt.get("started_at"))),
                            element("td", status_code(attempt.get("status")), class_="num"),
                            element("td", millis(attempt.get("latency_ms")), class_="num"),
                            element("td", text(attempt.get("error") or "\u2014"), class_="mono"),
                            element(
                                "td", element("span", outcome or "\u2014", class_="badge " + tone)
                            ),
                        ]
                    ),
                )
            )
        parts.append(
            join(
                [
                    Html('<div class="table-wrap"><table id="attempts">' + head + "<tbody>"),
                    *body,
                    Html("</tbody></table></div>"),
                ]
            )
        )
    if detail.get("next_attempt_at") and detail.get("state") == "pending":
        parts.append(
            element(
                "p",
                "Next attempt at " + when(detail.get("next_attempt_at")) + " UTC.",
                class_="muted",
            )
        )
    return join(parts)


def notice_area() -> Html:
    return Html('<p id="notice" class="notice" role="status" hidden></p>')


def footer(now_iso: str) -> Html:
    return element(
        "footer",
        "Times are UTC. Ids, times, states and status codes only: no Task content. "
        "Rendered " + when(now_iso) + ".",
    )


def confirm_dialog() -> Html:
    return Html(
        '<dialog id="confirm" aria-labelledby="confirm-title">'
        '<h3 id="confirm-title"></h3><p id="confirm-text"></p>'
        '<label id="backfill-field" hidden>Tasks created since (UTC) '
        '<input type="date" id="backfill-since"></label>'
        '<div class="buttons"><button type="button" id="confirm-cancel">Cancel</button>'
        '<button type="button" class="primary" id="confirm-ok">Confirm</button></div>'
        "</dialog>"
    )


def configuration_warning(actions_enabled: bool) -> Html:
    if actions_enabled:
        return Html("")
    return element(
        "p",
        "Actions are off: the plugin's configuration is incomplete (see the runner log for "
        "the variable to set).",
        class_="notice error",
    )


def list_page(
    summary: dict[str, Any],
    hours: list[dict[str, Any]],
    listing: dict[str, Any],
    filters: Filters,
    csrf_token: str,
    actions_enabled: bool,
    now_iso: str,
) -> str:
    root = "./"
    content = join(
        [
            page_header(summary, root, actions_enabled),
            notice_area(),
            configuration_warning(actions_enabled),
            summary_strip(summary),
            chart_section(hours),
            list_section(listing, filters, root, actions_enabled),
            footer(now_iso),
        ]
    )
    return document(TITLE, content, csrf_token, root)


def detail_page(
    summary: dict[str, Any],
    detail: dict[str, Any] | None,
    csrf_token: str,
    actions_enabled: bool,
    now_iso: str,
) -> str:
    root = "../"
    if detail is None:
        body = join(
            [
                element("p", element("a", "\u2190 All deliveries", href=root + "deliveries")),
                element("p", "No delivery with this webhook-id.", class_="empty"),
            ]
        )
        title = TITLE
    else:
        body = detail_section(detail, root, actions_enabled)
        title = str(detail.get("webhook_id")) + " \u00b7 " + TITLE
    content = join(
        [
            page_header(summary, root, actions_enabled),
            notice_area(),
            configuration_warning(actions_enabled),
            body,
            footer(now_iso),
        ]
    )
    return document(title, content, csrf_token, root)
