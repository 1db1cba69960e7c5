"""1,000 distinct Tasks, concurrently, through the real runner and its default worker pool.

Every event must arrive exactly once and verify, and the runner's memory must level off.
Figures (events/s, compute() percentiles) are printed for the closing note: `-s` shows them.
"""

from __future__ import annotations

import statistics

import pytest
from standardwebhooks.webhooks import Webhook

from devtools.capture_receiver import CaptureReceiver
from devtools.fhir_server import LocalFhirServer
from devtools.fixtures import fixture_tasks
from devtools.load import distinct_tasks, drive
from devtools.runner import PluginRunner
from enriched_webhook.plugin.task_webhook import parse_event_line
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
        log = runner.log_text()

    ids = [request.headers["webhook-id"] for request in receiver.requests]
    assert result.sent == EVENTS and result.effects == EVENTS and result.delivered == EVENTS
    assert len(receiver.requests) == EVENTS
    assert len(set(ids)) == EVENTS  # distinct webhook-ids received = events sent
    verifier = Webhook(secret)
    for request in receiver.requests:
        verifier.verify(request.body, request.headers)

    # Memory levels off: the last 40% of events add little to what the first 60% needed.
    rss = result.rss_kib
    assert all(rss), "could not read the runner's memory"
    late_growth = rss[-1] - rss[3]
    assert late_growth < 16 * 1024, "runner memory kept growing: " + str(rss)

    timings = [
        float(fields["total_ms"])
        for line in log.splitlines()
        if (fields := parse_event_line(line)) and fields.get("outcome") == "queued"
    ]
    assert len(timings) == EVENTS
    ordered = sorted(timings)
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
