"""Delivery benchmark: CPU per notification, file channel and a local SMTP sink, both stores.

    .venv/bin/python -m bench.delivery_bench [--rows 1000] [--db sqlite|postgresql|both]

Builds a store with ``--rows`` pending notifications made by the service layer (Sorø
cases referred, accepted, consent given to school and UU, a pre-meeting held: mails to
the team with the meeting's invitation, the coordinator, the young person's and the
guardians' own channels), then delivers them with ``Deliverer.deliver_many``, 200 rows at
a time as the sweep does, and measures this process's CPU (``time.process_time``) and the
wall time, per notification:

- the file channel (every mail written as an .eml file);
- an SMTP sink (aiosmtpd on 127.0.0.1, in a separate process: its CPU is not counted),
  checking that every row ended sent and the sink got each message exactly once (as many
  (Message-ID, recipient) pairs as the file run wrote mails, none twice);
- the floor: the claim (one UPDATE ... RETURNING per 200 rows, with the cases' references,
  in a transaction) and a finish UPDATE per row (committed by itself: autocommit), on the
  raw driver connection, without rendering or sending.

The same rows are put back to pending before each run (a copy of the same notifications);
each is run three times and the median reported (a fresh sink each time).
Before the first run a few rows are delivered and put back: reading the pinned definition
and compiling its templates happens once per worker process, not per notification.
On SQLite the database's own work runs in this process and is counted; on PostgreSQL the
server's is not (the floor shows what the driver costs on either). ``run()`` returns
(target, figure, verdict) rows for ``bench/quick_bench.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import update
from tests.support.case_api import PRE_MEETING
from tests.support.services import free_port, postgres_server

from bench import runtime_bench
from workflow.cases.model import Referral, YoungPersonDetails
from workflow.delivery.outbox import FINISH_ROW, Deliverer
from workflow.engine.model import Actor
from workflow.privacy.consents import ConsentRequest
from workflow.runtime import Runtime
from workflow.store.column_types import UTC_TIME
from workflow.store.driver import autocommit
from workflow.store.states import OutboxState
from workflow.store.tables import OutboxRow

#: CPU per notification the delivery must stay within (issue 19).
TARGET_MS = 1.0
CHUNK = 200
#: Runs of each measure; the median is reported (the machine's other load varies).
RUNS = 3
#: Rows delivered (and put back) before measuring: what a worker does once per process.
WARM_UP = 20
ROWS_PER_CASE = 6  # a referral notice and a pre-meeting's five notifications (see below)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Figures:
    rows: int
    cpu: float
    wall: float

    @property
    def cpu_ms(self) -> float:
        return self.cpu * 1000 / self.rows

    @property
    def wall_ms(self) -> float:
        return self.wall * 1000 / self.rows


# --- the rows ---------------------------------------------------------------------------


def make_rows(runtime: Runtime, rows: int) -> list[int]:
    """Pending notifications, made as a caseworker makes them."""
    cw = Actor("caseworker", "cw")
    cases = max(1, rows // ROWS_PER_CASE)
    referrals = [
        Referral(
            "soroe",
            YoungPersonDetails(f"Bench Person {i}", f"010110{4000 + i:04d}", date(2010, 1, 1)),
            cw,
            {"source": "school", "caseworker": "cw"},
            f"delivery-bench:{i}",
        )
        for i in range(cases)
    ]
    refs: list[str] = []
    for start in range(0, cases, 500):
        opened = runtime.service.refer_many(referrals[start : start + 500])
        refs += [r.reference for r in opened if hasattr(r, "reference")]
    for ref in refs:
        runtime.service.trigger(
            ref, "accept_referral", {"young_person_agrees": True, "consent": True}, cw
        )
        runtime.consents.give(ref, cw, ConsentRequest(["skole", "uu"], guardian=True))
        runtime.service.trigger(ref, "hold_pre_meeting", PRE_MEETING, cw)
    return runtime.deliverer.due_rows(1_000_000)


def put_back(runtime: Runtime, ids: list[int], clock: Clock) -> None:
    """The rows waiting again, as they were written (for the next run)."""
    with runtime.sessions() as session, session.begin():
        session.execute(
            update(OutboxRow)
            .where(OutboxRow.id.in_(ids))
            .values(
                state=OutboxState.PENDING,
                attempts=0,
                available_at=clock.now,
                sent_at=None,
                last_error=None,
                announced_at=None,
            )
        )


def median(runs: list[Figures]) -> Figures:
    """The run of median CPU."""
    return sorted(runs, key=lambda figures: figures.cpu)[len(runs) // 2]


def deliver(deliverer: Deliverer, ids: list[int]) -> tuple[Figures, Counter[str]]:
    statuses: Counter[str] = Counter()
    cpu, wall = time.process_time(), time.perf_counter()
    for start in range(0, len(ids), CHUNK):
        statuses.update(str(o.status) for o in deliverer.deliver_many(ids[start : start + CHUNK]))
    return Figures(len(ids), time.process_time() - cpu, time.perf_counter() - wall), statuses


# --- the floor --------------------------------------------------------------------------


def floor(runtime: Runtime, ids: list[int], clock: Clock) -> Figures:
    """Claim and finish statements only, on the raw driver connection."""
    engine = runtime.engine
    dialect = engine.dialect
    pg = dialect.name == "postgresql"
    p = "%s" if pg else "?"
    moment = UTC_TIME.dialect_impl(dialect).bind_processor(dialect)
    lease = moment(clock.now.replace(hour=9)) if moment else clock.now.replace(hour=9)
    waiting = "state IN ('pending', 'sending')"
    cpu, wall = time.process_time(), time.perf_counter()
    # Autocommit: the claim is a transaction of its own (BEGIN ... COMMIT), each finish a
    # statement committed by itself, as Deliverer records outcomes.
    with autocommit(engine) as connection:
        raw: Any = connection.connection.dbapi_connection
        cursor = raw.cursor()
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            marks = ", ".join([p] * len(chunk))
            picked = (
                f"SELECT id FROM outbox WHERE id IN ({marks}) AND {waiting} FOR UPDATE SKIP LOCKED"
                if pg
                else f"SELECT id FROM outbox WHERE id IN ({marks}) AND {waiting}"
            )
            cursor.execute("BEGIN" if pg else "BEGIN IMMEDIATE")
            cursor.execute(
                f"UPDATE outbox SET state = 'sending', attempts = attempts + 1, "
                f"available_at = {p} WHERE id IN ({picked}) AND {waiting} "
                "RETURNING id, case_id, attempts, template, recipient, payload, dedupe_key",
                [lease, *chunk],
            )
            claimed = cursor.fetchall()
            case_ids = sorted({row[1] for row in claimed})
            cursor.execute(
                "SELECT id, reference, definition_version_id FROM cases "
                f"WHERE id IN ({', '.join([p] * len(case_ids))})",
                case_ids,
            )
            cursor.fetchall()
            cursor.execute("COMMIT")
            for row in claimed:
                sql, params = FINISH_ROW.prepare(
                    dialect,
                    {
                        "b_id": row[0],
                        "b_attempts": row[2],
                        "b_state": OutboxState.SENT,
                        "b_error": None,
                        "b_sent_at": clock.now,
                        "b_retry_at": None,
                    },
                )
                cursor.execute(sql, params)
    return Figures(len(ids), time.process_time() - cpu, time.perf_counter() - wall)


# --- the SMTP sink, in a process of its own ---------------------------------------------

_MESSAGE_ID = re.compile(rb"^Message-ID: (<[^>]+>)", re.MULTILINE | re.IGNORECASE)


def sink_main(port: int) -> None:
    """Run the sink until stdin closes; then print what it received as JSON."""
    from aiosmtpd.controller import Controller

    received: Counter[str] = Counter()
    peers: set[Any] = set()

    class Handler:
        async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
            self, server: Any, session: Any, envelope: Any
        ) -> str:
            found = _MESSAGE_ID.search(bytes(envelope.content))
            key = found.group(1).decode() if found else "?"
            for rcpt in envelope.rcpt_tos:
                received[f"{key} {rcpt}"] += 1
            peers.add(session.peer)
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    sys.stdin.read()
    controller.stop()
    print(json.dumps({"received": received, "connections": len(peers)}), flush=True)


@contextmanager
def smtp_sink() -> Iterator[tuple[int, dict[str, Any]]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.delivery_bench", "--sink", str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    report: dict[str, Any] = {}
    try:
        assert process.stdout.readline().strip() == "ready"
        yield port, report
    finally:
        process.stdin.close()
        line = process.stdout.readline()
        process.wait(timeout=30)
        if line:
            report.update(json.loads(line))


# --- a store ----------------------------------------------------------------------------


def store(db: str, server: str | None, tmp: Path, clock: Clock) -> Any:
    """A runtime over a new store (bench/runtime_bench.py's)."""
    return runtime_bench.store(db, server, tmp, clock)


def bench_store(db: str, server: str | None, rows: int) -> list[tuple[str, str, str]]:
    results: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp, clock = Path(tmp_dir), Clock()
        with store(db, server, tmp, clock) as runtime:
            started = time.perf_counter()
            ids = make_rows(runtime, rows)
            print(
                f"[{db}] {len(ids):,} pending notifications made in "
                f"{time.perf_counter() - started:.1f} s",
                flush=True,
            )
            settings = runtime.settings
            clock.now = clock.now.replace(minute=1)
            # Once per process, not per notification: the pinned definition read, its
            # templates compiled, the calendar zone made. Then the rows wait again.
            Deliverer(runtime.uow, settings).deliver_many(ids[:WARM_UP])
            put_back(runtime, ids[:WARM_UP], clock)
            file_runs, smtp_runs, floor_runs = [], [], []
            connections = 0
            for _ in range(RUNS):
                put_back(runtime, ids, clock)
                run_, statuses = deliver(Deliverer(runtime.uow, settings), ids)
                assert statuses == Counter({"sent": len(ids)}), statuses
                file_runs.append(run_)
                mails = sum(1 for _ in settings.mail_dir.rglob("*.eml"))

                put_back(runtime, ids, clock)
                with smtp_sink() as (port, sink):
                    smtp_settings = settings.model_copy(
                        update={"smtp_host": "127.0.0.1", "smtp_port": port}
                    )
                    run_, statuses = deliver(Deliverer(runtime.uow, smtp_settings), ids)
                assert statuses == Counter({"sent": len(ids)}), statuses
                smtp_runs.append(run_)
                received: dict[str, int] = sink["received"]
                twice = sum(1 for n in received.values() if n > 1)
                if len(received) != mails or twice:
                    raise AssertionError(f"sink: {len(received)} mails for {mails}, {twice} twice")
                connections = max(connections, int(sink["connections"]))

                put_back(runtime, ids, clock)
                floor_runs.append(floor(runtime, ids, clock))
            chunks = -(-len(ids) // CHUNK)
            file_run, smtp_run, floor_run = map(median, (file_runs, smtp_runs, floor_runs))

        for channel, figures, note in (
            ("file", file_run, f"{mails:,} .eml files"),
            (
                "SMTP sink",
                smtp_run,
                f"{len(received):,} mails received once each, "
                f"{connections} client connections (distinct ports) for {chunks} batches",
            ),
        ):
            ok = figures.cpu_ms <= TARGET_MS
            line = (
                f"[{db}] {channel}: CPU per notification {figures.cpu_ms:.2f} ms "
                f"(target ≤ {TARGET_MS:g} ms) {'✓' if ok else '✗'}; wall {figures.wall_ms:.2f} ms; "
                f"floor {floor_run.cpu_ms:.3f} ms CPU ({floor_run.wall_ms:.3f} ms wall); "
                f"ratio {figures.cpu_ms / floor_run.cpu_ms:.1f}x the floor's CPU; {note}"
            )
            print(line, flush=True)
            results.append(
                (
                    f"delivery CPU per notification, {db}, {channel} (≤ {TARGET_MS:g} ms)",
                    f"{figures.cpu_ms:.2f} ms (wall {figures.wall_ms:.2f} ms; floor "
                    f"{floor_run.cpu_ms:.3f} ms, {figures.cpu_ms / floor_run.cpu_ms:.1f}x)",
                    "✓" if ok else "✗",
                )
            )
        results.append(
            (
                f"SMTP connections, {db} (one per batch)",
                f"{connections} for {chunks} batches of ≤ {CHUNK} rows",
                "✓" if connections <= chunks else "✗",
            )
        )
    return results


def run(rows: int = 1000, db: str = "both") -> list[tuple[str, str, str]]:
    """The delivery targets: (target, figure, verdict) per store and channel."""
    results: list[tuple[str, str, str]] = []
    if db in ("sqlite", "both"):
        results += bench_store("sqlite", None, rows)
    if db in ("postgresql", "both"):
        with postgres_server() as server:
            results += bench_store("postgresql", server, rows)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--sink", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink:
        sink_main(args.sink)
        return
    print(
        f"machine: {os.cpu_count()} cores, {platform.machine()}, "
        f"Python {platform.python_version()}; load {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    results = run(args.rows, args.db)
    print("\n| target | figure | verdict |\n| --- | --- | --- |")
    for target, figure, verdict in results:
        print(f"| {target} | {figure} | {verdict} |")


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    main()
