"""Many events at once through the real runner, which stores and sends each one itself.

Shared by the load test (does every event arrive exactly once?) and the benchmark
(events per second at a given worker count). `compute()` makes the first attempt before
it returns, so when `drive` returns, every event the receiver accepted has arrived;
the caller counts them at its receiver.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .fixtures import FixtureTask
from .runner import PluginRunner


@dataclass
class LoadResult:
    sent: int = 0
    seconds: float = 0.0
    rss_kib: list[int] = field(default_factory=list)

    @property
    def events_per_second(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0


def distinct_tasks(template: FixtureTask, count: int, prefix: str = "load") -> list[FixtureTask]:
    """`count` Tasks shaped like `template`, each with its own id and lastModified."""
    tasks: list[FixtureTask] = []
    for number in range(count):
        task = dict(template.task)
        task["id"] = prefix + "-" + str(number).zfill(6)
        task["lastModified"] = "2026-11-29T07:00:00." + str(number).zfill(6) + "+00:00"
        body = json.dumps(task).encode("utf-8")
        tasks.append(FixtureTask(name=prefix + "/" + task["id"], task_id=task["id"], body=body))
    return tasks


def runner_rss_kib(runner: PluginRunner) -> int:
    """Resident memory of the runner process (Linux /proc), 0 where unknown."""
    if runner.process is None:
        return 0
    status = Path("/proc/" + str(runner.process.pid) + "/status")
    try:
        for line in status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def drive(
    runner: PluginRunner,
    tasks: list[FixtureTask],
    concurrency: int,
    checkpoints: int = 5,
    event: str = "TASK_CREATED",
) -> LoadResult:
    """Send `event` for every Task from `concurrency` client threads; sample memory."""
    result = LoadResult()
    result.rss_kib.append(runner_rss_kib(runner))
    chunk = max(1, len(tasks) // checkpoints)

    def one(task: FixtureTask) -> int:
        return len(runner.send_event(event, task.task_id))

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for offset in range(0, len(tasks), chunk):
            for effects in pool.map(one, tasks[offset : offset + chunk]):
                if effects:
                    raise RuntimeError("the plugin returned effects: it sends by itself")
                result.sent = result.sent + 1
            result.rss_kib.append(runner_rss_kib(runner))
    result.seconds = time.perf_counter() - started
    return result
