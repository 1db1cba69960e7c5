"""The outbox at its limits, in the real runner: claims that lapse mid-tick, backfills larger
than one call, and failed Task reads sent again by an operator.

Each of these was a way to send an event twice or never; each test failed before its fix.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from devtools.fault_gate import FORWARD, REFUSE
from devtools.fhir_server import LocalFhirServer
from devtools.outbox_client import api, insert_tasks, tick
from tests.e2e.outbox_support import (
    API_KEY,
    CountingReceiver,
    FaultGate,
    PluginRunner,
    detail,
    distinct_tasks,
    new_whsec,
    outbox_variables,
    rows,
)

pytestmark = pytest.mark.runner


def test_a_row_whose_claim_lapsed_mid_tick_is_sent_by_one_tick_only(
    fhir: LocalFhirServer,
) -> None:
    """A tick claims a batch and sends it one row at a time to a slow receiver (0.7 s each,
    30 rows), longer than a claim lasts (12 s here); a second tick takes the lapsed rows.
    Each row goes out once."""
    secret = new_whsec()
    ids = distinct_tasks(fhir, "lapse", 30)
    with CountingReceiver(secret) as receiver, FaultGate(receiver.port, REFUSE) as gate:
        variables = outbox_variables(
            fhir,
            gate.url,
            secret,
            DELIVERY_CONCURRENCY="1",
            CRON_TIME_BUDGET="50",
            RETRY_TIMEOUTS="1,3",
        )
        with PluginRunner(variables) as runner:
            for task_id in ids:
                runner.send_event("TASK_CREATED", task_id)
            gate.set_mode("delay:0.7")
            time.sleep(1.1)
            first = threading.Thread(target=tick, args=(runner,))
            first.start()
            time.sleep(14)  # past the first tick's claims (RETRY 1+3 s, FHIR 1+2 s, + 5 s)
            tick(runner)
            first.join()
            gate.set_mode(FORWARD)
            listed = rows(runner)
    sends = Counter(arrival.headers["webhook-id"] for arrival in receiver.arrivals)
    assert len(sends) == 30
    assert sends.most_common(1)[0][1] == 1, "a row was sent by both ticks"
    assert {row["state"] for row in listed} == {"delivered"}
    assert set(receiver.handled.values()) == {1}


def test_a_backfill_larger_than_one_call_says_so_and_the_next_call_adds_the_rest(
    fhir: LocalFhirServer, tmp_path: Path
) -> None:
    secret = new_whsec()
    database = tmp_path / "canvas_db.sqlite3"
    now = datetime.now(UTC)
    with CountingReceiver(secret) as receiver:
        url = f"http://127.0.0.1:{receiver.port}/hook"
        variables = outbox_variables(fhir, url, secret, CATCH_UP_HOURS="0")
        with PluginRunner(variables, database=database) as runner:
            older = insert_tasks(database, now - timedelta(days=3), 1500)
            newer = insert_tasks(database, now - timedelta(days=2), 600)
            since = {"since": (now - timedelta(days=4)).strftime("%Y-%m-%dT%H:%M:%SZ")}
            status, first = api(runner, "POST", "/api/backfill", API_KEY, since)
            resume = {"since": first["resume_since"]}
            _, second = api(runner, "POST", "/api/backfill", API_KEY, resume)
            _, third = api(runner, "POST", "/api/backfill", API_KEY, since)
            listed = rows(runner)
    assert status == 200
    assert first["enqueued"] == 2000 and first["complete"] is False
    assert first["resume_since"] == (now - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert second == {"enqueued": 100, "complete": True, "resume_since": None}
    assert third == {"enqueued": 0, "complete": True, "resume_since": None}
    assert sorted(row["task_id"] for row in listed) == sorted(older + newer)
    assert receiver.handled == {}


def test_a_row_whose_task_read_was_refused_is_read_and_sent_after_a_resend(
    fhir: LocalFhirServer,
) -> None:
    secret = new_whsec()
    one, other = distinct_tasks(fhir, "unread", 2)
    with CountingReceiver(secret) as receiver:
        url = f"http://127.0.0.1:{receiver.port}/hook"
        with PluginRunner(outbox_variables(fhir, url, secret)) as runner:
            for task_id in (one, other):
                fhir.script_response("/Task/" + task_id, 403)
                runner.send_event("TASK_CREATED", task_id)
            failed = {row["task_id"]: row for row in rows(runner, state="failed")}
            status, resent = api(
                runner, "POST", f"/api/deliveries/{failed[one]['webhook_id']}/resend", API_KEY
            )
            _, twice = api(
                runner, "POST", f"/api/deliveries/{failed[one]['webhook_id']}/resend", API_KEY
            )
            _, all_failed = api(
                runner, "POST", "/api/resend-failed", API_KEY, {"since": "2026-01-01T00:00:00Z"}
            )
            tick(runner)
            listed = {row["task_id"]: row for row in rows(runner)}
            history = detail(runner, listed[one]["webhook_id"])["history"]
    assert set(failed) == {one, other}
    assert failed[one]["last_error"] == "FHIR API answered 403"
    assert status == 200 and resent["result"] == "read-scheduled"
    assert twice["result"] == "read-scheduled"  # still one read: the row is already due
    assert all_failed == {"resent": 0, "read_again": 1}  # the other one; `one` is reading
    assert {row["state"] for row in listed.values()} == {"delivered"}
    assert set(receiver.handled.values()) == {1} and len(receiver.handled) == 2
    phases = [(entry["phase"], entry["outcome"]) for entry in history]
    assert phases == [("read", "failed"), ("send", "delivered")]


def test_the_summary_counts_outcomes_by_when_they_happened_and_waiting_rows_of_any_age(
    fhir: LocalFhirServer, tmp_path: Path
) -> None:
    """An outage longer than a day keeps its rows in "retrying"; a delivery or failure two
    days ago is not one of the last 24 h (but a failure still counts in total_failed)."""
    secret = new_whsec()
    database = tmp_path / "canvas_db.sqlite3"
    refused, waiting, delivered = distinct_tasks(fhir, "summary", 3)
    with CountingReceiver(secret) as receiver, FaultGate(receiver.port, "status:400") as gate:
        variables = outbox_variables(fhir, gate.url, secret, CATCH_UP_HOURS="0")
        with PluginRunner(variables, database=database) as runner:
            runner.send_event("TASK_CREATED", refused)
            gate.set_mode("status:503")
            runner.send_event("TASK_CREATED", waiting)
            gate.set_mode(FORWARD)
            runner.send_event("TASK_CREATED", delivered)
            _, today = api(runner, "GET", "/api/summary", API_KEY)
            with sqlite3.connect(database) as connection:
                connection.execute(
                    "UPDATE webhookdelivery SET created_at = created_at - 172800,"
                    " delivered_at = delivered_at - 172800"
                )
                connection.execute("UPDATE webhookattempt SET started_at = started_at - 172800")
            _, two_days_on = api(runner, "GET", "/api/summary", API_KEY)
    counts = ("delivered", "failed", "retrying", "total_failed")
    assert {name: today[name] for name in counts} == dict.fromkeys(counts, 1)
    assert {name: two_days_on[name] for name in counts} == {
        "delivered": 0,
        "failed": 0,
        "retrying": 1,
        "total_failed": 1,
    }


def test_a_task_still_not_found_on_its_third_read_ends_failed_as_gone(
    fhir: LocalFhirServer,
) -> None:
    """A 404 is retried (a new Task may not be visible yet), but not for the schedule's three
    days: after the event's read and two more (1 s apart here), the row ends failed."""
    secret = new_whsec()
    (found,) = distinct_tasks(fhir, "found", 1)
    with CountingReceiver(secret) as receiver:
        url = f"http://127.0.0.1:{receiver.port}/hook"
        with PluginRunner(outbox_variables(fhir, url, secret)) as runner:
            runner.send_event("TASK_CREATED", "gone-1")
            runner.send_event("TASK_CREATED", found)
            states = []
            for _ in range(3):
                time.sleep(1.1)
                tick(runner)
                (row,) = rows(runner, task_id="gone-1")
                states.append(row["state"])
            reads = [entry["outcome"] for entry in detail(runner, row["webhook_id"])["history"]]
    assert states == ["reading", "failed", "failed"]
    assert row["last_error"] == "Task not found on 3 reads: gone"
    assert reads == ["retry", "retry", "failed"]
    assert len(receiver.handled) == 1  # the Task that exists was delivered


def test_an_old_row_that_failed_lately_stays_for_the_whole_retention_period(
    fhir: LocalFhirServer, tmp_path: Path
) -> None:
    """Retention counts a failed row from its last attempt, not from its event: an event of
    31 days ago resent and refused yesterday stays visible; once its attempts are old, it goes."""
    secret = new_whsec()
    database = tmp_path / "canvas_db.sqlite3"
    (task_id,) = distinct_tasks(fhir, "retained", 1)
    month = 31 * 86400
    with CountingReceiver(secret) as receiver, FaultGate(receiver.port, "status:400") as gate:
        with PluginRunner(outbox_variables(fhir, gate.url, secret), database=database) as runner:
            runner.send_event("TASK_CREATED", task_id)
            with sqlite3.connect(database) as connection:
                connection.execute(
                    "UPDATE webhookdelivery SET created_at = created_at - ?", (month,)
                )
            tick(runner)
            after_recent_failure = rows(runner)
            with sqlite3.connect(database) as connection:
                connection.execute(
                    "UPDATE webhookattempt SET started_at = started_at - ?", (month,)
                )
            tick(runner)
            after_old_failure = rows(runner)
    assert [row["state"] for row in after_recent_failure] == ["failed"]
    assert after_old_failure == []
    assert receiver.handled == {}
