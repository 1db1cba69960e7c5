"""The outbox's storage promises, read off the real runner's SQLite database.

README, "Delivery: the outbox": the body (PHI) is deleted at once when a row is delivered
and kept while it is not; delivered and failed rows go after RETENTION_DAYS, newer ones and
undelivered ones stay; a Task over a text field's 1 MB is stored in parts of 500,000
characters and every attempt sends exactly the same bytes. The tables are the plugin's
custom-data models (`webhookdelivery`, `webhookbodypart`, `webhookattempt`), read and aged
here with sqlite3 as Canvas's database would hold them.
"""

from __future__ import annotations

import copy
import json
import sqlite3
import time
from pathlib import Path

import pytest

from devtools.fault_gate import FORWARD, REFUSE
from devtools.fhir_server import LocalFhirServer
from devtools.outbox_client import tick
from enriched_webhook.models.outbox import BODY_PART_CHARS
from tests.e2e.outbox_support import (
    BASE_TASK,
    CountingReceiver,
    FaultGate,
    PluginRunner,
    distinct_tasks,
    new_whsec,
    outbox_variables,
    rows,
)

pytestmark = pytest.mark.runner

DAY = 86400.0
TEXT_FIELD_LIMIT = 1_048_576  # canvas_sdk's MAX_FIELD_SIZE: one text field holds at most this


def webhook_id_of(database: Path, task_id: str) -> str:
    with sqlite3.connect(database) as db:
        (found,) = db.execute(
            "SELECT webhook_id FROM webhookdelivery WHERE task_id = ?", (task_id,)
        ).fetchall()
    return str(found[0])


def body_parts(database: Path, webhook_id: str) -> list[tuple[int, str]]:
    with sqlite3.connect(database) as db:
        return list(
            db.execute(
                "SELECT part, text FROM webhookbodypart WHERE webhook_id = ? ORDER BY part",
                (webhook_id,),
            )
        )


def state_of(database: Path, webhook_id: str) -> str:
    with sqlite3.connect(database) as db:
        (found,) = db.execute(
            "SELECT state FROM webhookdelivery WHERE webhook_id = ?", (webhook_id,)
        ).fetchall()
    return str(found[0])


def age(database: Path, webhook_id: str, moment: float) -> None:
    """Make a row as old as `moment`: created a minute before it, every attempt (and the
    delivery, if any) at it."""
    with sqlite3.connect(database) as db:
        db.execute(
            "UPDATE webhookdelivery SET created_at = ?,"
            " delivered_at = CASE WHEN delivered_at IS NULL THEN NULL ELSE ? END"
            " WHERE webhook_id = ?",
            (moment - 60, moment, webhook_id),
        )
        db.execute(
            "UPDATE webhookattempt SET started_at = ? WHERE webhook_id = ?", (moment, webhook_id)
        )


def table_ids(database: Path, table: str) -> set[str]:
    with sqlite3.connect(database) as db:
        return {row[0] for row in db.execute(f"SELECT webhook_id FROM {table}")}  # noqa: S608


def test_the_body_is_deleted_once_delivered_and_kept_until_then(
    fhir: LocalFhirServer, tmp_path: Path
) -> None:
    secret = new_whsec()
    database = tmp_path / "canvas_db.sqlite3"
    waiting_task, prompt_task = distinct_tasks(fhir, "body-kept", 2)
    with CountingReceiver(secret) as receiver, FaultGate(receiver.port, REFUSE) as gate:
        with PluginRunner(outbox_variables(fhir, gate.url, secret), database=database) as runner:
            runner.send_event("TASK_CREATED", waiting_task)
            gate.set_mode(FORWARD)
            runner.send_event("TASK_CREATED", prompt_task)
            waiting, prompt = (webhook_id_of(database, t) for t in (waiting_task, prompt_task))
            kept = body_parts(database, waiting)
            states_before = (state_of(database, waiting), state_of(database, prompt))
            prompt_parts = body_parts(database, prompt)
            time.sleep(1.1)  # RETRY_SCHEDULE's first entry
            tick(runner)
            waiting_after = body_parts(database, waiting)
            state_after = state_of(database, waiting)
    assert states_before == ("pending", "delivered")
    assert prompt_parts == [], "a delivered row's body is deleted at once"
    assert len(kept) == 1 and json.loads(kept[0][1])["data"]["id"] == waiting_task
    assert state_after == "delivered" and waiting_after == []
    # What was kept is exactly what the retry sent.
    (sent,) = [a.body for a in receiver.arrivals if a.headers["webhook-id"] == waiting]
    assert sent == kept[0][1].encode("ascii")
    assert receiver.handled == {waiting: 1, prompt: 1}


@pytest.mark.parametrize("retention_days", [None, 2.0], ids=["default-30", "two-days"])
def test_retention_deletes_old_delivered_and_failed_rows_and_keeps_the_rest(
    fhir: LocalFhirServer, tmp_path: Path, retention_days: float | None
) -> None:
    """Rows aged two hours past RETENTION_DAYS go with their attempts and body parts; rows
    two hours short of it, and an old row still pending, stay."""
    secret = new_whsec()
    database = tmp_path / "canvas_db.sqlite3"
    days = 30.0 if retention_days is None else retention_days
    extra = {} if retention_days is None else {"RETENTION_DAYS": f"{retention_days:g}"}
    tasks = distinct_tasks(fhir, f"retention-{days:g}", 5)
    with CountingReceiver(secret) as receiver, FaultGate(receiver.port, FORWARD) as gate:
        variables = outbox_variables(fhir, gate.url, secret, **extra)
        with PluginRunner(variables, database=database) as runner:
            for mode, chunk in (
                (FORWARD, tasks[:2]),
                ("status:400", tasks[2:4]),
                (REFUSE, tasks[4:]),
            ):
                gate.set_mode(mode)
                for task_id in chunk:
                    runner.send_event("TASK_CREATED", task_id)
            ids = [webhook_id_of(database, t) for t in tasks]
            _, new_delivered, old_failed, new_failed, old_pending = ids
            states = [state_of(database, i) for i in ids]
            failed_parts = [len(body_parts(database, i)) for i in (old_failed, new_failed)]
            now = time.time()
            older, newer = now - days * DAY - 7200, now - days * DAY + 7200
            for webhook_id, moment in zip(ids, (older, newer, older, newer, older), strict=True):
                age(database, webhook_id, moment)
            tick(runner)
            listed = {row["webhook_id"] for row in rows(runner)}
            kept = table_ids(database, "webhookdelivery")
            attempts = table_ids(database, "webhookattempt")
            parts = table_ids(database, "webhookbodypart")
    assert states == ["delivered", "delivered", "failed", "failed", "pending"]
    assert failed_parts == [1, 1], "a failed row keeps its body until retention"
    assert kept == listed == {new_delivered, new_failed, old_pending}
    assert attempts == {new_delivered, new_failed, old_pending}
    assert parts == {new_failed, old_pending}
    assert len(receiver.handled) == 2


def large_task(task_id: str) -> dict[str, object]:
    """A valid Task over 1 MB: long notes, with characters the body escapes (é, an emoji)."""
    task = copy.deepcopy(BASE_TASK.task)
    task["id"] = task_id
    line = "Patient called about the insurance card: résumé attached \U0001f600 #"
    task["note"] = [
        {"text": "".join(f"{line}{index}.{n}\n" for n in range(3600))} for index in range(4)
    ]
    return task


def test_a_task_over_a_megabyte_is_stored_in_parts_and_sent_byte_identical_on_a_retry(
    fhir: LocalFhirServer, tmp_path: Path
) -> None:
    secret = new_whsec()
    database = tmp_path / "canvas_db.sqlite3"
    task = large_task("large-task-1")
    fhir.add_task(task)
    with CountingReceiver(secret) as receiver, FaultGate(receiver.port, REFUSE) as gate:
        # The reference receiver refuses bodies over 1 MiB (413) unless told otherwise.
        receiver.server.max_body_bytes = 4 * 1024 * 1024
        with PluginRunner(outbox_variables(fhir, gate.url, secret), database=database) as runner:
            runner.send_event("TASK_CREATED", str(task["id"]))
            webhook_id = webhook_id_of(database, str(task["id"]))
            stored = body_parts(database, webhook_id)
            with sqlite3.connect(database) as db:
                ((recorded_parts, state),) = db.execute(
                    "SELECT body_parts, state FROM webhookdelivery WHERE webhook_id = ?",
                    (webhook_id,),
                ).fetchall()
            arrived_before = len(receiver.arrivals)
            gate.set_mode(FORWARD)
            time.sleep(1.1)
            tick(runner)
            after = body_parts(database, webhook_id)
            final_state = state_of(database, webhook_id)
    assert state == "pending" and arrived_before == 0
    body = "".join(text for _, text in stored)
    assert len(body) > TEXT_FIELD_LIMIT, "one text field could not hold this body"
    assert [number for number, _ in stored] == list(range(len(stored)))
    assert len(stored) == -(-len(body) // BODY_PART_CHARS) >= 3
    assert recorded_parts == len(stored)
    assert all(len(text) <= BODY_PART_CHARS for _, text in stored)
    (arrival,) = receiver.arrivals
    assert arrival.body == body.encode("ascii"), "the retry sent the reassembled parts exactly"
    assert receiver.handled == {webhook_id: 1}  # the receiver verified the signature over it
    assert receiver.verify_all_with_standardwebhooks() == 1
    assert json.loads(arrival.body)["data"]["note"] == task["note"]
    assert final_state == "delivered" and after == []
