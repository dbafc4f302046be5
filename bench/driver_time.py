"""Where a SQLite step's time goes, timed at the driver: the service against its store floor.

    .venv/bin/python -m bench.driver_time [--rounds 4] [--transitions 800]

The service's pauses and resumes (bench/store_floor.py's transitions) run on sqlite3
connections whose cursors and commits are timed; the statements they send (recorded in a
run of their own over a copy of the store) are replayed on a raw connection over another
copy, as the store floor does, timed the same way. Per step: COMMIT, the statements with
their rows (and BEGIN), and what is left of the step: its Python. The wrappers cost a
microsecond or two a call; the figures are for seeing where the time goes
(docs/benchmarks.md, sixth look), not a target.
"""

from __future__ import annotations

import argparse
import contextlib
import sqlite3
import sqlite3.dbapi2
import tempfile
import time
from pathlib import Path
from typing import Any

import workflow.cases.service as case_service
from bench.runtime_bench import Clock, open_cases, store
from bench.store_floor import CASES, Recording, _copies, recorded, replay, transitions
from workflow.store.database import make_engine

#: Seconds spent in the driver, by kind, since the last reset.
SPENT = {"commit": 0.0, "statements": 0.0}


class _TimedCursor:
    """A sqlite3 cursor whose statements and fetches are timed."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: Any = ()) -> _TimedCursor:
        start = time.perf_counter()
        self._cursor.execute(sql, params)
        SPENT["statements"] += time.perf_counter() - start
        return self

    def executemany(self, sql: str, params: Any) -> _TimedCursor:
        start = time.perf_counter()
        self._cursor.executemany(sql, params)
        SPENT["statements"] += time.perf_counter() - start
        return self

    def fetchall(self) -> list[Any]:
        start = time.perf_counter()
        rows = self._cursor.fetchall()
        SPENT["statements"] += time.perf_counter() - start
        return rows

    def fetchone(self) -> Any:
        start = time.perf_counter()
        row = self._cursor.fetchone()
        SPENT["statements"] += time.perf_counter() - start
        return row

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


class _TimedConnection(sqlite3.Connection):
    """A sqlite3 connection whose cursors, BEGINs and commits are timed."""

    def cursor(self, *args: Any, **kwargs: Any) -> Any:
        return _TimedCursor(super().cursor(*args, **kwargs))

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:  # the store's BEGIN
        start = time.perf_counter()
        cursor = super().execute(sql, *args)
        SPENT["statements"] += time.perf_counter() - start
        return cursor

    def commit(self) -> None:
        start = time.perf_counter()
        super().commit()
        SPENT["commit"] += time.perf_counter() - start


@contextlib.contextmanager
def timed_connections() -> Any:
    """sqlite3 connections opened meanwhile (SQLAlchemy's too) are timed ones."""
    original = sqlite3.dbapi2.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        kwargs["factory"] = _TimedConnection
        return original(*args, **kwargs)

    sqlite3.dbapi2.connect = connect  # type: ignore[assignment]
    sqlite3.connect = connect  # type: ignore[assignment]
    try:
        yield
    finally:
        sqlite3.dbapi2.connect = original
        sqlite3.connect = original


@contextlib.contextmanager
def decisions_kept(into: list[tuple[tuple[Any, ...], float]]) -> Any:
    """Each decision the service makes meanwhile: its arguments and its seconds."""
    original = case_service.decide

    def decide(*args: Any) -> Any:
        start = time.perf_counter()
        made = original(*args)
        into.append((args, time.perf_counter() - start))
        return made

    case_service.decide = decide
    try:
        yield
    finally:
        case_service.decide = original


def decided_alone(kept: list[tuple[tuple[Any, ...], float]]) -> float:
    """Seconds the kept decisions take made again one after the other, nothing between."""
    decide = case_service.decide
    start = time.perf_counter()
    for args, _ in kept:
        decide(*args)
    return time.perf_counter() - start


def _reset() -> None:
    for kind in SPENT:
        SPENT[kind] = 0.0


def _line(side: str, seconds: float, count: int) -> str:
    per = {kind: spent / count * 1e6 for kind, spent in SPENT.items()}
    step = seconds / count * 1e6
    driver = sum(per.values())
    return (
        f"{side}: step {step:.0f} µs = commit {per['commit']:.0f} + statements "
        f"{per['statements']:.0f} + the rest (Python) {step - driver:.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--transitions", type=int, default=4 * CASES)
    args = parser.parse_args()
    count = args.transitions
    with timed_connections(), tempfile.TemporaryDirectory() as tmp_dir:
        tmp, clock = Path(tmp_dir), Clock()
        with store("sqlite", None, tmp, clock) as runtime:
            refs = open_cases(runtime, CASES)
            url = runtime.engine.url
        recorded_copy, service_copy, floor_copy = _copies("sqlite", tmp, url, 3)
        traces = []  # the first round warms both sides up, untimed
        with store("sqlite", None, tmp, clock, recorded_copy) as runtime:
            for _ in range(args.rounds + 1):
                trace = Recording()
                with recorded(runtime, trace):
                    transitions(runtime, refs, count)
                traces.append(trace)
        kept: list[tuple[tuple[Any, ...], float]] = []
        with store("sqlite", None, tmp, clock, service_copy) as runtime:
            for round_ in range(args.rounds + 1):
                _reset()
                kept.clear()
                with decisions_kept(kept):
                    seconds = transitions(runtime, refs, count)
                if round_:
                    print(_line("service", seconds, count), flush=True)
        in_step = sum(spent for _, spent in kept) / len(kept) * 1e6
        for _ in range(3):
            alone = decided_alone(kept) / len(kept) * 1e6
            print(
                f"the engine's decision: {in_step:.0f} µs inside the step, "
                f"{alone:.0f} µs made again alone",
                flush=True,
            )
        engine = make_engine(floor_copy)
        try:
            with contextlib.closing(engine.raw_connection()) as raw:
                for round_, trace in enumerate(traces):
                    _reset()
                    seconds = replay(raw, True, trace)
                    if round_:
                        print(_line("store floor", seconds, count), flush=True)
        finally:
            engine.dispose()


if __name__ == "__main__":
    main()
