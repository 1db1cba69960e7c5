"""Many events at once through the real runner, each effect executed as the platform would.

Shared by the load test (does every event arrive exactly once?) and the benchmark
(events per second at a given worker count).
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .fixtures import FixtureTask
from .platform_delivery import execute
from .runner import PluginRunner


@dataclass
class LoadResult:
    sent: int = 0
    effects: int = 0
    delivered: int = 0
    seconds: float = 0.0
    rss_kib: list[int] = field(default_factory=list)

    @property
    def events_per_second(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0


def distinct_tasks(template: FixtureTask, count: int) -> list[FixtureTask]:
    """`count` Tasks shaped like `template`, each with its own id and lastModified."""
    tasks: list[FixtureTask] = []
    for number in range(count):
        task = dict(template.task)
        task["id"] = "load-" + str(number).zfill(6)
        task["lastModified"] = "2026-11-29T07:00:00." + str(number).zfill(6) + "+00:00"
        body = json.dumps(task).encode("utf-8")
        tasks.append(FixtureTask(name="load/" + task["id"], task_id=task["id"], body=body))
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
    runner: PluginRunner, tasks: list[FixtureTask], concurrency: int, checkpoints: int = 5
) -> LoadResult:
    """Send TASK_CREATED for every Task from `concurrency` client threads; deliver the effects."""
    result = LoadResult()
    result.rss_kib.append(runner_rss_kib(runner))
    chunk = max(1, len(tasks) // checkpoints)

    def one(task: FixtureTask) -> tuple[int, int]:
        effects = runner.send_event("TASK_CREATED", task.task_id)
        delivered = sum(1 for effect in effects if execute(effect).delivered)
        return len(effects), delivered

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for offset in range(0, len(tasks), chunk):
            for effects, delivered in pool.map(one, tasks[offset : offset + chunk]):
                result.sent = result.sent + 1
                result.effects = result.effects + effects
                result.delivered = result.delivered + delivered
            result.rss_kib.append(runner_rss_kib(runner))
    result.seconds = time.perf_counter() - started
    return result
