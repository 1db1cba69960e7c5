"""The outbox's promises, in the real runner with real HTTP (issue 10's proof).

CRON events are sent to the runner as Canvas sends them; the retry schedule, timeouts
and breaker threshold are shortened through the plugin's own variables. The receiver is
the library's reference receiver behind a fault gate that refuses, blackholes or answers
for it while it is "down".
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import signal
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest

from devtools.fault_gate import BLACKHOLE, FORWARD, REFUSE
from devtools.fhir_server import TOKEN_PATH, LocalFhirServer
from devtools.outbox_client import api, insert_tasks, tick
from enriched_webhook.verify import Verifier
from tests.e2e.outbox_support import (
    API_KEY,
    BASE_TASK,
    CountingReceiver,
    FaultGate,
    PluginRunner,
    detail,
    distinct_tasks,
    new_whsec,
    outbox_variables,
    rows,
    until,
)

pytestmark = pytest.mark.runner


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def serve_task(fhir: LocalFhirServer, task_id: str) -> None:
    task = copy.deepcopy(BASE_TASK.task)
    task["id"] = task_id
    fhir.add_task(task)


def quiet_tick(runner: PluginRunner) -> None:
    """A tick whose runner may be killed under it."""
    try:
        tick(runner)
    except Exception:  # noqa: S110 - the kill is the point
        pass


def pause_then_tick(runner: PluginRunner) -> None:
    """Wait out the killed runner's claims (FIRST/RETRY/FHIR timeouts + 5 s), then tick."""
    time.sleep(2)
    tick(runner)


def test_a_receiver_outage_loses_nothing_and_delivers_each_event_once(
    fhir: LocalFhirServer,
) -> None:
    """200 Tasks created while the receiver refuses, then blackholes, then answers 503."""
    secret = new_whsec()
    ids = distinct_tasks(fhir, "outage", 200)
    with CountingReceiver(secret) as receiver, FaultGate(receiver.port, REFUSE) as gate:
        variables = outbox_variables(fhir, gate.url, secret)
        with PluginRunner(variables) as runner:
            for mode, chunk in (
                (REFUSE, ids[:70]),
                (BLACKHOLE, ids[70:140]),
                ("status:503", ids[140:]),
            ):
                gate.set_mode(mode)
                for task_id in chunk:
                    assert runner.send_event("TASK_CREATED", task_id) == []
                tick(runner)
            assert receiver.handled == {}
            log = runner.log_text()
            # After BREAKER_THRESHOLD failures the breaker opened: later events were only stored.
            assert log.count("outcome=stored ") >= 190
            gate.set_mode(FORWARD)
            back_at = time.time()
            ticks = until(lambda: len(receiver.handled) == 200, lambda: tick(runner), 6)
            listed = rows(runner)
        log = runner.log_text()
    assert ticks <= 3
    assert len(listed) == 200 and {row["state"] for row in listed} == {"delivered"}
    assert sorted(row["task_id"] for row in listed) == sorted(ids)
    assert set(receiver.handled.values()) == {1}, "each event handled exactly once"
    assert receiver.verify_all_with_standardwebhooks() == len(receiver.arrivals) >= 200
    # Every delivered request was signed when it was sent, not when the event happened.
    assert min(int(a.headers["webhook-timestamp"]) for a in receiver.arrivals) >= int(back_at) - 1
    assert "Traceback" not in log


def test_attempts_follow_the_retry_schedule_then_the_row_fails_and_stays_visible(
    fhir: LocalFhirServer,
) -> None:
    secret = new_whsec()
    (task_id,) = distinct_tasks(fhir, "schedule", 1)
    with CountingReceiver(secret) as receiver, FaultGate(receiver.port, "status:503") as gate:
        variables = outbox_variables(
            fhir, gate.url, secret, RETRY_SCHEDULE="1,2,3", BREAKER_THRESHOLD="100"
        )
        with PluginRunner(variables) as runner:
            runner.send_event("TASK_CREATED", task_id)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                tick(runner)
                (row,) = rows(runner)
                if row["state"] == "failed":
                    break
                time.sleep(0.25)
            found = detail(runner, row["webhook_id"])
    sends = [a for a in found["history"] if a["phase"] == "send"]
    assert found["state"] == "failed" and len(sends) == 4
    assert found["last_error"] == "retries exhausted (http-503)"
    assert [a["outcome"] for a in sends] == ["retry", "retry", "retry", "failed"]
    starts = [time.mktime(time.strptime(a["started_at"], "%Y-%m-%dT%H:%M:%SZ")) for a in sends]
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    # Whole seconds on both sides: a gap can read one second short of its schedule entry.
    assert [gap >= wait - 1 for gap, wait in zip(gaps, (1, 2, 3), strict=True)] == [True] * 3
    assert receiver.handled == {}


def test_token_endpoint_and_fhir_down_for_the_first_events_then_all_delivered(
    fhir: LocalFhirServer,
) -> None:
    secret = new_whsec()
    ids = distinct_tasks(fhir, "fhir-down", 12)
    with CountingReceiver(secret) as receiver:
        url = f"http://127.0.0.1:{receiver.port}/hook"
        fhir.revoke_tokens()
        with PluginRunner(outbox_variables(fhir, url, secret)) as runner:
            for _ in range(4):
                fhir.script_response(TOKEN_PATH, 503)
            for task_id in ids[4:8]:
                fhir.script_response("/Task/" + task_id, 502)
            for task_id in ids:
                runner.send_event("TASK_CREATED", task_id)
            reading = [row for row in rows(runner) if row["state"] == "reading"]
            time.sleep(1.1)  # the first re-read is due after RETRY_SCHEDULE's first entry
            until(lambda: len(receiver.handled) == 12, lambda: tick(runner), 4)
            listed = rows(runner)
    assert len(reading) == 8
    assert {row["state"] for row in listed} == {"delivered"} and len(listed) == 12
    assert set(receiver.handled.values()) == {1}


def test_overlapping_and_doubled_cron_ticks_never_send_an_attempt_twice(
    fhir: LocalFhirServer,
) -> None:
    secret = new_whsec()
    ids = distinct_tasks(fhir, "overlap", 40)
    with CountingReceiver(secret) as receiver, FaultGate(receiver.port, REFUSE) as gate:
        with PluginRunner(outbox_variables(fhir, gate.url, secret)) as runner:
            for task_id in ids:
                runner.send_event("TASK_CREATED", task_id)
            gate.set_mode(FORWARD)
            time.sleep(1.1)
            # Three ticks for the same minute at once, then two more at once.
            for wave in (3, 2):
                threads = [threading.Thread(target=tick, args=(runner,)) for _ in range(wave)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
            until(lambda: len(receiver.handled) == 40, lambda: tick(runner), 3)
            details = [detail(runner, row["webhook_id"]) for row in rows(runner)]
    arrivals_per_id: dict[str, int] = {}
    for arrival in receiver.arrivals:
        key = arrival.headers["webhook-id"]
        arrivals_per_id[key] = arrivals_per_id.get(key, 0) + 1
    assert set(arrivals_per_id.values()) == {1}, "no attempt reached the receiver twice"
    for found in details:
        numbers = [a["number"] for a in found["history"] if a["phase"] == "send"]
        assert numbers == sorted(set(numbers))  # each attempt number recorded once
        assert found["state"] == "delivered"


def test_a_400_fails_the_row_after_one_attempt_and_a_resend_delivers_it(
    fhir: LocalFhirServer,
) -> None:
    secret = new_whsec()
    (task_id,) = distinct_tasks(fhir, "refused", 1)
    with CountingReceiver(secret) as receiver, FaultGate(receiver.port, "status:400") as gate:
        with PluginRunner(outbox_variables(fhir, gate.url, secret)) as runner:
            runner.send_event("TASK_CREATED", task_id)
            tick(runner)
            (failed,) = rows(runner)
            gate.set_mode(FORWARD)
            status, resent = api(
                runner, "POST", f"/api/deliveries/{failed['webhook_id']}/resend", API_KEY
            )
            again_status, again = api(
                runner, "POST", f"/api/deliveries/{failed['webhook_id']}/resend", API_KEY
            )
            after = detail(runner, failed["webhook_id"])
    assert failed["state"] == "failed" and failed["attempts"] == 1 and failed["last_status"] == 400
    assert status == 200 and resent["result"] == "attempted" and resent["state"] == "delivered"
    assert again_status == 409 and again["result"] == "already-delivered"
    assert after["state"] == "delivered" and after["attempts"] == 2
    assert receiver.handled == {failed["webhook_id"]: 1}


def test_the_operations_api_refuses_without_its_key_and_matches_the_receiver(
    fhir: LocalFhirServer,
) -> None:
    secret = new_whsec()
    ids = distinct_tasks(fhir, "api", 5)
    with CountingReceiver(secret) as receiver:
        url = f"http://127.0.0.1:{receiver.port}/hook"
        with PluginRunner(outbox_variables(fhir, url, secret)) as runner:
            for task_id in ids:
                runner.send_event("TASK_CREATED", task_id)
            refused = [
                api(runner, "GET", "/api/deliveries", None)[0],
                api(runner, "GET", "/api/deliveries", "wrong-" + API_KEY)[0],
                api(runner, "GET", "/api/summary", None)[0],
                api(runner, "POST", "/api/backfill", None, {"since": "2026-01-01T00:00:00Z"})[0],
            ]
            listed = rows(runner)
            one = detail(runner, listed[0]["webhook_id"])
            status, summary = api(runner, "GET", "/api/summary", API_KEY)
            bad_state = api(runner, "GET", "/api/deliveries", API_KEY, query="state=nope")[0]
        log = runner.log_text()
    assert refused == [401, 401, 401, 401]
    assert {row["webhook_id"] for row in listed} == set(receiver.handled)
    assert [row["created_at"] for row in listed] == sorted(
        (row["created_at"] for row in listed), reverse=True
    )
    assert one["history"][0]["status"] == 204 and one["history"][0]["outcome"] == "delivered"
    assert status == 200 and summary["delivered"] == 5 and summary["failed"] == 0
    assert bad_state == 400
    assert API_KEY not in log


def test_catch_up_delivers_tasks_that_never_produced_an_event(
    fhir: LocalFhirServer, tmp_path: Path
) -> None:
    secret = new_whsec()
    database = tmp_path / "canvas_db.sqlite3"
    now = datetime.now(UTC)
    with CountingReceiver(secret) as receiver:
        url = f"http://127.0.0.1:{receiver.port}/hook"
        with PluginRunner(outbox_variables(fhir, url, secret), database=database) as runner:
            missed = insert_tasks(database, now - timedelta(minutes=10), 6)
            too_new = insert_tasks(database, now - timedelta(seconds=5), 2)
            too_old = insert_tasks(database, now - timedelta(hours=30), 2)
            for task_id in missed + too_new + too_old:
                serve_task(fhir, task_id)
            # One of them did produce its event: catch-up must not send it twice.
            runner.send_event("TASK_CREATED", missed[0])
            tick(runner)
            after_one_tick = dict(receiver.handled)
            status, backfilled = api(
                runner, "POST", "/api/backfill", API_KEY, {"since": iso(now - timedelta(days=2))}
            )
            tick(runner)
            listed = rows(runner)
    by_task = {row["task_id"]: row for row in listed}
    assert len(after_one_tick) == 6  # the five missed ones, within one tick, and the event's
    assert set(after_one_tick.values()) == {1}
    assert {by_task[t]["origin"] for t in missed[1:]} == {"catch-up"}
    assert by_task[missed[0]]["origin"] == "event"
    assert status == 200 and backfilled == {
        "enqueued": 4,
        "complete": True,
        "resume_since": None,
    }  # too_new and too_old
    assert {by_task[t]["origin"] for t in too_new + too_old} == {"backfill"}
    assert {row["state"] for row in listed} == {"delivered"} and len(listed) == 10
    assert set(receiver.handled.values()) == {1}


def test_a_runner_killed_mid_tick_loses_nothing(fhir: LocalFhirServer, tmp_path: Path) -> None:
    """SIGKILL while a tick is sending; a new runner on the same database finishes the job."""
    secret = new_whsec()
    database = tmp_path / "canvas_db.sqlite3"
    ids = distinct_tasks(fhir, "killed", 30)
    with CountingReceiver(secret) as receiver, FaultGate(receiver.port, REFUSE) as gate:
        variables = outbox_variables(fhir, gate.url, secret)
        with PluginRunner(variables, database=database) as first:
            for task_id in ids:
                first.send_event("TASK_CREATED", task_id)
            gate.set_mode("delay:0.3")
            time.sleep(1.1)
            ticking = threading.Thread(target=quiet_tick, args=(first,))
            ticking.start()
            time.sleep(2.0)
            assert first.process is not None
            os.killpg(first.process.pid, signal.SIGKILL)
            ticking.join(timeout=30)
        before_restart = sum(receiver.handled.values())
        gate.set_mode(FORWARD)
        with PluginRunner(variables, database=database) as second:
            until(
                lambda: {row["state"] for row in rows(second)} == {"delivered"},
                lambda: pause_then_tick(second),
                20,
            )
            listed = rows(second)
            details = [detail(second, row["webhook_id"]) for row in listed]
    arrivals: dict[str, int] = {}
    for arrival in receiver.arrivals:
        key = arrival.headers["webhook-id"]
        arrivals[key] = arrivals.get(key, 0) + 1
    sent_twice = [key for key, count in arrivals.items() if count > 1]
    plugin_sends = {
        d["webhook_id"]: sum(a["phase"] == "send" for a in d["history"]) for d in details
    }
    print("handled before the kill:", before_restart, "sent twice:", sent_twice)
    print("recorded sends per id:", sorted(plugin_sends.values()))
    assert 0 < before_restart < 30
    assert len(listed) == 30 and {row["state"] for row in listed} == {"delivered"}
    assert set(receiver.handled.values()) == {1}
    # Only the attempts in flight at the kill: a tick has DELIVERY_CONCURRENCY (4) at once.
    assert len(sent_twice) <= 4
    assert all(arrivals[key] == 2 for key in sent_twice)


def test_a_ping_is_signed_sent_once_and_accepted_by_the_library(fhir: LocalFhirServer) -> None:
    """The test event: no Task, a fresh id each time, one attempt, accepted as a ping."""
    secret = new_whsec()
    with CountingReceiver(secret) as receiver, FaultGate(receiver.port) as gate:
        with PluginRunner(outbox_variables(fhir, gate.url, secret)) as runner:
            status, first = api(runner, "POST", "/api/ping", API_KEY)
            _, double_click = api(runner, "POST", "/api/ping", API_KEY)
            time.sleep(5.1)  # PING_DEBOUNCE_SECONDS
            gate.set_mode(REFUSE)
            _, refused = api(runner, "POST", "/api/ping", API_KEY)
            tick(runner)
            refused_row = detail(runner, refused["webhook_id"])
            refused_by_key = api(runner, "POST", "/api/ping", None)[0]
    assert status == 200 and first["state"] == "delivered" and first["status"] == 204
    assert double_click["result"] == "just-sent" and first["result"] == "sent"
    assert double_click["webhook_id"] == first["webhook_id"]
    assert refused["state"] == "failed" and refused["webhook_id"] != first["webhook_id"]
    assert refused_row["attempts"] == 1 and refused_row["type"] == "ping"
    assert refused_by_key == 401
    assert receiver.handled == {first["webhook_id"]: 1}
    (arrival,) = receiver.arrivals
    event = Verifier(secrets=[secret]).verify(arrival.body, arrival.headers)
    assert event.is_ping and event.task is None and event.task_id is None
    assert json.loads(arrival.body)["data"] == {}
    assert receiver.verify_all_with_standardwebhooks() == 1


def test_a_ping_in_jwt_mode_names_no_task(fhir: LocalFhirServer) -> None:
    secret = "s" * 40
    with CountingReceiver(new_whsec()) as receiver:
        url = f"http://127.0.0.1:{receiver.port}/hook"
        receiver.server.verifier = Verifier(hs256_secret=secret, audience=url)
        variables = outbox_variables(
            fhir, url, "", SIGNING_MODE="jwt", JWT_ALGORITHM="HS256", JWT_PRIVATE_KEY=secret
        )
        with PluginRunner(variables) as runner:
            _, sent = api(runner, "POST", "/api/ping", API_KEY)
    (arrival,) = receiver.arrivals
    token = arrival.headers["authorization"].removeprefix("Bearer ")
    claims = jwt.decode(token, secret, algorithms=["HS256"], audience=url)
    assert sent["state"] == "delivered" and claims["sub"] == "ping"
    assert claims["jti"] == sent["webhook_id"]
