"""Runtime benchmark, SQLite and PostgreSQL, with floors measured in the same run.

    .venv/bin/python -m bench.runtime_bench [--cases 50000] [--backends sqlite,postgresql]
        [--only intake]

1. transitions/s through the service layer, against a raw-driver floor: one
   transaction of an UPDATE and four INSERTs (case, history, audit, outbox, timer);
   and against a store floor: the statements the service sent, recorded at the driver
   and replayed on a raw connection over a copy of the store (bench/store_floor.py);
2. Prefect overhead of one case step (5 notifications) against a bare Prefect flow
   running the same number of no-op tasks;
3. bulk intake of N referrals (the intake path: one transaction per 1,000 rows), against
   the target of issue 19: 50,000 in under 60 s on either store (``--only intake``
   measures just this; :func:`intake_rows_for` gives the quick benchmark its rows);
4. a sweep over N active cases: nothing due, and 1% due.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import platform
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text, update
from tests.support.services import create_database, free_port, postgres_server

from workflow.cases.model import Referral, YoungPersonDetails
from workflow.engine.model import Actor
from workflow.privacy.consents import ConsentRequest
from workflow.runtime import Runtime, build_runtime, use_runtime
from workflow.settings import Settings
from workflow.store.tables import CaseTimer, OutboxRow

RESULTS: list[tuple[str, str, str]] = []


def report(backend: str, what: str, figure: str) -> None:
    RESULTS.append((backend, what, figure))
    print(f"[{backend}] {what}: {figure}", flush=True)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def referrals(count: int, offset: int = 0) -> list[Referral]:
    """``count`` referrals of as many young people (each CPR number once: a young person
    referred again tells the courses already open, cases/referred_again.py)."""
    actor = Actor("caseworker", "cw")
    return [
        Referral(
            "soroe",
            _young_person(i),
            actor,
            {"source": "school", "caseworker": "cw"},
            f"bench:{i}",
        )
        for i in range(offset, offset + count)
    ]


#: The birthdays of the bench's young people: 15 to 24 years old on the bench's day
#: (2026-03-02), the ages a municipality refers, as evenly as a real file has them.
BIRTHDAYS = 3_500


def _young_person(i: int) -> YoungPersonDetails:
    """The i-th bench young person, born on one of :data:`BIRTHDAYS` days in turn (50,000
    of them: 14 or 15 a birthday, as in a real file of a few years' referrals), each CPR
    number once (sequence 4000-9999: the century of a 2000s birth)."""
    born = date(2001, 6, 1) + timedelta(days=i % BIRTHDAYS)
    sequence = 4000 + (i // BIRTHDAYS) % 6000
    return YoungPersonDetails(f"Bench Person {i}", f"{born:%d%m%y}{sequence:04d}", born)


def open_cases(runtime: Runtime, count: int) -> list[str]:
    refs: list[str] = []
    for start in range(0, count, 1000):
        results = runtime.service.refer_many(referrals(min(1000, count - start), start))
        refs += [r.reference for r in results if hasattr(r, "reference")]
    return refs


# 1. service layer against the raw floor ----------------------------------------------


RAW_SCHEMA = [
    "CREATE TABLE f_cases (id INTEGER PRIMARY KEY, stage TEXT, data TEXT, version INTEGER)",
    "CREATE TABLE f_history (id {serial} PRIMARY KEY, case_id INTEGER, event TEXT, body TEXT)",
    "CREATE TABLE f_audit (id {serial} PRIMARY KEY, case_id INTEGER, action TEXT, purpose TEXT)",
    "CREATE TABLE f_outbox (id {serial} PRIMARY KEY, case_id INTEGER, dedupe TEXT UNIQUE, "
    "payload TEXT)",
    "CREATE TABLE f_timers (id {serial} PRIMARY KEY, case_id INTEGER, timer TEXT, due TEXT)",
]
RAW_TX = [
    "UPDATE f_cases SET stage = {p}, version = version + 1 WHERE id = {p} AND version = {p}",
    "INSERT INTO f_history (case_id, event, body) VALUES ({p}, 'pause', '{{}}')",
    "INSERT INTO f_audit (case_id, action, purpose) VALUES ({p}, 'change', 'pause')",
    "INSERT INTO f_outbox (case_id, dedupe, payload) VALUES ({p}, {p}, '{{}}')",
    "INSERT INTO f_timers (case_id, timer, due) VALUES ({p}, 'pause_review', '2026-05-01')",
]


def raw_floor(connect: Callable[[], Any], param: str, serial: str, seconds: float = 10.0) -> float:
    conn = connect()
    cur = conn.cursor()
    for statement in RAW_SCHEMA:
        cur.execute(statement.format(serial=serial))
    for i in range(200):
        cur.execute(f"INSERT INTO f_cases VALUES ({param}, 'referred', '{{}}', 0)", (i,))
    conn.commit()
    versions = [0] * 200
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        case = done % 200
        sql = [s.format(p=param) for s in RAW_TX]
        cur.execute(sql[0], ("paused", case, versions[case]))
        cur.execute(sql[1], (case,))
        cur.execute(sql[2], (case,))
        cur.execute(sql[3], (case, f"k{done}"))
        cur.execute(sql[4], (case,))
        conn.commit()
        versions[case] += 1
        done += 1
    rate = done / (time.perf_counter() - start)
    conn.close()
    return rate


def sqlite_connect(path: str) -> Callable[[], Any]:
    def connect() -> Any:
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    return connect


def pg_connect(url: str) -> Callable[[], Any]:
    import psycopg

    return lambda: psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))


# 3 and 4: intake and sweep -------------------------------------------------------------


def intake(runtime: Runtime, count: int, tmp: Path) -> float:
    """Seconds to take in ``count`` referrals from a CSV file (see :data:`INTAKE_CPU`)."""
    from workflow.orchestration.intake import intake_rows

    path = tmp / "referrals.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["definition", "name", "cpr", "birth_date", "source", "caseworker"])
        for i in range(count):
            person = _young_person(i)  # each young person once
            writer.writerow(
                [
                    "soroe",
                    f"Intake Person {i}",
                    person.cpr,
                    person.birth_date.isoformat(),
                    "school",
                    "cw",
                ]
            )
    start, cpu = time.perf_counter(), time.process_time()
    summary = intake_rows(path)
    elapsed = time.perf_counter() - start
    INTAKE_CPU.append(time.process_time() - cpu)
    assert summary == {"opened": count}, summary
    return elapsed


#: The CPU seconds of this process in each intake measured (less sensitive than the
#: wall-clock figure to other work on a shared machine; the database's own not counted).
INTAKE_CPU: list[float] = []


#: Issue 19's target: 50,000 referrals in under a minute (scaled for another count).
INTAKE_TARGET_S = 60.0
INTAKE_TARGET_CASES = 50_000


def intake_target(cases: int) -> float:
    """The target for ``cases`` referrals, in seconds (60 s per 50,000)."""
    return INTAKE_TARGET_S * cases / INTAKE_TARGET_CASES


def intake_row(backend: str, cases: int, seconds: float) -> tuple[str, str, str]:
    """(target, figure, verdict) of one intake run, with the machine's load average."""
    target = intake_target(cases)
    load = os.getloadavg()[0]
    return (
        f"intake of {cases:,} referrals ({backend}) < {target:.0f} s",
        f"{seconds:.1f} s ({cases / seconds:,.0f}/s; CPU of the process {INTAKE_CPU[-1]:.1f} s; "
        f"load average {load:.2f})",
        "✓" if seconds < target else "✗",
    )


def measure_intake(backend: str, pg_url: str | None, cases: int) -> tuple[str, str, str]:
    """Intake ``cases`` referrals into a fresh store of ``backend``; its row."""
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        with store(backend, pg_url, tmp, Clock()) as runtime:
            return intake_row(backend, cases, intake(runtime, cases, tmp))


def intake_rows_for(
    backends: tuple[str, ...] = ("sqlite", "postgresql"), cases: int = INTAKE_TARGET_CASES
) -> list[tuple[str, str, str]]:
    """(target, figure, verdict) per store: the intake's rows for bench/quick_bench.py."""
    found = []
    if "sqlite" in backends:
        found.append(measure_intake("sqlite", None, cases))
    if "postgresql" in backends:
        with postgres_server() as pg:
            found.append(measure_intake("postgresql", pg, cases))
    return found


def sweep_seconds(runtime: Runtime, clock: Clock, due: int) -> tuple[float, int]:
    with runtime.sessions() as session, session.begin():
        session.execute(update(OutboxRow).values(state="sent"))
        session.execute(
            update(CaseTimer)
            .where(CaseTimer.state == "running")
            .values(due_at=clock.now + timedelta(days=30))
        )
        if due:
            ids = session.scalars(
                text(f"SELECT id FROM timers WHERE state = 'running' ORDER BY id LIMIT {due}")
            ).all()
            session.execute(
                update(CaseTimer)
                .where(CaseTimer.id.in_(ids))
                .values(due_at=clock.now - timedelta(minutes=1))
            )
    start = time.perf_counter()
    fired = runtime.service.fire_due_timers(clock.now)
    rows = runtime.deliverer.due_rows(100_000)
    delivered = [
        outcome
        for i in range(0, len(rows), 200)
        for outcome in runtime.deliverer.deliver_many(rows[i : i + 200])
    ]
    assert all(d.status in ("sent", "dead") for d in delivered)
    return time.perf_counter() - start, len(fired)


# 2. Prefect overhead ------------------------------------------------------------------


def prefect_overhead(runtime: Runtime, clock: Clock, rounds: int = 10) -> tuple[float, float]:
    from prefect import flow, task

    from workflow.orchestration.flows import run_step

    @task
    def noop(i: int) -> int:
        return i

    @flow(name="bare")
    async def bare(n: int) -> int:
        return sum(noop(i) for i in range(n))

    actor = Actor("caseworker", "cw")
    team = [
        {"department": d, "person": f"p-{d}"}
        for d in ("skole", "uu", "born_familie", "jobcenter", "ssp")
    ]
    steps, bare_times = [], []
    for i in range(rounds):
        opened = runtime.service.refer_many(referrals(1, 900_000 + i))[0]
        reference = opened.reference  # type: ignore[union-attr]
        runtime.service.trigger(
            reference, "accept_referral", {"young_person_agrees": True, "consent": True}, actor
        )
        departments = [m["department"] for m in team]  # consent: the team is notified
        runtime.consents.give(reference, actor, ConsentRequest(departments, guardian=True))
        step = runtime.service.trigger(
            reference,
            "hold_pre_meeting",
            {
                "team": team,
                "coordinator": "c",
                "agenda": ["uddannelse"],
                "first_meeting_at": "2026-03-17T09:00",
                "meeting_room": "raadhuset_storskaerm",
            },
            actor,
        )
        t0 = time.perf_counter()
        asyncio.run(run_step(step))
        steps.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        asyncio.run(bare(step.notifications))
        bare_times.append(time.perf_counter() - t0)
    return statistics.median(steps), statistics.median(bare_times)


@contextmanager
def store(
    backend: str, pg_url: str | None, tmp: Path, clock: Clock, url: str | None = None
) -> Iterator[Runtime]:
    """A runtime over a new store of ``backend`` (or over the store at ``url``)."""
    url = url or (
        f"sqlite:///{tmp / f'{backend}.db'}"
        if backend == "sqlite"
        else create_database(pg_url or "")
    )
    runtime = build_runtime(Settings(database_url=url, home=tmp / "var"), clock=clock)
    use_runtime(runtime)
    try:
        yield runtime
    finally:
        use_runtime(None)
        runtime.engine.dispose()


def run_backend(backend: str, pg_url: str | None, cases: int, with_prefect: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp, clock = Path(tmp_dir), Clock()
        # The service and its store floor: the service's own statements recorded and
        # replayed on the raw driver (bench/store_floor.py, which imports this module).
        from bench.store_floor import measure as measure_store_floor

        measured = measure_store_floor(backend, pg_url, 4000)
        rate, store_rate = measured.service_per_s, measured.floor_per_s
        if backend == "sqlite":
            floor = raw_floor(sqlite_connect(str(tmp / "floor.db")), "?", "INTEGER")
        else:
            floor = raw_floor(pg_connect(create_database(pg_url or "")), "%s", "SERIAL")
        report(backend, "service layer transitions/s", f"{rate:,.0f}")
        report(backend, "raw-driver floor transactions/s", f"{floor:,.0f}")
        report(backend, "service / floor", f"{rate / floor:.0%}")
        report(backend, "store floor transactions/s (a step's statements)", f"{store_rate:,.0f}")
        report(backend, "store floor / raw floor", f"{store_rate / floor:.0%}")
        report(backend, "service / store floor", f"{measured.ratio:.0%}")
        with store(backend, pg_url, tmp, clock) as runtime:
            seconds = intake(runtime, cases, tmp)
            target, figure, verdict = intake_row(backend, cases, seconds)
            report(backend, target, f"{figure} {verdict}")
            idle, _ = sweep_seconds(runtime, clock, 0)
            report(backend, f"sweep over {cases:,} active cases, nothing due", f"{idle:.2f} s")
            busy, fired = sweep_seconds(runtime, clock, cases // 100)
            report(backend, f"sweep over {cases:,} active cases, {fired} due (1%)", f"{busy:.2f} s")
            if with_prefect:
                step, bare = prefect_overhead(runtime, clock)
                report(
                    backend,
                    "Prefect: case step, 7 notifications to 5 team members + 2 roles (median)",
                    f"{step * 1000:.0f} ms",
                )
                report(
                    backend,
                    "Prefect: bare flow with as many no-op tasks (median)",
                    f"{bare * 1000:.0f} ms",
                )
                report(backend, "step / bare flow", f"{step / bare:.2f}x")


@contextmanager
def _maybe_prefect(home: Path | None) -> Iterator[str | None]:
    if home is None:
        yield None
        return
    from workflow.orchestration.server import local_server

    with local_server(home, free_port()) as api:
        yield api


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=50_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--no-prefect", action="store_true")
    parser.add_argument(
        "--only", choices=("intake",), help="measure only this (the intake: no Prefect server)"
    )
    args = parser.parse_args()
    print(
        f"machine: {os.cpu_count()} cores, {platform.machine()}, "
        f"Python {platform.python_version()}",
        flush=True,
    )
    backends = args.backends.split(",")
    if args.only == "intake":
        for backend in backends:  # each printed as soon as it is measured
            for target, figure, verdict in intake_rows_for((backend,), args.cases):
                print(f"{target}: {figure} {verdict}", flush=True)
        return

    with (
        tempfile.TemporaryDirectory() as home,
        _maybe_prefect(None if args.no_prefect else Path(home)) as api,
    ):
        if api:
            os.environ["PREFECT_API_URL"] = api
        if "sqlite" in backends:
            run_backend("sqlite", None, args.cases, api is not None)
        if "postgresql" in backends:
            with postgres_server() as pg:
                run_backend("postgresql", pg, args.cases, api is not None)
    print("\n| backend | measure | figure |\n| --- | --- | --- |")
    for backend, what, figure in RESULTS:
        print(f"| {backend} | {what} | {figure} |")


if __name__ == "__main__":
    main()
