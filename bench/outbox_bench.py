"""Delivery through the outbox in the real runner (issue 10): a benchmark, not a test.

Three questions, each answered with the real `canvas run-plugin`, real HTTP on 127.0.0.1
and the plugin's own per-event log line (`read_ms`, `build_ms`, `send_ms`, `total_ms`):

1. What a Task event costs in `compute()` now that the plugin stores the event and makes
   the first attempt itself: receiver up (answering after 200 ms), refused, blackholed
   (FIRST_ATTEMPT_TIMEOUTS' 5 s read timeout), and with the circuit breaker open (stored
   only). Beside it "the effect path": commit 84fc746, the last plugin that returned an
   HttpRequestEffect and sent nothing itself. The peers alternate round by round in the
   same run (one runner at a time owns port 50051), so drift on shared vCPUs hits all.
2. Catch-up: N rows pending after an outage (stored by events sent while the breaker is
   open: fill time measured too), the receiver back, CRON ticks back to back until none
   is pending: ticks, sending time, what that is at one tick a minute (goal: 10,000 rows
   in under 5 minutes), the runner's memory (RSS of its process tree), and with
   `--py-spy PATH` where a row's time goes inside a tick.
3. The row write per event: the outbox's `build_ms` (body build plus row writes) against
   the effect path's (body build only), and the runner's SQLite file on tmpfs (commits
   without fsync: the statements' own cost) against on disk (as `canvas run-plugin` keeps
   it: this VM pays ~25 ms of fsync per commit). Canvas runs Postgres: see docs/benchmarks.md.

The runner listens on the fixed port 50051: run this in its own network namespace:

    unshare -n sh -c 'ip link set lo up && PYTHONPATH=. .venv/bin/python bench/outbox_bench.py'
    [--quick] [--rounds N] [--events N] [--rows N] [--slow-rows N] [--py-spy PATH]
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import signal
import sqlite3
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psutil  # type: ignore[import-untyped]

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devtools.event_log import event_fields
from devtools.fault_gate import BLACKHOLE, FORWARD, REFUSE, FaultGate
from devtools.fhir_server import LocalFhirServer
from devtools.fixtures import FixtureTask, fixture_tasks
from devtools.load import distinct_tasks
from devtools.outbox_client import tick
from devtools.runner import PluginRunner
from enriched_webhook.receiver.http_server import serve
from enriched_webhook.receiver.verifier import Verifier
from enriched_webhook.tools.keys import new_hmac_secret
from enriched_webhook.tools.plugin_files import PLUGIN_PARTS

REPO = Path(__file__).resolve().parents[1]
# The last plugin that handed delivery to Canvas (HttpRequestEffect), and its files.
EFFECT_COMMIT = "84fc746"
EFFECT_PARTS = ("CANVAS_MANIFEST.json", "README.md", "__init__.py", "handlers", "plugin", "shared")
TEMPLATE = "canvas/task_read_response_200.json"
RECEIVER_DELAY = "delay:0.2"
WORKERS = 5  # the runner's worker threads (PLUGIN_RUNNER_MAX_WORKERS' default)
DEFAULT_BREAKER_THRESHOLD = 5
TICK_BUDGET = 25.0  # CRON_TIME_BUDGET's default
# A tick starts no request with less than this left (plugin/outbox/cron.py MIN_SEND_SECONDS); it
# cuts each request's timeouts to what is left, so its sends may use the rest.
SEND_RESERVE = 2.0
SEND_WINDOW = TICK_BUDGET - SEND_RESERVE
ROWS_GOAL = 10_000
PROFILED_TICK = 1
WINDOW_TIMEOUTS = "1,1"
MEMORY_ROOT = "/dev/shm"  # noqa: S108 - tmpfs on purpose: SQLite commits without fsync


@dataclass(frozen=True)
class Peer:
    """One way an event can go: which runner, what the receiver does, what outcome to expect."""

    name: str
    runner: str  # effect | outbox | breaker | disk (see Bench.runner)
    gate: str
    outcome: str
    serial_share: float = 1.0  # blackholed events take 5 s each: fewer of them
    prelude: int = 0  # refused events first: BREAKER_THRESHOLD of them open the breaker


PEERS = (
    Peer("effect path (84fc746)", "effect", FORWARD, "queued"),
    Peer("outbox, receiver up (200 ms)", "outbox", RECEIVER_DELAY, "delivered"),
    Peer("outbox, refused", "outbox", REFUSE, "retry-scheduled"),
    Peer("outbox, blackholed", "outbox", BLACKHOLE, "retry-scheduled", serial_share=0.0),
    Peer("outbox, breaker open", "breaker", REFUSE, "stored", prelude=DEFAULT_BREAKER_THRESHOLD),
    Peer("up (200 ms), SQLite on disk", "disk", RECEIVER_DELAY, "delivered"),
    Peer(
        "breaker open, SQLite on disk", "disk", REFUSE, "stored", prelude=DEFAULT_BREAKER_THRESHOLD
    ),
)
EFFECT = PEERS[0].name
RUNNER_KINDS = ("effect", "outbox", "breaker", "disk")


@dataclass
class PeerSamples:
    """Everything measured for one peer over all rounds."""

    total: list[float] = field(default_factory=list)
    trip: list[float] = field(default_factory=list)
    parts: dict[str, list[float]] = field(default_factory=dict)
    rates: list[float] = field(default_factory=list)


class TaskSource:
    """Distinct Tasks served by the local FHIR server: every event is a new occurrence."""

    def __init__(self, fhir: LocalFhirServer) -> None:
        self.fhir = fhir
        self.template = next(f for f in fixture_tasks() if f.name == TEMPLATE)
        self.batches = 0

    def take(self, count: int) -> list[FixtureTask]:
        self.batches += 1
        tasks = distinct_tasks(self.template, count, prefix="ob" + str(self.batches))
        for task in tasks:
            self.fhir.add_task(task.body, task.task_id)
        return tasks


def plugin_at(commit: str, parts: tuple[str, ...], parent: Path) -> Path:
    """The plugin's files at `commit` (what the runner's copy would hold), under `parent`."""
    archive = subprocess.run(
        ["git", "archive", commit, *("enriched_webhook/" + part for part in parts)],  # noqa: S607
        cwd=REPO,
        check=True,
        capture_output=True,
    ).stdout
    parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(parent, filter="data")
    return parent / "enriched_webhook"


def tree_rss_mib(pid: int) -> float:
    """Resident memory of a process and all its children (the runner forks workers)."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total / (1024 * 1024)


class RssSampler:
    """Samples the runner tree's RSS every 0.25 s in a thread, while a phase runs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[float] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stop.wait(0.25):
            self.samples.append(tree_rss_mib(self.pid))

    def __enter__(self) -> RssSampler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def pid_of(runner: PluginRunner) -> int:
    if runner.process is None:
        raise SystemExit("the runner is not running")
    return runner.process.pid


def pct(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def send_serial(runner: PluginRunner, tasks: list[FixtureTask]) -> list[float]:
    """One event at a time; the client's round trip of each, in ms."""
    trips = []
    for task in tasks:
        started = time.perf_counter()
        runner.send_event("TASK_CREATED", task.task_id)
        trips.append((time.perf_counter() - started) * 1000)
    return trips


def send_concurrent(runner: PluginRunner, tasks: list[FixtureTask], workers: int) -> float:
    """All events from `workers` client threads; returns events/s."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda task: runner.send_event("TASK_CREATED", task.task_id), tasks))
    return len(tasks) / (time.perf_counter() - started)


def plugin_lines(
    runner: PluginRunner, tasks: list[FixtureTask], peer: Peer
) -> list[dict[str, str]]:
    """The plugin's log line of each of these events; any other outcome stops the benchmark."""
    wanted = {task.task_id for task in tasks}
    lines = [f for f in event_fields(runner.log_text()) if f.get("task") in wanted]
    odd = [f for f in lines if f.get("outcome") != peer.outcome]
    if odd or len(lines) != len(wanted):
        raise SystemExit(
            peer.name
            + ": expected "
            + str(len(wanted))
            + " events with outcome="
            + peer.outcome
            + ", found "
            + str(len(lines))
            + (", e.g. " + str(odd[0]) if odd else "")
        )
    return lines


@dataclass
class Bench:
    """The servers shared by every runner of the run."""

    fhir: LocalFhirServer
    gate: FaultGate
    secret: str
    tasks: TaskSource
    effect_dir: Path
    memory_dir: Path
    outbox_dir: Path | None  # None: the working tree's plugin, as `canvas deploy` would get it

    def runner(self, kind: str) -> PluginRunner:
        """effect: 84fc746; outbox: breaker held shut; breaker: defaults; disk: on disk;
        window: RETRY_TIMEOUTS 1,1 (the window is 23 s either way since each request's
        timeouts are cut to what is left of the budget; kept as a check of that).

        All but `disk` keep the runner's SQLite file on tmpfs, where a commit costs no
        fsync: what is left is the statements' own cost, nearer a Postgres round trip than
        this VM's ~25 ms fsync per commit (which `disk` keeps, as `canvas run-plugin` does).
        """
        variables = self.fhir.plugin_variables(self.gate.url, WEBHOOK_SECRET=self.secret)
        if kind == "effect":
            return PluginRunner(variables, plugin_source=self.effect_dir)
        if kind == "outbox":
            # The breaker must not open during the refused and blackholed runs.
            variables["BREAKER_THRESHOLD"] = "1000"
        if kind == "window":
            variables["RETRY_TIMEOUTS"] = WINDOW_TIMEOUTS
        if kind == "disk":
            return PluginRunner(variables, plugin_source=self.outbox_dir)
        database = Path(tempfile.mkdtemp(dir=self.memory_dir)) / "canvas_db.sqlite3"
        return PluginRunner(variables, plugin_source=self.outbox_dir, database=database)


def measure_peer(
    bench: Bench, runner: PluginRunner, peer: Peer, events: int, samples: PeerSamples
) -> None:
    if peer.prelude:
        bench.gate.set_mode(REFUSE)
        send_serial(runner, bench.tasks.take(peer.prelude))
    bench.gate.set_mode(peer.gate)
    serial = max(2, int(events * peer.serial_share))
    tasks = bench.tasks.take(serial)
    samples.trip += send_serial(runner, tasks)
    for fields in plugin_lines(runner, tasks, peer):
        samples.total.append(float(fields["total_ms"]))
        for name in ("read", "build", "sign", "send"):
            if name + "_ms" in fields:
                samples.parts.setdefault(name, []).append(float(fields[name + "_ms"]))
    concurrent = bench.tasks.take(WORKERS if peer.serial_share == 0 else events)
    samples.rates.append(send_concurrent(runner, concurrent, WORKERS))
    plugin_lines(runner, concurrent, peer)


def warm_up(bench: Bench, runner: PluginRunner) -> None:
    """The first event pays imports and the FHIR token: one delivered event, not counted."""
    bench.gate.set_mode(RECEIVER_DELAY)
    send_serial(runner, bench.tasks.take(1))


def compute_costs(bench: Bench, rounds: int, events: int) -> dict[str, PeerSamples]:
    """Parts 1 and 3: every peer, round by round, the runner order reversed every other round."""
    results = {peer.name: PeerSamples() for peer in PEERS}
    for number in range(rounds):
        order = RUNNER_KINDS if number % 2 == 0 else RUNNER_KINDS[::-1]
        for kind in order:
            with bench.runner(kind) as runner:
                warm_up(bench, runner)
                for peer in PEERS:
                    if peer.runner == kind:
                        measure_peer(bench, runner, peer, events, results[peer.name])
        print(f"   round {number + 1}/{rounds} done", flush=True)
    return results


@dataclass
class CatchUp:
    """Part 2's figures for one backlog."""

    label: str
    rows: int
    fill_seconds: float = 0.0
    tick_seconds: list[float] = field(default_factory=list)
    tick_lines: list[dict[str, str]] = field(default_factory=list)
    delivered: int = 0
    rss_start: float = 0.0
    rss_filled: float = 0.0
    rss_peak: float = 0.0
    rss_after: float = 0.0
    latency_ms: list[float] = field(default_factory=list)
    profile: dict[str, float] = field(default_factory=dict)
    profiled_tick: int | None = None
    window_seconds: float = SEND_WINDOW  # the part of a tick's budget its sends may use

    def plain_ticks(self) -> list[tuple[float, dict[str, str]]]:
        """The ticks py-spy did not sample (sampling slows the runner), or all if none is."""
        ticks = list(zip(self.tick_seconds, self.tick_lines, strict=True))
        plain = [pair for index, pair in enumerate(ticks) if index != self.profiled_tick]
        return plain or ticks

    @property
    def per_row_ms(self) -> float:
        """Tick time per delivered row, ticks back to back."""
        ticks = self.plain_ticks()
        rows = sum(int(line["delivered"]) for _, line in ticks)
        return sum(seconds for seconds, _ in ticks) / rows * 1000 if rows else float("nan")

    @property
    def rows_per_tick(self) -> float:
        """Rows a tick cut by its budget delivered; estimated from per-row time if none was."""
        full = [
            int(line["delivered"])
            for _, line in self.plain_ticks()
            if line["budget_spent"] == "yes"
        ]
        if full:
            return float(statistics.median(full))
        return self.window_seconds / (self.per_row_ms / 1000)

    @property
    def measured_rows_per_tick(self) -> bool:
        return any(line["budget_spent"] == "yes" for _, line in self.plain_ticks())

    def minutes_at_one_tick_a_minute(self, rows: int, rows_per_tick: float) -> float:
        """Ticks a minute apart from the receiver's return: all but the last take a minute."""
        per_tick = max(1, int(rows_per_tick))
        ticks = -(-rows // per_tick)
        last_rows = rows - (ticks - 1) * per_tick
        return (ticks - 1) + last_rows * self.per_row_ms / 60000


def count_state(database: Path, state: str) -> int:
    """Rows in a state, read from the runner's SQLite file (read-only, beside the runner)."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        table = outbox_table(connection, "webhookdelivery")
        row = connection.execute(
            f"SELECT COUNT(*) FROM {table} WHERE state = ?",  # noqa: S608
            (state,),
        ).fetchone()
    return int(row[0])


def outbox_table(connection: sqlite3.Connection, model: str) -> str:
    names = [
        str(row[0])
        for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        if str(row[0]).endswith(model)
    ]
    if len(names) != 1:
        raise SystemExit("no single outbox table for " + model + ": " + str(names))
    return names[0]


def attempt_latencies(database: Path) -> list[float]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        table = outbox_table(connection, "webhookattempt")
        rows = connection.execute(
            f"SELECT latency_ms FROM {table} WHERE outcome = 'delivered'"  # noqa: S608
        ).fetchall()
    return [float(row[0]) for row in rows if row[0] is not None]


def cron_lines(runner: PluginRunner) -> list[dict[str, str]]:
    """The fields of every cron tick line the runner has logged."""
    mark = "enriched-webhook cron "
    return [
        dict(part.split("=", 1) for part in line.split(mark, 1)[1].split(" ") if "=" in part)
        for line in runner.log_text().splitlines()
        if mark in line
    ]


def timed_tick(runner: PluginRunner, seen: int) -> tuple[float, dict[str, str]]:
    """One CRON event: its wall time and the tick's log line (written just after it returns)."""
    started = time.perf_counter()
    tick(runner, datetime.now(UTC))
    seconds = time.perf_counter() - started
    deadline = time.monotonic() + 5
    while len(lines := cron_lines(runner)) <= seen:
        if time.monotonic() > deadline:
            raise SystemExit("the tick logged no line")
        time.sleep(0.05)
    return seconds, lines[-1]


def profile_shares(raw: str) -> dict[str, float]:
    """py-spy's collapsed stacks of a tick, by the call the tick (or its attempt) was in."""
    counts: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, number = line.rpartition(" ")
        frames = stack.split(";")
        names = [frame.split(" (", 1)[0] for frame in frames]
        if "run_tick" not in names:
            continue
        below = frames[names.index("run_tick") + 1 :]
        if below and below[0].startswith("attempt ("):
            below = below[1:]
        if not below:
            counts["run_tick itself"] += int(number)
            continue
        if below[0].split(" (", 1)[0].endswith("manager_method") and len(below) > 1:
            below = below[1:]  # Model.objects.<method>: name the QuerySet method
        name, _, where = below[0].partition(" (")
        counts[name + " (" + where.split(":", 1)[0].rsplit("/", 1)[-1] + ")"] += int(number)
    total = sum(counts.values()) or 1
    return {name: count / total for name, count in counts.most_common(10)}


@contextmanager
def profiled(py_spy: str | None, pid: int, into: dict[str, float]) -> Iterator[None]:
    """Sample the runner tree with py-spy while the body runs (when a py-spy is given)."""
    if py_spy is None:
        yield
        return
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "stacks.txt"
        command = [py_spy, "record", "-p", str(pid), "--subprocesses", "-r", "200", "-f", "raw"]
        spy = subprocess.Popen(
            [*command, "-o", str(output)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(2)  # py-spy attaches
        try:
            yield
        finally:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=30)
        if output.exists():
            into.update(profile_shares(output.read_text()))


def catch_up(
    bench: Bench,
    label: str,
    kind: str,
    rows: int,
    receiver_mode: str,
    max_ticks: int,
    py_spy: str | None = None,
) -> CatchUp:
    """Part 2: `rows` pending rows stored with the breaker open, then ticks until none is left."""
    found = CatchUp(label=label, rows=rows)
    if kind == "window":
        found.window_seconds = TICK_BUDGET - sum(float(v) for v in WINDOW_TIMEOUTS.split(","))
    with bench.runner(kind) as runner:
        pid = pid_of(runner)
        warm_up(bench, runner)
        found.rss_start = tree_rss_mib(pid)
        bench.gate.set_mode(REFUSE)
        send_serial(runner, bench.tasks.take(DEFAULT_BREAKER_THRESHOLD))  # opens the breaker
        started = time.perf_counter()
        send_concurrent(runner, bench.tasks.take(rows - DEFAULT_BREAKER_THRESHOLD), WORKERS)
        found.fill_seconds = time.perf_counter() - started
        pending = count_state(runner.database, "pending")
        if pending != rows:
            raise SystemExit(f"catch-up fill: {pending} pending rows, expected {rows}")
        found.rss_filled = tree_rss_mib(pid)
        bench.gate.set_mode(receiver_mode)
        with RssSampler(pid) as sampler:
            while pending and len(found.tick_seconds) < max_ticks:
                # The second tick is a full one (the first also sends the breaker's probe).
                spy = py_spy if len(found.tick_seconds) == PROFILED_TICK else None
                if spy is not None:
                    found.profiled_tick = PROFILED_TICK
                with profiled(spy, pid, found.profile):
                    seconds, line = timed_tick(runner, len(cron_lines(runner)))
                found.tick_seconds.append(seconds)
                found.tick_lines.append(line)
                pending = count_state(runner.database, "pending")
        found.delivered = rows - pending
        found.rss_peak = max(sampler.samples, default=0.0)
        found.rss_after = tree_rss_mib(pid)
        found.latency_ms = attempt_latencies(runner.database)
    return found


def machine_line() -> str:
    return (
        "machine: "
        + platform.platform()
        + ", "
        + str(os.cpu_count())
        + " vCPUs (shared, noisy), Python "
        + platform.python_version()
        + ", "
        + datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    )


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def print_compute(results: dict[str, PeerSamples], rounds: int) -> None:
    base = results[PEERS[0].name]
    print()
    print(
        "1. compute() per event, ms (plugin's total_ms; trip = client's HandleEvent round trip),"
        f" {rounds} rounds; events/s from {WORKERS} client threads"
    )
    header = f"{'peer':<30}{'n':>5}{'p50':>9}{'p99':>9}{'trip p50':>10}{'x effect':>10}"
    print(header + f"{'events/s':>10}{'x effect':>10}")
    for peer in PEERS:
        got = results[peer.name]
        ratio = med(got.total) / med(base.total)
        rate = med(got.rates)
        print(
            f"{peer.name:<30}{len(got.total):>5}{med(got.total):>9.2f}{pct(got.total, 0.99):>9.2f}"
            f"{med(got.trip):>10.2f}{ratio:>9.1f}x{rate:>10.1f}{rate / med(base.rates):>9.2f}x"
        )
    print()
    print("3. where the time goes, ms (medians of the log line's parts)")
    print(f"{'peer':<30}{'read':>8}{'build':>8}{'sign':>8}{'send':>9}{'total':>9}")
    for peer in PEERS:
        got = results[peer.name]
        cells = [med(got.parts.get(name, [])) for name in ("read", "build", "sign", "send")]
        text = "".join(
            f"{value:>{width}.2f}" if value == value else f"{'-':>{width}}"
            for value, width in zip(cells, (8, 8, 8, 9), strict=True)
        )
        print(f"{peer.name:<30}{text}{med(got.total):>9.2f}")
    stored = med(results["outbox, breaker open"].parts["build"])
    print(
        "   outbox build_ms = body build + row and body-part writes; effect build_ms = body"
        f" build only: the row write costs ~{stored - med(base.parts['build']):.2f} ms per event"
    )


def print_catch_up(runs: list[CatchUp]) -> None:
    print()
    print(
        f"2. catch-up: rows pending after an outage (stored with the breaker open), receiver"
        f" back, CRON ticks back to back until none is pending. A tick sends (4 at a time)"
        f" until {SEND_RESERVE:.0f} s of its {TICK_BUDGET:.0f} s budget is left: a"
        f" {SEND_WINDOW:.0f} s sending window. Minutes at one tick a minute."
    )
    print(
        f"{'backlog':<34}{'rows':>6}{'fill s':>8}{'ev/s':>6}{'ticks':>6}{'rows/tick':>10}"
        f"{'ms/row':>8}{'HTTP':>7}{'send s':>8}{'min':>6}{'10k min':>9}{'10k, 25 s':>11}"
    )
    for run in runs:
        rate = run.rows_per_tick
        mark = "" if run.measured_rows_per_tick else "~"
        here = run.minutes_at_one_tick_a_minute(run.rows, rate)
        ten_k = run.minutes_at_one_tick_a_minute(ROWS_GOAL, rate)
        whole = run.minutes_at_one_tick_a_minute(ROWS_GOAL, TICK_BUDGET / (run.per_row_ms / 1000))
        if run.delivered < run.rows:
            here = float("nan")
        print(
            f"{run.label:<34}{run.rows:>6}{run.fill_seconds:>8.1f}"
            f"{run.rows / run.fill_seconds:>6.0f}"
            f"{len(run.tick_seconds):>6}{mark + format(rate, '.0f'):>10}{run.per_row_ms:>8.2f}"
            f"{med(run.latency_ms):>7.2f}{sum(run.tick_seconds):>8.1f}{here:>6.1f}{ten_k:>9.1f}"
            f"{whole:>11.1f}"
        )
    print(
        "   ~ = estimated from ms/row (no tick was cut by its budget); HTTP = attempt latency p50,"
        " ms; 10k, 25 s = if the whole budget were a sending window"
    )
    for run in runs:
        verdict = (
            "met"
            if run.minutes_at_one_tick_a_minute(ROWS_GOAL, run.rows_per_tick) <= 5
            else "MISSED"
        )
        print(f"   goal (10,000 rows in under 5 min), {run.label}: {verdict}")
    print()
    print("   runner memory (RSS of the runner's process tree), MiB")
    print(f"{'backlog':<34}{'start':>8}{'filled':>8}{'peak':>8}{'after':>8}")
    for run in runs:
        print(
            f"{run.label:<34}{run.rss_start:>8.0f}{run.rss_filled:>8.0f}{run.rss_peak:>8.0f}"
            f"{run.rss_after:>8.0f}"
        )
    for run in runs:
        if run.profile:
            print()
            print(
                f"   where a row's time goes in catch-up tick {PROFILED_TICK + 1} ({run.label};"
                " py-spy at 200 Hz, share of the tick's samples by the call it was in)"
            )
            for name, share in run.profile.items():
                print(f"   {name:<46}{share:>6.1%}")


@contextmanager
def servers(plugin_commit: str | None) -> Iterator[Bench]:
    secret = new_hmac_secret()
    receiver = serve(Verifier(secrets=[secret]), port=0, log=lambda line: None)
    try:
        with (
            LocalFhirServer() as fhir,
            FaultGate(int(receiver.server_address[1]), REFUSE) as gate,
            tempfile.TemporaryDirectory(prefix="outbox-bench-") as folder,
            tempfile.TemporaryDirectory(prefix="outbox-bench-", dir=MEMORY_ROOT) as memory,
        ):
            effect = plugin_at(EFFECT_COMMIT, EFFECT_PARTS, Path(folder) / "effect")
            outbox = None
            if plugin_commit is not None:
                outbox = plugin_at(plugin_commit, PLUGIN_PARTS, Path(folder) / "outbox")
            yield Bench(fhir, gate, secret, TaskSource(fhir), effect, Path(memory), outbox)
    finally:
        receiver.shutdown()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, events and rows")
    parser.add_argument("--rounds", type=int, help="runner rounds per peer (default 3)")
    parser.add_argument("--events", type=int, help="events per peer per round (default 60)")
    parser.add_argument("--rows", type=int, help="catch-up backlog (default 10000)")
    parser.add_argument(
        "--slow-rows", type=int, help="backlog of the 200 ms and on-disk catch-ups (default 300)"
    )
    parser.add_argument(
        "--window-rows",
        type=int,
        help="backlog sent with RETRY_TIMEOUTS 1,1: a 23 s sending window (default 4000)",
    )
    parser.add_argument(
        "--plugin-commit",
        help="run the outbox plugin as committed at this revision (default: the working tree)",
    )
    parser.add_argument("--skip-compute", action="store_true", help="catch-up only")
    parser.add_argument("--py-spy", help="a py-spy executable: profile the first catch-up tick")
    args = parser.parse_args(argv)
    rounds = args.rounds or (2 if args.quick else 3)
    events = args.events or (10 if args.quick else 60)
    rows = args.rows or (1000 if args.quick else ROWS_GOAL)
    spy = args.py_spy
    window_rows = args.window_rows if args.window_rows is not None else (0 if args.quick else 4000)
    slow_rows = args.slow_rows if args.slow_rows is not None else (0 if args.quick else 300)
    print(machine_line())
    print(
        "defaults: FIRST_ATTEMPT_TIMEOUTS 2,5; RETRY_TIMEOUTS 3,15; CRON_TIME_BUDGET 25;"
        " BREAKER_THRESHOLD 5 (1000 for the refused/blackholed rows); HMAC signing"
    )
    if args.plugin_commit:
        print("outbox plugin: commit " + args.plugin_commit)
    with servers(args.plugin_commit) as bench:
        if not args.skip_compute:
            print_compute(compute_costs(bench, rounds, events), rounds)
        runs = [
            catch_up(bench, "local receiver, SQLite on tmpfs", "breaker", rows, FORWARD, 60, spy)
        ]
        if slow_rows:
            runs.append(
                catch_up(
                    bench,
                    "200 ms receiver, SQLite on tmpfs",
                    "breaker",
                    slow_rows,
                    RECEIVER_DELAY,
                    2,
                )
            )
            runs.append(
                catch_up(bench, "local receiver, SQLite on disk", "disk", slow_rows, FORWARD, 2)
            )
        if window_rows:
            label = "local, tmpfs, RETRY_TIMEOUTS " + WINDOW_TIMEOUTS
            runs.append(catch_up(bench, label, "window", window_rows, FORWARD, 60))
        print_catch_up(runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
