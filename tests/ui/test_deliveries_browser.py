"""The page in headless Chromium (Debian's `chromium`), served by the real runner.

It opens the page with the stand-in staff session, checks the summary and the list against
the outbox (the operations API reads the same rows) and against what the receiver saw,
resends a failed row and sees it delivered, sends a test event, resends the failed rows in
view and sees the next tick deliver them, shows a hostile Task-id filter as text, and saves
screenshots of the list and of a detail view. Any JavaScript console error, page error or
dialog other than the page's own fails it. Screenshots go to the test's temporary folder,
or to $ENRICHED_WEBHOOK_SCREENSHOTS (how docs/screenshots/ are made).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from devtools.outbox_client import api, insert_tasks, tick
from devtools.ui_demo import HOSTILE_ERROR_TEXT
from enriched_webhook.receiver.verifier import Verifier

from .conftest import API_KEY, APPLICATION, Stack, register_application
from .sample_rows import SCRIPT

pytestmark = pytest.mark.runner

CHROMIUM = Path("/usr/bin/chromium")
VIEWPORT = {"width": 1360, "height": 900}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium through Playwright's protocol client; no browser download."""
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "apt-get install chromium (the .ci/run script does)"
    # Playwright's sync API keeps an event loop on this thread; pytest-django's per-test
    # database wrapper (which these tests never use) would otherwise refuse to run.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "1"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True
        )
        yield launched
        launched.close()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


class Watched:
    """A page whose console errors, page errors and unexpected dialogs are recorded."""

    def __init__(self, browser: Any) -> None:
        self.context = browser.new_context(viewport=VIEWPORT)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("dialog", self.on_dialog)

    def on_dialog(self, dialog: Any) -> None:
        self.errors.append("unexpected " + dialog.type + ": " + dialog.message)
        dialog.dismiss()

    def confirm_action(self, button: Any, shot: Path | None = None) -> str:
        """Click an action, confirm it in the page's dialog, return the notice after reload."""
        button.click()
        dialog = self.page.locator("dialog#confirm")
        dialog.wait_for(state="visible")
        if shot is not None:
            self.page.screenshot(path=str(shot))
        # Success reloads the page, which then shows the notice; a refusal shows it at once.
        notice = self.page.locator("#notice")
        assert notice.is_hidden(), "open a fresh page before the next action"
        self.page.click("#confirm-ok")
        notice.wait_for(state="visible")
        return str(notice.text_content())


def shots_dir(tmp_path: Path) -> Path:
    chosen = os.environ.get("ENRICHED_WEBHOOK_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def card_values(page: Any) -> dict[str, str]:
    labels = page.locator("#summary .card .label").all_text_contents()
    values = page.locator("#summary .card .value").all_text_contents()
    return dict(zip(labels, values, strict=True))


def page_rows(page: Any) -> list[tuple[str, str]]:
    rows = page.locator("#deliveries tbody tr")
    return [
        (str(row.get_attribute("data-webhook-id")), str(row.get_attribute("data-state")))
        for row in rows.all()
    ]


def test_send_test_event_delivers_a_signed_ping_the_library_accepts(
    stack: Stack, browser: Any
) -> None:
    watched = Watched(browser)
    page = watched.page
    page.goto(stack.gateway.login_url())
    notice = watched.confirm_action(page.locator("header button[data-action=ping]"))
    ping = re.fullmatch(r"Test event (msg_[0-9a-f]{32}): delivered \(HTTP 204\)\.", notice)
    assert ping is not None, notice
    headers, body = stack.receiver.last_request[ping.group(1)]
    event = Verifier(secrets=[stack.secret]).verify(body, headers)  # Task checks included
    assert json.loads(event.body)["type"] == "ping" and event.is_ping and event.task is None
    stack.made["delivered"] = stack.made["delivered"] + 1  # the ping is a delivered row too
    row = page.locator(f'#deliveries tr[data-webhook-id="{ping.group(1)}"]')
    assert row.get_attribute("data-state") == "delivered"
    assert watched.errors == []
    watched.context.close()


def test_the_page_in_chromium(stack: Stack, browser: Any, tmp_path: Path) -> None:
    gateway, runner, receiver = stack.gateway, stack.runner, stack.receiver
    watched = Watched(browser)
    page = watched.page
    shots = shots_dir(tmp_path)

    response = page.goto(gateway.login_url())
    assert response is not None and response.status == 200
    assert "default-src 'none'" in response.headers["content-security-policy"]
    timing = page.evaluate(
        "() => { const n = performance.getEntriesByType('navigation')[0];"
        " return {bytes: n.decodedBodySize, ms: n.duration}; }"
    )
    print(f"\npage weight {timing['bytes']} bytes, load {timing['ms']:.0f} ms (local runner)")

    # The summary and the list match the outbox (through the operations API) and the receiver.
    status, outbox = api(runner, "GET", "/api/summary", API_KEY)
    assert status == 200
    cards = card_values(page)
    assert (
        cards["Delivered \u00b7 24 h"] == str(outbox["delivered"]) == str(stack.made["delivered"])
    )
    assert cards["Failed \u00b7 24 h"] == str(outbox["failed"]) == str(stack.made["failed"])
    assert cards["Retrying"] == str(outbox["retrying"]) == str(stack.made["retrying"])
    assert sum(receiver.handled.values()) == stack.made["delivered"] + stack.history.delivered
    status, listing = api(runner, "GET", "/api/deliveries", API_KEY, query="limit=50")
    assert status == 200
    expected = [(row["webhook_id"], row["state"]) for row in listing["deliveries"]]
    assert page_rows(page) == expected and len(expected) == 50
    assert page.locator("#range").text_content() == f"1\u201350 of {listing['total']}"
    # The chart: the week's outage is six hours of amber (two retried attempts each).
    titles = page.locator("svg.chart g.hour title").all_text_contents()
    outage = [title for title in titles if title.endswith(": 0 delivered, 2 retried, 0 failed")]
    assert len(outage) == stack.history.outage_hours == 6, titles
    # The receiver answered its refusals with HOSTILE_ERROR_TEXT; the outbox keeps the kind.
    errors = page.locator('#deliveries tr[data-state="failed"] td:nth-child(9)')
    assert errors.all_text_contents() == ["refused by the receiver (http-400)"] * 3
    assert HOSTILE_ERROR_TEXT.decode() not in page.content()
    page.screenshot(path=str(shots / "deliveries-list.png"), full_page=True)

    # Resend one failed row: the receiver now accepts its Task, so it is delivered.
    failed = [webhook_id for webhook_id, state in expected if state == "failed"]
    chosen = failed[0]
    row = page.locator(f'#deliveries tr[data-webhook-id="{chosen}"]')
    notice = watched.confirm_action(
        row.locator("button[data-action=resend]"), shots / "deliveries-confirm.png"
    )
    assert notice == f"Resent {chosen}: delivered (HTTP 204)."
    assert page.locator(f'tr[data-webhook-id="{chosen}"]').get_attribute("data-state") == (
        "delivered"
    )
    assert receiver.handled[chosen] == 1

    # The detail of the resent row: both attempts, the refusal and the delivery.
    page.click(f'a[href$="{chosen}"]')
    page.wait_for_selector("#attempts")
    outcomes = page.locator("#attempts tbody tr td:nth-child(7)").all_text_contents()
    statuses = page.locator("#attempts tbody tr td:nth-child(4)").all_text_contents()
    assert (outcomes, statuses) == (["failed", "delivered"], ["400", "204"])
    page.screenshot(path=str(shots / "deliveries-detail.png"), full_page=True)

    # Resend the failed rows in view: due again now, delivered by the next tick.
    page.goto(gateway.page_url + "?state=failed")
    remaining = [webhook_id for webhook_id, _state in page_rows(page)]
    assert sorted(remaining) == sorted(failed[1:])
    notice = watched.confirm_action(page.locator("button[data-action=resend-failed]"))
    assert notice.startswith(f"{len(remaining)} failed deliveries are due again")
    tick(runner)
    page.goto(gateway.page_url)
    states = dict(page_rows(page))
    assert all(states[webhook_id] == "delivered" for webhook_id in remaining)
    assert all(receiver.handled[webhook_id] == 1 for webhook_id in remaining)
    # No failed delivery left: the app's badge is cleared (0), not left at its old count.
    register_application(runner.database)
    (badge,) = runner.send_event(
        "APPLICATION__GET_NOTIFICATION_BADGE", APPLICATION, {"staff": {"id": "staff-1"}}
    )
    assert badge.payload["data"]["count"] == 0

    # A hostile filter value comes back as text: no script runs, no element is injected.
    page.goto(gateway.page_url + "?task_id=" + SCRIPT.replace("<", "%3C").replace(">", "%3E"))
    assert page.input_value("input[name=task_id]") == SCRIPT
    assert page.locator("p.notice.error").first.text_content() == "Not a Task id: " + SCRIPT
    assert page.locator("script").count() == 1

    # Backfill since yesterday: the two Tasks created then without an event get rows.
    created = datetime.now(UTC) - timedelta(days=1)
    insert_tasks(runner.database, created, 2)
    page.goto(gateway.page_url)
    page.click("header button[data-action=backfill]")
    since = created.strftime("%Y-%m-%d")
    page.fill("#backfill-since", since)
    page.click("#confirm-ok")
    notice = page.locator("#notice")
    notice.wait_for(state="visible")
    assert notice.text_content() == f"Backfill since {since}: 2 Tasks queued for delivery."
    status, listing = api(runner, "GET", "/api/deliveries", API_KEY, query="limit=200")
    assert [row["origin"] for row in listing["deliveries"]].count("backfill") == 2

    assert watched.errors == []
    watched.context.close()
