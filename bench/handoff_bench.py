"""A meeting-day burst carried out by `workflow worker`s (Prefect task workers).

Against a PostgreSQL store and a PostgreSQL-backed Prefect server, with an SMTP sink:
``--steps`` pre-meeting steps (each notifies the team's departments and invites them:
several mails and letters) are committed through the service layer at random (Poisson)
moments over ``--minutes`` and handed to Prefect exactly as the web app does
(:class:`workflow.orchestration.handoff.StepHandoff`); the sweep runs every 60 s as under
`workflow up`. Three phases, each on cases of its own:

1. one worker;
2. two workers;
3. two workers, one killed (SIGKILL) half-way through the burst.

For every outbox row of a phase's steps: commit (``created_at``) to delivered
(``sent_at``), p50/p95/max; rows not delivered when the phase ends (lost); Message-IDs
seen twice at the sink (duplicates); the workers' and the Prefect server's CPU seconds.

    python -m bench.handoff_bench                      # 2,000 steps over 10 min a phase
    python -m bench.handoff_bench --steps 200 --minutes 1   # a quick look

Prints a Markdown table (also written to ``--output``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from tests.support.services import create_database, free_port, postgres_server, smtp_sink

from bench.national_bench import machine
from workflow.cases.model import StepResult, YoungPersonDetails
from workflow.engine.model import Actor
from workflow.privacy.consents import ConsentRequest
from workflow.runtime import Runtime, build_runtime, use_runtime
from workflow.settings import Settings
from workflow.store.tables import Case, HistoryEvent, OutboxRow

CASEWORKER = Actor("caseworker", "cw-mette")
REFERRAL = {"source": "school", "caseworker": "cw-mette"}
ACCEPT = {"young_person_agrees": True, "consent": True}
TEAM = ["skole", "uu", "ssp"]
TICKS = os.sysconf("SC_CLK_TCK")


def _next_tuesday(today: date) -> datetime:
    """A Sorø meeting day (Tuesday), two weeks ahead or more, 09:00."""
    day = today + timedelta(days=14)
    while day.weekday() != 1:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, 9, 0)


def _pre_meeting(when: datetime) -> dict[str, Any]:
    return {
        "team": [{"department": d, "person": f"{d}-kontakt{i}"} for i, d in enumerate(TEAM)],
        "coordinator": "tovholder-lise",
        "agenda": ["uddannelse", "fritid"],
        "first_meeting_at": when.isoformat(),
        "meeting_room": "raadhuset_storskaerm",
    }


def _person(number: int) -> YoungPersonDetails:
    return YoungPersonDetails(
        f"Ung Burst{number}", f"010110{4000 + number % 6000:04d}", date(2010, 1, 1)
    )


def prepare(runtime: Runtime, first: int, count: int) -> list[str]:
    """Cases referred, accepted and consented to (their notices counted as delivered:
    they are not the burst's)."""
    references = []
    for number in range(first, first + count):
        opened = runtime.service.refer(
            "soroe", _person(number), CASEWORKER, REFERRAL, idempotency_key=f"b{number}"
        )
        runtime.service.trigger(opened.reference, "accept_referral", ACCEPT, CASEWORKER)
        runtime.consents.give(opened.reference, CASEWORKER, ConsentRequest(TEAM, guardian=True))
        references.append(opened.reference)
    with runtime.sessions() as session, session.begin():
        session.execute(
            update(OutboxRow)
            .where(OutboxRow.state == "pending")
            .values(state="sent", sent_at=datetime.now(UTC))
        )
    return references


def cpu_seconds(root: int) -> float:
    """User + system CPU of a process and its living descendants, from /proc."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / TICKS
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += times.get(pid, 0.0)
        todo += [child for child, parent in parents.items() if parent == pid]
    return total


def _server_pid(port: int) -> int | None:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with suppress(OSError):
                command = (entry / "cmdline").read_bytes().split(b"\0")
                if b"server" in command and str(port).encode() in command:
                    return int(entry.name)
    return None


@dataclass
class Phase:
    name: str
    workers: int
    kill: bool


@contextmanager
def workers(
    count: int, env: dict[str, str], log_dir: Path
) -> Iterator[list[subprocess.Popen[bytes]]]:
    from workflow.orchestration.handoff import workers_listening

    started = []
    logs = []
    try:
        for k in range(count):
            log = (log_dir / f"worker-{time.monotonic_ns()}-{k}.log").open("wb")
            logs.append(log)
            started.append(
                subprocess.Popen(
                    [sys.executable, "-m", "workflow.cli.main", "worker", "--limit", "4"],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        deadline = time.monotonic() + 120
        while not workers_listening():
            if time.monotonic() > deadline:
                raise RuntimeError(f"no worker came up; see {log_dir}")
            time.sleep(0.5)
        time.sleep(2 * count)  # each has subscribed (the server lists one at least)
        yield started
    finally:
        for process in started:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in started:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
        for log in logs:
            log.close()


class Sweeper:
    """The sweep every 60 s, as `workflow up` schedules it."""

    def __init__(self, every: float = 60.0) -> None:
        self.every, self.stop, self.runs = every, threading.Event(), 0
        self.paused = threading.Event()  # while cases are prepared (not the burst's work)
        # In this context: Prefect's settings (the API to use) live in context variables;
        # a thread of its own would start a temporary server of Prefect's and sweep there.
        self.thread = threading.Thread(
            target=contextvars.copy_context().run, args=(self._loop,), daemon=True
        )

    def _loop(self) -> None:
        from workflow.orchestration.sweep import run_sweep

        while not self.stop.wait(self.every):
            if self.paused.is_set():
                continue
            with suppress(Exception):
                asyncio.run(run_sweep())
                self.runs += 1


def _rows(
    runtime: Runtime, steps: list[StepResult]
) -> list[tuple[str, datetime, datetime | None, str]]:
    """(state, created, sent, dedupe key) of the steps' outbox rows."""
    wanted = {(s.reference, s.seq) for s in steps}
    with runtime.sessions() as session:
        found = session.execute(
            select(
                Case.reference,
                HistoryEvent.seq,
                OutboxRow.state,
                OutboxRow.created_at,
                OutboxRow.sent_at,
                OutboxRow.dedupe_key,
            )
            .join(HistoryEvent, OutboxRow.history_id == HistoryEvent.id)
            .join(Case, Case.id == OutboxRow.case_id)
            .where(Case.reference.in_([s.reference for s in steps]))
        ).all()
    return [(st, c, s, k) for ref, seq, st, c, s, k in found if (ref, seq) in wanted]


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_phase(
    runtime: Runtime,
    phase: Phase,
    references: list[str],
    minutes: float,
    env: dict[str, str],
    log_dir: Path,
    sink: Any,
    server_pid: int | None,
    rng: random.Random,
) -> dict[str, Any]:
    from workflow.orchestration.handoff import StepHandoff

    inputs = _pre_meeting(_next_tuesday(date.today()))
    rate = len(references) / (minutes * 60)
    mails_before = len(sink.received)
    server_cpu0 = cpu_seconds(server_pid) if server_pid else 0.0
    steps: list[StepResult] = []
    with workers(phase.workers, env, log_dir) as running:
        handoff = StepHandoff()
        started = time.monotonic()
        killed_at = None
        cpu_of_killed = 0.0
        next_at = started
        for index, reference in enumerate(references):
            next_at += rng.expovariate(rate)
            time.sleep(max(0.0, next_at - time.monotonic()))
            if phase.kill and killed_at is None and index >= len(references) // 2:
                cpu_of_killed = cpu_seconds(running[0].pid)
                os.killpg(running[0].pid, signal.SIGKILL)
                killed_at = time.monotonic() - started
            result = runtime.service.trigger(reference, "hold_pre_meeting", inputs, CASEWORKER)
            steps.append(result)
            handoff.submit(result)
        submitted = time.monotonic() - started
        handoff.wait_idle(120)
        # Until every row is delivered: a backlog drains, and a killed worker's leased
        # rows wait out the lease (5 min) before a sweep takes them. Given up when
        # nothing more was delivered for 7 minutes (those rows are counted as lost).
        progress, last_change = -1, time.monotonic()
        while time.monotonic() - last_change < 420:
            sent = sum(1 for state, *_ in _rows(runtime, steps) if state == "sent")
            if sent == len(_rows(runtime, steps)):
                break
            if sent != progress:
                progress, last_change = sent, time.monotonic()
            time.sleep(3)
        drained = time.monotonic() - started
        worker_cpu = cpu_of_killed + sum(cpu_seconds(p.pid) for p in running if p.poll() is None)
        handoff.close()
    rows = _rows(runtime, steps)
    server_cpu = (cpu_seconds(server_pid) - server_cpu0) if server_pid else float("nan")
    latencies = [(s - c).total_seconds() for state, c, s, _ in rows if s is not None]
    mails = sink.received[mails_before:]
    ids = Counter(str(m["Message-ID"]) for _, m in _parsed(mails))
    states = Counter(state for state, *_ in rows)
    return {
        "phase": phase.name,
        "steps": len(steps),
        "offered_per_s": len(steps) / submitted,
        "rows": len(rows),
        "states": dict(states),
        "lost": sum(1 for state, *_ in rows if state != "sent"),
        "duplicates": sum(n - 1 for n in ids.values() if n > 1),
        "mails": len(mails),
        "p50": _pct(latencies, 0.50),
        "p95": _pct(latencies, 0.95),
        "max": max(latencies, default=float("nan")),
        "over_60s": sum(1 for x in latencies if x > 60),
        "p95_without_killed": _pct([x for x in latencies if x <= 60], 0.95),
        "delivered_per_s": len(latencies) / drained if drained else float("nan"),
        "submitted_s": submitted,
        "drained_s": drained,
        "killed_at_s": killed_at,
        "worker_cpu_s": worker_cpu,
        "server_cpu_s": server_cpu,
        "cpu_per_step": (worker_cpu + server_cpu) / max(1, len(steps)),
    }


def _parsed(mails: list[tuple[list[str], bytes]]) -> Iterator[tuple[list[str], Any]]:
    from email import message_from_bytes

    for to, raw in mails:
        yield to, message_from_bytes(raw)


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    lines = [
        f"Meeting-day burst: {args.steps} pre-meeting steps over {args.minutes:g} min per "
        f"phase, handed to `workflow worker`s (limit 4 each); PostgreSQL store and "
        f"PostgreSQL-backed Prefect server; sweep every 60 s. Machine: {machine()}. "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        "| phase | steps | rows | delivered | lost | duplicates | commit→delivered p50 | p95 | max "
        "| rows > 60 s | p95 of the rest | steps/s offered | rows/s delivered | CPU s/step "
        "(workers + Prefect server) |",
        "| --- " + "| ---: " * 13 + "|",
    ]
    for r in results:
        lines.append(
            f"| {r['phase']} | {r['steps']} | {r['rows']} | {r['states'].get('sent', 0)} | "
            f"{r['lost']} | {r['duplicates']} | {r['p50']:.2f} s | {r['p95']:.2f} s | "
            f"{r['max']:.1f} s | {r['over_60s']} | {r['p95_without_killed']:.2f} s | "
            f"{r['offered_per_s']:.2f} | {r['delivered_per_s']:.2f} | "
            f"{r['cpu_per_step']:.2f} ({r['worker_cpu_s']:.0f} + {r['server_cpu_s']:.0f} s) |"
        )
    if len(results) >= 2:
        one, two = results[0], results[1]
        lines += [
            "",
            f"Two workers against one (same run): p50 {two['p50'] / one['p50']:.2f}x, p95 "
            f"{two['p95'] / one['p95']:.2f}x, steps carried out per second "
            f"{(two['steps'] / two['drained_s']) / (one['steps'] / one['drained_s']):.2f}x "
            f"({one['steps'] / one['drained_s']:.2f} and {two['steps'] / two['drained_s']:.2f} "
            "steps/s from the first commit to the last delivery). CPU per step: "
            f"{one['cpu_per_step']:.2f} s (1 worker), {two['cpu_per_step']:.2f} s (2); a "
            "step worker and the Prefect server each need a core of their own for the "
            "offered rate when this is above what the machine's cores give.",
        ]
    if len(results) >= 3 and results[2]["killed_at_s"] is not None:
        lines.append(
            f"Killed worker: SIGKILL at {results[2]['killed_at_s']:.0f} s; rows it held "
            "wait out the 5-minute lease, then the sweep delivers them "
            f"({results[2]['over_60s']} rows over 60 s)."
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--phases", default="1,2,2-kill")
    parser.add_argument("--output", type=Path, default=Path("var/bench-handoff.md"))
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    phases = {
        "1": Phase("1 worker", 1, False),
        "2": Phase("2 workers", 2, False),
        "2-kill": Phase("2 workers, one killed", 2, True),
    }
    chosen = [phases[p] for p in args.phases.split(",")]
    with ExitStack() as stack:
        import tempfile

        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="handoff-bench-")))
        pg = stack.enter_context(postgres_server())
        store = create_database(pg)
        prefect_db = create_database(pg).replace("postgresql+psycopg", "postgresql+asyncpg")
        sink = stack.enter_context(smtp_sink())
        home = tmp / "prefect"
        from workflow.orchestration.prefect_env import client_env, prefect_env
        from workflow.orchestration.server import local_server

        os.environ.update(prefect_env(home))  # as `workflow up` gives its processes
        os.environ["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = prefect_db

        port = free_port()
        api = stack.enter_context(local_server(home, port, timeout=180))
        os.environ["PREFECT_API_URL"] = api
        # The workers get it (as `workflow up` gives its own); this process imported
        # Prefect already (bench.national_bench) and keeps the settings it read then.
        os.environ.update(client_env(api, home))
        from bench.prefect_pool import using_api

        stack.enter_context(using_api(api))
        settings = Settings(
            database_url=store,
            smtp_host="127.0.0.1",
            smtp_port=sink.port,
            home=tmp / "var",
            base_url="https://kui.example",
        )
        runtime = build_runtime(settings)
        use_runtime(runtime)
        env = {
            **os.environ,
            "WORKFLOW_DATABASE_URL": store,
            "WORKFLOW_HOME": str(settings.home),
            "WORKFLOW_SMTP_HOST": "127.0.0.1",
            "WORKFLOW_SMTP_PORT": str(sink.port),
            "WORKFLOW_BASE_URL": settings.base_url,
        }
        env.pop("PREFECT_SERVER_DATABASE_CONNECTION_URL")  # workers need the API only
        log_dir = tmp / "logs"
        log_dir.mkdir()
        server_pid = _server_pid(port)
        sweeper = Sweeper()
        sweeper.thread.start()
        stack.callback(sweeper.stop.set)
        results = []
        for k, phase in enumerate(chosen):
            print(f"preparing {args.steps} cases for phase '{phase.name}' ...", flush=True)
            sweeper.paused.set()
            references = prepare(runtime, 1 + k * args.steps, args.steps)
            sweeper.paused.clear()
            print(f"phase '{phase.name}': {args.steps} steps over {args.minutes:g} min", flush=True)
            result = run_phase(
                runtime, phase, references, args.minutes, env, log_dir, sink, server_pid, rng
            )
            print(result, flush=True)
            results.append(result)
        text = report(results, args)
        print(text)
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text + "\n", encoding="utf-8")
        use_runtime(None)
        runtime.engine.dispose()


if __name__ == "__main__":
    main()
