"""The operations API: list and inspect deliveries, resend, backfill (JSON, API key).

Authenticated by Canvas's APIKeyAuthMixin against the sensitive OPERATIONS_API_KEY
variable (constant-time compare, `Authorization: <key>`). An unset or short key refuses
every request: an open API over delivery records is not a default anyone wants.
Responses carry ids, times, states and status codes only (see `plugin.outbox.operations`).
"""

from __future__ import annotations

import time
from http import HTTPStatus
from typing import Any, Callable  # noqa: UP035 - the sandbox allows typing, not collections.abc

from canvas_sdk.effects import Effect
from canvas_sdk.effects.simple_api import JSONResponse, Response
from canvas_sdk.handlers.simple_api import APIKeyAuthMixin, APIKeyCredentials, SimpleAPI, api
from canvas_sdk.handlers.simple_api.exceptions import InvalidCredentialsError
from logger import log

from ..models.outbox import STATES
from ..plugin.config import PluginSettings, load_settings
from ..plugin.config_errors import ConfigError
from ..plugin.outbox import operations
from ..plugin.task_webhook import LOG_PREFIX

MIN_API_KEY_CHARS = 16


def _error(status: HTTPStatus, message: str) -> list[Response | Effect]:
    return [JSONResponse({"error": message}, status_code=status)]


class OperationsApi(APIKeyAuthMixin, SimpleAPI):
    """/api/...: the outbox for operators and scripts."""

    PREFIX = "/api"
    API_KEY_SECRET_NAME = "OPERATIONS_API_KEY"  # noqa: S105 - a variable name

    def authenticate(self, credentials: APIKeyCredentials) -> bool:
        configured = self.secrets.get(self.API_KEY_SECRET_NAME) or ""
        if not isinstance(configured, str) or len(configured.strip()) < MIN_API_KEY_CHARS:
            log.error(
                LOG_PREFIX + ' route=/api outcome=refused reason="OPERATIONS_API_KEY is unset'
                " or shorter than " + str(MIN_API_KEY_CHARS) + ' characters"'
            )
            raise InvalidCredentialsError
        return bool(super().authenticate(credentials))

    def _settings(self) -> PluginSettings | None:
        try:
            return load_settings(self.secrets, self.environment)
        except ConfigError as error:
            log.error(LOG_PREFIX + ' route=/api outcome=config-error reason="' + str(error) + '"')
            return None

    def _since(self) -> tuple[float | None, str]:
        try:
            body: Any = self.request.json() if self.request.body else {}
        except ValueError:
            return None, "the body is not JSON"
        text = body.get("since") if isinstance(body, dict) else None
        if not isinstance(text, str):
            return None, "since (an ISO 8601 date-time) is required"
        try:
            return operations.parse_time(text), ""
        except ValueError:
            return None, "since is not an ISO 8601 date-time"

    @api.get("/deliveries")
    def list_deliveries(self) -> list[Response | Effect]:
        query = self.request.query_params
        state = query.get("state") or None
        if state is not None and state not in STATES:
            return _error(HTTPStatus.BAD_REQUEST, "state must be one of " + ", ".join(STATES))
        try:
            since = operations.parse_time(query["since"]) if query.get("since") else None
            until = operations.parse_time(query["until"]) if query.get("until") else None
            limit = int(query.get("limit") or 50)
            offset = int(query.get("offset") or 0)
        except ValueError:
            return _error(
                HTTPStatus.BAD_REQUEST, "since/until must be ISO 8601, limit/offset integers"
            )
        page = operations.list_deliveries(
            state, query.get("task_id") or None, since, until, limit, offset
        )
        return [JSONResponse(page)]

    @api.get("/deliveries/<webhook_id>")
    def delivery(self) -> list[Response | Effect]:
        detail = operations.delivery_detail(self.request.path_params["webhook_id"])
        if detail is None:
            return _error(HTTPStatus.NOT_FOUND, "no such delivery")
        return [JSONResponse(detail)]

    @api.post("/deliveries/<webhook_id>/resend")
    def resend(self) -> list[Response | Effect]:
        settings = self._settings()
        if settings is None:
            return _error(HTTPStatus.SERVICE_UNAVAILABLE, "the plugin's configuration is invalid")
        result = operations.resend(settings, self.request.path_params["webhook_id"], time.time())
        status = {"not-found": HTTPStatus.NOT_FOUND, "already-delivered": HTTPStatus.CONFLICT}
        return [JSONResponse(result, status_code=status.get(result["result"], HTTPStatus.OK))]

    def _since_action(
        self, action: Callable[[PluginSettings, float, float], dict[str, Any]]
    ) -> list[Response | Effect]:
        """A POST whose body is {"since": ISO time}: resend-failed and backfill."""
        settings = self._settings()
        if settings is None:
            return _error(HTTPStatus.SERVICE_UNAVAILABLE, "the plugin's configuration is invalid")
        since, problem = self._since()
        if since is None:
            return _error(HTTPStatus.BAD_REQUEST, problem)
        return [JSONResponse(action(settings, since, time.time()))]

    @api.post("/resend-failed")
    def resend_failed(self) -> list[Response | Effect]:
        return self._since_action(operations.resend_failed)

    @api.post("/backfill")
    def backfill(self) -> list[Response | Effect]:
        return self._since_action(operations.backfill)

    @api.post("/ping")
    def ping(self) -> list[Response | Effect]:
        settings = self._settings()
        if settings is None:
            return _error(HTTPStatus.SERVICE_UNAVAILABLE, "the plugin's configuration is invalid")
        return [JSONResponse(operations.send_ping(settings, time.time()))]

    @api.get("/summary")
    def summary(self) -> list[Response | Effect]:
        settings = self._settings()
        if settings is None:
            return _error(HTTPStatus.SERVICE_UNAVAILABLE, "the plugin's configuration is invalid")
        return [JSONResponse(operations.summary(settings, time.time()))]
