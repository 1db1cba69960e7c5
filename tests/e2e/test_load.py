"""1,000 distinct Tasks, concurrently, through the real runner and its default worker pool.

Each `compute()` stores its event in the outbox and sends it before returning. Every
event must arrive exactly once and verify, every outbox row must end delivered, and the
runner's memory must level off. Figures (events/s, compute() percentiles) are printed for
the closing note: `-s` shows them.
"""

from __future__ import annotations

import statistics
from collections import Counter

import pytest
from standardwebhooks.webhooks import Webhook

from devtools.capture_receiver import CaptureReceiver
from devtools.event_log import event_fields
from devtools.fhir_server import LocalFhirServer
from devtools.fixtures import fixture_tasks
from devtools.load import distinct_tasks, drive
from devtools.runner import PluginRunner
from tests.e2e.test_runner_e2e import plugin_secrets
from tests.support import new_whsec

pytestmark = [pytest.mark.runner, pytest.mark.load]

EVENTS = 1000
CLIENT_THREADS = 10


def test_a_thousand_events_arrive_exactly_once() -> None:
    template = next(f for f in fixture_tasks() if f.name == "canvas/task_read_response_200.json")
    tasks = distinct_tasks(template, EVENTS)
    secret = new_whsec()
    with LocalFhirServer() as fhir, CaptureReceiver() as receiver:
        for task in tasks:
            fhir.add_task(task.body, task.task_id)
        with PluginRunner(plugin_secrets(fhir, receiver, WEBHOOK_SECRET=secret)) as runner:
            result = drive(runner, tasks, CLIENT_THREADS)
            # A tick after the load: nothing is due, so nothing is sent again.
            assert runner.send_event("CRON", "2026-11-29T13:00:00+00:00") == []
        log = runner.log_text()

    ids = Counter(request.headers["webhook-id"] for request in receiver.requests)
    assert result.sent == EVENTS
    assert len(receiver.requests) == EVENTS
    assert len(ids) == EVENTS  # distinct webhook-ids received = events sent
    assert {request.path for request in receiver.requests} == {"/hook"}
    verifier = Webhook(secret)
    for request in receiver.requests:
        verifier.verify(request.body, request.headers)

    # Memory levels off: the last 40% of events add little to what the first 60% needed.
    rss = result.rss_kib
    assert all(rss), "could not read the runner's memory"
    late_growth = rss[-1] - rss[3]
    assert late_growth < 16 * 1024, "runner memory kept growing: " + str(rss)

    events = event_fields(log)
    assert Counter(fields["outcome"] for fields in events) == {"delivered": EVENTS}
    assert {fields["webhook_id"] for fields in events} == set(ids)
    assert "cron outcome=ok caught_up=0 read=0 attempted=0" in log
    ordered = sorted(float(fields["total_ms"]) for fields in events)
    print(
        "\nload: "
        + str(EVENTS)
        + " events in "
        + str(round(result.seconds, 2))
        + " s = "
        + str(round(result.events_per_second, 1))
        + " events/s; compute() p50 "
        + str(round(statistics.median(ordered), 2))
        + " ms, p99 "
        + str(round(ordered[int(len(ordered) * 0.99) - 1], 2))
        + " ms; runner RSS KiB "
        + str(rss)
    )
