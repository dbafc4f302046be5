"""The service layer against its store floor: the same statements replayed on the raw driver.

    .venv/bin/python -m bench.store_floor [--db sqlite|postgresql|both] [--transitions N]

The store floor is what the database and its driver cost for exactly the work the
service asks of them. It is measured by recording, not by a hand-written copy of the
step's SQL (which fell behind as steps grew: tasks cancelled, outcome figures kept):

1. open 200 cases and copy the store twice (a file copy on SQLite, ``CREATE DATABASE
   … TEMPLATE`` on PostgreSQL);
2. on the first copy, run N transitions (pause / resume by the cases' caseworker)
   through ``trigger`` in rounds of 400 (each case paused and resumed once a round; one
   round more, which warms both sides up untimed),
   recording each round's statements as the driver receives them — SQLAlchemy's own
   (``before_cursor_execute``), the prebuilt ones on the driver's cursor
   (:class:`~workflow.store.driver.DriverStatement`), with their driver parameters,
   each transaction's BEGIN (SQLite's is sent on the driver by the store) and end, and
   PostgreSQL's pipelined blocks;
3. then, round by round: time the round's transitions through the service on the
   original store, and at once its recording replayed on one raw driver connection over
   the second copy — the same SQL, parameters, transactions and pipelining, fetching
   every row read. The clock is fixed, so both do identical work.

The ratio service / store floor (in speed) is what the service costs on top of its
store: the engine's decision, the access rule, building the values, SQLAlchemy. Each
round's service and floor are timed side by side and the median round is reported: on
a shared machine a slow minute then slows both sides of a round, not one side of the
whole measure (run whole, one after the other, the ratio of the same code ranged
22-34% over eight runs).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import event

import workflow.cases.recording as recording
from bench.runtime_bench import Clock, open_cases, store
from workflow.engine.model import Actor
from workflow.runtime import Runtime
from workflow.store import driver
from workflow.store.database import make_engine, sqlite_begin_statement

#: The target of issue 19: the service at least half as fast as its store floor.
TARGET = 0.5


@dataclass
class Recording:
    """What the driver received: ("begin", sql) | ("sql", sql, params, many) | ("commit",)
    | ("rollback",) | ("pipeline", entries)."""

    entries: list[tuple[Any, ...]] = field(default_factory=list)
    #: Where entries go: the top level, or a pipelined block's own list.
    into: list[tuple[Any, ...]] | None = None

    def add(self, entry: tuple[Any, ...]) -> None:
        (self.into if self.into is not None else self.entries).append(entry)


@contextmanager
def recorded(runtime: Runtime, into: Recording) -> Iterator[None]:
    """Record every statement, transaction end and pipelined block of the runtime's engine."""
    engine = runtime.engine

    def before(_c: Any, _cur: Any, sql: str, params: Any, _ctx: Any, many: bool) -> None:
        into.add(("sql", sql, params, many))

    def begin(c: Any) -> None:
        # SQLite's BEGIN is sent on the driver by the store (workflow.store.database), not
        # through a cursor event: the replay must open the same kind of transaction.
        into.add(("begin", sqlite_begin_statement(c)))

    def commit(_c: Any) -> None:
        into.add(("commit",))

    def rollback(_c: Any) -> None:
        into.add(("rollback",))

    original_execute = driver.DriverStatement.execute
    original_many = driver.DriverStatement.executemany
    original_pipelined = recording.pipelined

    def execute(self: driver.DriverStatement, connection: Any, params: Any) -> Any:
        sql, driver_params = self.prepare(connection.dialect, params)
        into.add(("sql", sql, driver_params, False))
        return original_execute(self, connection, params)

    def executemany(self: driver.DriverStatement, connection: Any, rows: Any) -> None:
        prepared = [self.prepare(connection.dialect, row) for row in rows]
        into.add(("sql", prepared[0][0], [p for _, p in prepared], True))
        original_many(self, connection, rows)

    @contextmanager
    def pipelined(connection: Any) -> Iterator[None]:
        block: list[tuple[Any, ...]] = []
        outer, into.into = into.into, block
        try:
            with original_pipelined(connection):
                yield
        finally:
            into.into = outer
            into.add(("pipeline", block))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "begin", begin)
    event.listen(engine, "commit", commit)
    event.listen(engine, "rollback", rollback)
    driver.DriverStatement.execute = execute  # type: ignore[method-assign]
    driver.DriverStatement.executemany = executemany  # type: ignore[method-assign]
    recording.pipelined = pipelined  # type: ignore[assignment]
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "begin", begin)
        event.remove(engine, "commit", commit)
        event.remove(engine, "rollback", rollback)
        driver.DriverStatement.execute = original_execute  # type: ignore[method-assign]
        driver.DriverStatement.executemany = original_many  # type: ignore[method-assign]
        recording.pipelined = original_pipelined


def transitions(runtime: Runtime, refs: list[str], count: int) -> float:
    """``count`` pauses and resumes through the service; seconds taken."""
    actor = Actor("caseworker", "cw")  # the cases' caseworker (the access rule is applied)
    paused: set[str] = set()
    start = time.perf_counter()
    for done in range(count):
        ref = refs[done % len(refs)]
        if ref in paused:
            runtime.service.trigger(ref, "resume", {}, actor)
            paused.discard(ref)
        else:
            runtime.service.trigger(ref, "pause", {"pause_reason": "treatment"}, actor)
            paused.add(ref)
    return time.perf_counter() - start


def replay(raw: Any, sqlite: bool, recorded_: Recording) -> float:
    """The recording on a raw driver connection (a pool's); seconds taken."""
    connection = raw.driver_connection
    assert connection is not None
    cursor = raw.cursor()

    def run(entries: list[tuple[Any, ...]], piped: bool = False) -> None:
        for entry in entries:
            kind = entry[0]
            if kind == "sql":
                _, sql, params, many = entry
                if many:
                    cursor.executemany(sql, params)
                else:
                    cursor.execute(sql, params)
                    # In a pipeline nothing is read (the service reads nothing there):
                    # fetching would wait for the answer, a round trip per statement.
                    if not piped and cursor.description is not None:
                        cursor.fetchall()
            elif kind == "begin":
                if sqlite:  # psycopg begins by itself at the first statement, as for the app
                    cursor.execute(entry[1])
            elif kind == "commit":
                raw.commit()
            elif kind == "rollback":
                raw.rollback()
            else:
                pipeline = contextlib.nullcontext() if sqlite else connection.pipeline()
                with pipeline:
                    run(entry[1], piped=True)

    start = time.perf_counter()
    run(recorded_.entries)
    return time.perf_counter() - start


def statements_per_transition(recorded_: Recording, count: int) -> float:
    def n(entries: list[tuple[Any, ...]]) -> int:
        return sum(n(e[1]) if e[0] == "pipeline" else int(e[0] == "sql") for e in entries)

    return n(recorded_.entries) / count


#: Cases the transitions go round, and the transitions of a round (each case paused and
#: resumed once, so every round starts from the same stages).
CASES = 200
ROUND = 2 * CASES


@dataclass(frozen=True)
class Figures:
    backend: str
    transitions: int
    #: Each round's seconds: (service, floor).
    rounds: tuple[tuple[float, float], ...]
    statements: float

    @property
    def ratio(self) -> float:
        """The median round's service / floor, in speed."""
        return statistics.median(floor / service for service, floor in self.rounds)

    @property
    def service_per_s(self) -> float:
        return ROUND / statistics.median(service for service, _ in self.rounds)

    @property
    def floor_per_s(self) -> float:
        return ROUND / statistics.median(floor for _, floor in self.rounds)

    @property
    def ratio_range(self) -> tuple[float, float]:
        ratios = [floor / service for service, floor in self.rounds]
        return min(ratios), max(ratios)


def measure(backend: str, pg_server: str | None, count: int) -> Figures:
    """Service and store floor for ``count`` transitions (in rounds of 400) on one kind of
    store."""
    rounds = max(1, count // ROUND)
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp, clock = Path(tmp_dir), Clock()
        with store(backend, pg_server, tmp, clock) as runtime:
            refs = open_cases(runtime, CASES)
            url = runtime.engine.url
        copies = _copies(backend, tmp, url, 2)
        traces = []
        with store(backend, pg_server, tmp, clock, copies[0]) as runtime:
            for _ in range(rounds + 1):  # the first warms both sides up, untimed
                trace = Recording()
                with recorded(runtime, trace):
                    transitions(runtime, refs, ROUND)
                traces.append(trace)
        # The recordings are many small objects that live through the timed rounds: kept
        # out of the garbage collector's sight, as the service's own process would not
        # have them (each full collection walked them all, in the service's time).
        gc.collect()
        gc.freeze()
        floor_engine = make_engine(copies[1])
        sqlite = floor_engine.dialect.name == "sqlite"
        timed: list[tuple[float, float]] = []
        try:
            with (
                contextlib.closing(floor_engine.raw_connection()) as raw,
                store(
                    backend, pg_server, tmp, clock, url.render_as_string(hide_password=False)
                ) as runtime,
            ):
                for trace in traces:
                    service = transitions(runtime, refs, ROUND)
                    timed.append((service, replay(raw, sqlite, trace)))
                timed = timed[1:]
        finally:
            floor_engine.dispose()
            gc.unfreeze()
        statements = sum(statements_per_transition(t, ROUND) for t in traces[1:]) / rounds
        return Figures(backend, rounds * ROUND, tuple(timed), statements)


def _copies(backend: str, tmp: Path, url: Any, n: int) -> list[str]:
    """``n`` copies of the store at ``url`` (whose engine is disposed); their URLs."""
    if backend == "sqlite":
        source = Path(str(url.database))
        found = []
        for i in range(n):
            target = tmp / f"copy{i}.db"
            shutil.copyfile(source, target)
            found.append(f"sqlite:///{target}")
        return found
    import psycopg

    base = url.render_as_string(hide_password=False)
    server, name = base.rsplit("/", 1)
    plain = server.replace("postgresql+psycopg://", "postgresql://")
    found = []
    with psycopg.connect(f"{plain}/postgres", autocommit=True) as conn:
        for i in range(n):
            conn.execute(f'CREATE DATABASE "{name}_c{i}" TEMPLATE "{name}"')
            found.append(f"{server}/{name}_c{i}")
    return found


def rows(figures: list[Figures]) -> list[tuple[str, str, str]]:
    """(target, figure, verdict) for each store, as bench/quick_bench.py prints them."""
    return [
        (
            f"service layer ≥ 50% of the store floor ({f.backend})",
            f"{f.service_per_s:,.0f} transitions/s against {f.floor_per_s:,.0f}/s "
            f"({f.statements:.1f} statements each): {f.ratio:.0%} (median of "
            f"{len(f.rounds)} rounds timed side by side; {f.ratio_range[0]:.0%}-"
            f"{f.ratio_range[1]:.0%})",
            "✓" if f.ratio >= TARGET else "✗",
        )
        for f in figures
    ]


def run(db: str = "both", count: int = 4000) -> list[tuple[str, str, str]]:
    """Measure the stores ``db`` names; rows for the quick benchmark's table."""
    found = []
    if db in ("sqlite", "both"):
        found.append(measure("sqlite", None, count))
    if db in ("postgresql", "both"):
        from tests.support.services import postgres_server

        with postgres_server() as pg:
            found.append(measure("postgresql", pg, count))
    return rows(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--transitions", type=int, default=4000)
    args = parser.parse_args()
    for target, figure, verdict in run(args.db, args.transitions):
        print(f"{target}: {figure} {verdict}", flush=True)


if __name__ == "__main__":
    main()
