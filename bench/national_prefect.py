"""Prefect workers on a process work pool: 2 against 1, and the outbox under a race.

A Prefect server backed by PostgreSQL (concurrent flow runs on a SQLite-backed server
give "database is locked"; see architecture.md) serves the flows deployed to a process
work pool (``workflow.orchestration.workpool``). Workers are ``prefect worker start
--pool ... --type process`` subprocesses with the store's settings in their environment
and an SMTP sink as the mail server; each takes one flow run at a time (``--limit``),
so a second worker doubles how many run at once.

1. N meeting steps are taken through the service layer; their `case-step` runs are
   submitted and one worker carries them out; the time from the first submission to the
   last run finished gives runs per minute;
2. the same with N other steps and two workers;
3. the race: N more steps, each submitted *twice* (a retried submission), with sweep
   runs on the pool at the same time, two workers: every notification must still reach
   the SMTP sink exactly once.
After each phase the outbox rows of its steps and the sink's messages are checked:
every row sent (or withheld for lack of consent), and no Message-ID twice.
"""

from __future__ import annotations

import os
import random
import signal
import statistics
import subprocess
import time
from collections import Counter
from contextlib import ExitStack, contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from sqlalchemy import select
from tests.support.services import create_database, free_port, smtp_sink

from bench.national_exemplars import Clock
from bench.national_scenarios import Figures, meeting_triggers
from bench.national_store import NationalStore
from bench.prefect_pool import FINAL_STATES, RunSummary, run_summaries
from workflow.cases.model import RejectedError, StepResult
from workflow.runtime import Runtime
from workflow.store.tables import Case, HistoryEvent, OutboxRow

POOL = "kui-bench"


def _worker_env(runtime: Runtime, api: str, home: Path, smtp_port: int) -> dict[str, str]:
    settings = runtime.settings
    return {
        **os.environ,
        "PREFECT_API_URL": api,
        "PREFECT_HOME": str(home),
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        # Poll every second (default 10 s) so a free worker does not sit idle.
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "WORKFLOW_DATABASE_URL": settings.store_url,
        "WORKFLOW_HOME": str(settings.home.resolve()),
        "WORKFLOW_DEFINITIONS_DIR": str(settings.definitions_dir.resolve()),
        "WORKFLOW_SMTP_HOST": "127.0.0.1",
        "WORKFLOW_SMTP_PORT": str(smtp_port),
    }


@contextmanager
def workers(count: int, env: dict[str, str], limit: int, log_dir: Path) -> Any:
    """``count`` process workers, each in its own process group (stopped by its id)."""
    from bench.prefect_pool import worker_command, workers_online

    started: list[subprocess.Popen[bytes]] = []
    logs = []
    names = [f"bench-worker-{k}-{time.monotonic_ns()}" for k in range(count)]
    try:
        for name in names:
            log = (log_dir / f"worker-{len(list(log_dir.glob('worker-*')))}.log").open("wb")
            logs.append(log)
            started.append(
                subprocess.Popen(
                    worker_command(POOL, limit, name),
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        deadline = time.monotonic() + 90
        while not set(names) <= workers_online(POOL):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the workers did not come online; see {log_dir}")
            time.sleep(0.5)
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


def _steps(
    runtime: Runtime,
    clock: Clock,
    store: NationalStore,
    count: int,
    moment: datetime,
    rng: random.Random,
) -> list[StepResult]:
    """``count`` meeting steps through the service layer (a case a timer moved is skipped)."""
    clock.now = moment
    results: list[StepResult] = []
    for trigger in meeting_triggers(store, count * 2, rng):
        if len(results) == count:
            break
        try:
            results.append(
                runtime.service.trigger(
                    trigger.reference, trigger.event, trigger.inputs, trigger.actor
                )
            )
        except RejectedError:
            continue
    return results


def _wait(ids: list[UUID], timeout: float) -> dict[UUID, RunSummary]:
    deadline = time.monotonic() + timeout
    while True:
        runs = run_summaries(ids)
        done = len(runs) == len(ids) and all(r.state in FINAL_STATES for r in runs.values())
        if done or time.monotonic() > deadline:
            return runs
        time.sleep(0.5)


def _median_seconds(pairs: list[tuple[datetime | None, datetime | None]]) -> float:
    spans = [(b - a).total_seconds() for a, b in pairs if a is not None and b is not None]
    return statistics.median(spans) if spans else float("nan")


def _outbox_of(runtime: Runtime, steps: list[StepResult]) -> tuple[Counter[str], set[str]]:
    """States of the steps' outbox rows, and the dedupe keys of those sent."""
    wanted = {(s.reference, s.seq) for s in steps}
    states: Counter[str] = Counter()
    sent: set[str] = set()
    with runtime.sessions() as session:
        rows = session.execute(
            select(Case.reference, HistoryEvent.seq, OutboxRow.state, OutboxRow.dedupe_key)
            .join(HistoryEvent, OutboxRow.history_id == HistoryEvent.id)
            .join(Case, Case.id == OutboxRow.case_id)
            .where(Case.reference.in_([s.reference for s in steps]))
        ).all()
    for reference, seq, state, key in rows:
        if (reference, seq) in wanted:
            states[state] += 1
            if state == "sent":
                sent.add(key)
    return states, sent


def workers_scenario(
    runtime: Runtime,
    clock: Clock,
    store: NationalStore,
    pg_server: str,
    tmp: Path,
    moment: datetime,
    out: Figures,
    *,
    steps: int,
    limit: int,
    rng: random.Random,
) -> None:
    from bench.prefect_pool import submit_step, submit_sweep, using_api
    from workflow.delivery.channels import file_name
    from workflow.delivery.mail import message_id
    from workflow.orchestration.server import local_server
    from workflow.orchestration.workpool import deploy_to_pool

    home = tmp / "prefect"
    prefect_db = create_database(pg_server).replace("postgresql+psycopg", "postgresql+asyncpg")
    saved = {
        k: os.environ.get(k) for k in ("PREFECT_SERVER_DATABASE_CONNECTION_URL", "PREFECT_API_URL")
    }
    os.environ["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = prefect_db
    with ExitStack() as stack:
        stack.callback(_restore, saved)
        api = stack.enter_context(local_server(home, free_port(), timeout=180))
        os.environ["PREFECT_API_URL"] = api
        stack.enter_context(using_api(api))  # Prefect read its settings at import
        sink = stack.enter_context(smtp_sink())
        env = _worker_env(runtime, api, home, sink.port)
        deploy_to_pool(POOL)
        log_dir = tmp / "worker-logs"
        log_dir.mkdir(exist_ok=True)

        def phase(name: str, n_workers: int, twice: bool, sweeps: int) -> float:
            before = len(sink.received)
            taken = _steps(runtime, clock, store, steps, moment, rng)
            with workers(n_workers, env, limit, log_dir):
                started = time.perf_counter()
                ids = [submit_step(s) for s in taken]
                if twice:
                    ids += [submit_step(s, attempt=1) for s in taken]
                ids += [submit_sweep(moment.isoformat()) for _ in range(sweeps)]
                summaries = _wait(ids, timeout=3600)
                seconds = time.perf_counter() - started
            states = Counter(r.state for r in summaries.values())
            steps_run = [summaries[i] for i in ids[: len(taken)] if i in summaries]
            took = _median_seconds([(r.started, r.ended) for r in steps_run])
            waited = _median_seconds([(r.created, r.started) for r in steps_run])
            outbox, sent_keys = _outbox_of(runtime, taken)
            mails = sink.received[before:]
            ids_seen = Counter(
                (m["Message-ID"], to) for to, m in _messages(mails) if m["Message-ID"]
            )
            duplicates = sum(n - 1 for n in ids_seen.values() if n > 1)
            # Mail reaches the sink; a young person's or guardian's notice is a file
            # (the digital-post seam), named by its dedupe key.
            mailed = {mid for mid, _ in ids_seen}
            filed = {p.name for p in tmp.rglob("*.eml")}
            as_files = sum(1 for k in sent_keys if file_name(k) in filed)
            missing = sum(
                1 for k in sent_keys if message_id(k) not in mailed and file_name(k) not in filed
            )
            runs = len(ids)
            out.put(
                "prefect",
                f"{name}: time",
                seconds,
                f"{seconds:.0f} s for {runs} flow runs ({runs / seconds * 60:.1f} runs/min); "
                f"runs: {', '.join(f'{n} {s.lower()}' for s, n in sorted(states.items()))}; "
                f"a case-step run took {took:.1f} s (median, Prefect's start to end), "
                f"{waited:.0f} s from submission to start",
            )
            out.put(
                "prefect",
                f"{name}: outbox",
                duplicates,
                f"{sum(outbox.values())} notifications of {len(taken)} steps: "
                f"{', '.join(f'{n} {s}' for s, n in sorted(outbox.items()))}; SMTP sink: "
                f"{sum(ids_seen.values())} mails, {duplicates} duplicates; {as_files} as "
                f"digital-post files; {missing} missing",
            )
            return runs / seconds

        one = phase("1 worker", 1, twice=False, sweeps=0)
        two = phase("2 workers", 2, twice=False, sweeps=0)
        out.put("prefect", "2 workers / 1 worker", two / one, f"{two / one:.2f}x")
        phase("race: 2 workers, every step submitted twice, 2 sweeps", 2, twice=True, sweeps=2)


def _messages(received: list[tuple[list[str], bytes]]) -> list[tuple[str, Any]]:
    from email import message_from_bytes

    return [(to, message_from_bytes(raw)) for tos, raw in received for to in tos]


def _restore(saved: dict[str, str | None]) -> None:
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
