"""The "Webhook deliveries" page in Canvas: the app drawer entry, its badge, its routes.

`DeliveriesApplication` opens the page from Canvas's app drawer and shows the number of
failed deliveries on its icon. `DeliveriesPage` serves the page and its actions through
the plugin's SimpleAPI under `/app/...` (Canvas: `/plugin-io/api/<plugin>/app/...`), only
to a logged-in staff session (`StaffSessionAuthMixin`: Canvas turns the session cookie into
`canvas-logged-in-user-*` headers; without them every route answers 401). POST actions also
need the page's CSRF token (`plugin/page/csrf.py` says why a token). The data comes from
`plugin.outbox.operations`, the same functions the JSON operations API uses.
"""

from __future__ import annotations

import json
import time
from http import HTTPStatus
from typing import Any

from canvas_sdk.effects import Effect
from canvas_sdk.effects.launch_modal import LaunchModalEffect
from canvas_sdk.effects.simple_api import HTMLResponse, JSONResponse, Response
from canvas_sdk.handlers.application import Application
from canvas_sdk.handlers.simple_api import SimpleAPI, StaffSessionAuthMixin, api
from logger import log

from ..plugin.config import PluginSettings, load_settings
from ..plugin.config_errors import ConfigError
from ..plugin.outbox import operations
from ..plugin.page import views
from ..plugin.page.assets import PAGE_HEADERS
from ..plugin.page.csrf import HEADER as CSRF_HEADER
from ..plugin.page.csrf import csrf_key, csrf_token, csrf_valid
from ..plugin.page.query import PAGE_SIZE, parse_filters, valid_webhook_id

# The package's name is the plugin's name, also after `bundle --prefix` renames it.
PLUGIN_NAME = __name__.split(".")[0]
PAGE_PATH = "/app/deliveries"
LOG_PREFIX = "enriched-webhook page"
MAX_IDS_PER_ACTION = 50


def page_url() -> str:
    """Where Canvas serves the page: relative, so the browser stays on the Canvas origin."""
    return "/plugin-io/api/" + PLUGIN_NAME + PAGE_PATH


def iso_now(now: float) -> str:
    return str(operations.iso(now))


class DeliveriesApplication(Application):
    """The app drawer entry: opens the page; its badge counts failed deliveries."""

    def on_open(self) -> Effect:
        return LaunchModalEffect(
            url=page_url(),
            target=LaunchModalEffect.TargetType.PAGE,
            title="Webhook deliveries",
        ).apply()

    def compute_notification_badge(self) -> int | None:
        """Failed deliveries, all time (0 clears the badge); None if the outbox cannot say."""
        try:
            # One count query: the badge is asked for often, the full summary is not needed.
            return operations.failed_total()
        except Exception as error:
            log.error(LOG_PREFIX + " badge outcome=error reason=" + type(error).__name__)
            return None


class DeliveriesPage(StaffSessionAuthMixin, SimpleAPI):
    """GET the list and a delivery; POST resend, resend-failed, ping and backfill."""

    PREFIX = "/app"

    # --- pages -------------------------------------------------------------------------

    @api.get("/deliveries")
    def list_view(self) -> list[Response | Effect]:
        now = time.time()
        settings = self.settings()
        filters = parse_filters(self.request.query_params)
        listing = operations.list_deliveries(
            state=filters.state,
            task_id=filters.task_id,
            limit=PAGE_SIZE,
            offset=filters.offset,
        )
        html = views.list_page(
            operations.summary(settings, now) if settings is not None else {},
            operations.hourly(now, days=7),
            listing,
            filters,
            self.page_token(now),
            self.actions_enabled(settings),
            iso_now(now),
        )
        return [HTMLResponse(html, headers=PAGE_HEADERS)]

    @api.get("/deliveries/<webhook_id>")
    def detail_view(self) -> list[Response | Effect]:
        now = time.time()
        settings = self.settings()
        webhook_id = self.request.path_params.get("webhook_id")
        detail = operations.delivery_detail(webhook_id) if valid_webhook_id(webhook_id) else None
        html = views.detail_page(
            operations.breaker_state(settings) if settings is not None else {},
            detail,
            self.page_token(now),
            self.actions_enabled(settings),
            iso_now(now),
        )
        status = HTTPStatus.OK if detail is not None else HTTPStatus.NOT_FOUND
        return [HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)]

    # --- actions -------------------------------------------------------------------------

    @api.post("/actions/resend")
    def resend_action(self) -> list[Response | Effect]:
        checked = self.checked_action("resend")
        if isinstance(checked, Response):
            return [checked]
        settings, payload, now = checked
        webhook_id = payload.get("webhook_id")
        if not valid_webhook_id(webhook_id):
            return [refusal(HTTPStatus.BAD_REQUEST, "webhook_id is missing or malformed.")]
        result = operations.resend(settings, str(webhook_id), now)
        self.log_action("resend", "webhook_id=" + str(webhook_id) + describe(result))
        return [
            JSONResponse({"message": resend_message(str(webhook_id), result), "result": result})
        ]

    @api.post("/actions/resend-failed")
    def resend_failed_action(self) -> list[Response | Effect]:
        checked = self.checked_action("resend-failed")
        if isinstance(checked, Response):
            return [checked]
        settings, payload, now = checked
        ids = payload.get("webhook_ids")
        if (
            not isinstance(ids, list)
            or not ids
            or len(ids) > MAX_IDS_PER_ACTION
            or not all(valid_webhook_id(item) for item in ids)
        ):
            return [
                refusal(
                    HTTPStatus.BAD_REQUEST,
                    "webhook_ids must list 1 to " + str(MAX_IDS_PER_ACTION) + " webhook-ids.",
                )
            ]
        result = operations.resend_failed(
            settings, 0.0, now, webhook_ids=[str(item) for item in ids]
        )
        resent = result.get("resent")
        self.log_action("resend-failed", "asked=" + str(len(ids)) + " resent=" + str(resent))
        message = (
            str(resent)
            + " failed deliveries are due again: the outbox sends them on its next tick "
            "(within a minute), each with a fresh signature."
        )
        return [JSONResponse({"message": message, "result": result})]

    @api.post("/actions/ping")
    def ping_action(self) -> list[Response | Effect]:
        checked = self.checked_action("ping")
        if isinstance(checked, Response):
            return [checked]
        settings, _payload, now = checked
        result: dict[str, Any] = operations.send_ping(settings, now)
        self.log_action("ping", "webhook_id=" + str(result.get("webhook_id")) + describe(result))
        message = (
            "Test event "
            + str(result.get("webhook_id"))
            + (" (sent seconds ago, not sent again)" if result.get("result") == "just-sent" else "")
            + ": "
            + str(result.get("state"))
            + status_note(result.get("status"))
            + "."
        )
        return [JSONResponse({"message": message, "result": result})]

    @api.post("/actions/backfill")
    def backfill_action(self) -> list[Response | Effect]:
        checked = self.checked_action("backfill")
        if isinstance(checked, Response):
            return [checked]
        settings, payload, now = checked
        since = parse_day(payload.get("since"))
        if since is None or since > now:
            return [refusal(HTTPStatus.BAD_REQUEST, "since must be a past date (YYYY-MM-DD).")]
        result = operations.backfill(settings, since, now)
        enqueued = result.get("enqueued")
        self.log_action("backfill", "since=" + iso_now(since) + " enqueued=" + str(enqueued))
        message = (
            "Backfill since "
            + iso_now(since)[:10]
            + ": "
            + str(enqueued)
            + " Tasks queued for delivery."
        )
        if not result.get("complete", True):
            message = (
                message
                + " More remain: run Backfill again from "
                + str(result.get("resume_since") or "")[:10]
                + " (Tasks already queued are skipped)."
            )
        return [JSONResponse({"message": message, "result": result})]

    # --- shared checks -----------------------------------------------------------------

    def staff_id(self) -> str:
        return str(self.request.headers.get("canvas-logged-in-user-id") or "")

    def page_token(self, now: float) -> str:
        key = csrf_key(self.secrets)
        return csrf_token(key, self.staff_id(), now) if key is not None else ""

    def settings(self) -> PluginSettings | None:
        try:
            return load_settings(self.secrets, self.environment)
        except ConfigError:
            return None

    def actions_enabled(self, settings: PluginSettings | None) -> bool:
        return settings is not None and csrf_key(self.secrets) is not None

    def checked_action(
        self, action: str
    ) -> Response | tuple[PluginSettings, dict[str, Any], float]:
        """The CSRF proof, a JSON object body and valid settings, or the refusal to return."""
        now = time.time()
        token = self.request.headers.get(CSRF_HEADER)
        if not csrf_valid(csrf_key(self.secrets), self.staff_id(), token, now):
            self.log_action(action, "outcome=refused reason=csrf")
            return refusal(
                HTTPStatus.FORBIDDEN,
                "The page's security token is missing or expired: reload the page and try again.",
            )
        content_type = (self.request.headers.get("Content-Type") or "").split(";")[0].strip()
        try:
            payload = json.loads(self.request.body or b"{}")
        except ValueError:
            payload = None
        if content_type != "application/json" or not isinstance(payload, dict):
            return refusal(HTTPStatus.BAD_REQUEST, "The action needs a JSON object body.")
        try:
            settings = load_settings(self.secrets, self.environment)
        except ConfigError as error:
            self.log_action(action, "outcome=refused reason=config variable=" + error.variable)
            return refusal(
                HTTPStatus.CONFLICT,
                "The plugin's configuration is incomplete (" + error.variable + "): nothing sent.",
            )
        return settings, payload, now

    def log_action(self, action: str, details: str) -> None:
        log.info(LOG_PREFIX + " action=" + action + " staff=" + self.staff_id() + " " + details)


def refusal(status: HTTPStatus, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=status)


def describe(result: dict[str, Any]) -> str:
    return (
        " result="
        + str(result.get("result"))
        + " state="
        + str(result.get("state"))
        + " status="
        + str(result.get("status"))
    )


def status_note(status: object) -> str:
    if isinstance(status, int) and not isinstance(status, bool):
        return " (HTTP " + str(status) + ")"
    return ""


RESEND_OUTCOMES = {
    "already-delivered": "is already delivered: nothing to resend.",
    "read-scheduled": "has no Task read yet: the Task is read again, and sent, on the next tick.",
    "just-resent": "was resent seconds ago: not attempted again.",
    "in-progress": "is being attempted right now: not attempted twice.",
}


def resend_message(webhook_id: str, result: dict[str, Any]) -> str:
    """What the staff member is told; `operations.resend` says what happened."""
    outcome = str(result.get("result"))
    if outcome in RESEND_OUTCOMES:
        return webhook_id + " " + RESEND_OUTCOMES[outcome]
    state = str(result.get("state"))
    message = "Resent " + webhook_id + ": " + state + status_note(result.get("status"))
    error = result.get("error")
    if state != "delivered" and error:
        message += ", " + str(error)
    if state == "pending":
        message += "; it stays in the retry schedule"
    return message + "."


def parse_day(value: object) -> float | None:
    """`YYYY-MM-DD` (a date input's value) as the Unix time of that day's start, UTC."""
    if not isinstance(value, str) or len(value) != 10 or value[4] != "-" or value[7] != "-":
        return None
    try:
        return operations.parse_time(value)
    except ValueError:
        return None
