"""Raw-driver floors, measured on the national store itself (same tables, same indexes).

Each floor does the least a scenario must do, with sqlite3 or psycopg and no Python
around it but the loop. Floors that write add rows marked as theirs (history events
with a negative step number, audit entries for purpose 'bench-floor', outbox rows
already 'sent' with a 'bench-floor:' key, 'cancelled' timers) and remove them after,
so the store the service sees next is the same size. No other writer runs meanwhile,
so "every id above the largest before the floor" is exactly the floor's rows.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

FLOOR_TABLES = ("history_events", "audit_log", "outbox", "timers")

#: Bodies of the size a meeting step writes (inputs, effects, notification payload).
INPUTS = json.dumps(
    {
        "plan": [
            {
                "id": i,
                "text": "Jeg skal møde op i skole 3 dage om ugen",
                "department": "skole",
                "theme": "uddannelse",
                "owner": None,
                "deadline": None,
                "status": "open",
            }
            for i in (1, 2, 3)
        ],
        "next_meeting_at": "2026-04-28T09:00+02:00",
    }
)
EFFECTS = json.dumps(
    [
        {
            "type": "Notify",
            "recipient": {"kind": "team_member", "id": "skole", "person": "laerer"},
            "template": "plan_agreed",
            "shared": {"next_meeting_at": "2026-04-28T09:00+02:00"},
            "timer": None,
        }
    ]
    * 4
)
PAYLOAD = json.dumps(
    {
        "shared": {"next_meeting_at": "2026-04-28T09:00+02:00"},
        "timer": None,
        "timer_due": None,
        "event": "hold_first_meeting",
        "stage": "follow_up",
        "phase": "follow_up",
    }
)
RECIPIENT = json.dumps({"kind": "team_member", "id": "skole", "person": "laerer"})


@dataclass(frozen=True)
class Raw:
    """How to open a raw driver connection to the store, and its parameter style."""

    dialect: str
    target: str  # a file path (SQLite) or a libpq URL

    def connect(self) -> Any:
        if self.dialect == "sqlite":
            # check_same_thread: the web floor hands connections between worker threads.
            conn = sqlite3.connect(
                self.target, isolation_level=None, timeout=30, check_same_thread=False
            )
            conn.execute("PRAGMA foreign_keys=ON")  # as the service's connections
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=10000")
            return conn
        import psycopg

        return psycopg.connect(self.target)

    def sql(self, statement: str) -> str:
        return statement if self.dialect == "sqlite" else statement.replace("?", "%s")

    def when(self, moment: datetime) -> Any:
        """A timestamp as SQLAlchemy stores it (SQLite: UTC text)."""
        if self.dialect == "sqlite":
            return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
        return moment

    def begin(self, conn: Any) -> None:
        if self.dialect == "sqlite":
            conn.execute("BEGIN")

    def commit(self, conn: Any) -> None:
        if self.dialect == "sqlite":
            conn.execute("COMMIT")
        else:
            conn.commit()


def marks(raw: Raw, tables: Sequence[str] = FLOOR_TABLES) -> dict[str, int]:
    """The largest id of each table a floor writes to (what to keep when cleaning up)."""
    conn = raw.connect()
    try:
        return {
            t: conn.execute(f"SELECT COALESCE(MAX(id), 0) FROM {t}").fetchone()[0] for t in tables
        }
    finally:
        conn.close()


def clean(raw: Raw, before: dict[str, int], extra: Sequence[str] = ()) -> None:
    """Remove everything a floor added (rows above ``before``'s ids).

    Without foreign key checks: nothing refers to a floor's rows but its own rows, and
    the checks would scan ``outbox`` for every history event removed (``outbox.history_id``
    has no index), and ``cases`` for every young person (``cases.young_person_id``).
    """
    conn = raw.connect()
    try:
        if raw.dialect == "sqlite":
            conn.execute("PRAGMA foreign_keys=OFF")  # outside a transaction, or it is ignored
        else:
            conn.execute("SET session_replication_role = replica")  # superuser: bench cluster
        raw.begin(conn)
        for statement in extra:
            conn.execute(statement)
        for table, last in reversed(before.items()):  # rows that refer to others go first
            conn.execute(raw.sql(f"DELETE FROM {table} WHERE id > ?"), (last,))
        raw.commit(conn)
    finally:
        conn.close()


class _Step:
    """The writes of one step (a transition or a fired timer), on one connection."""

    def __init__(self, raw: Raw, conn: Any, moment: datetime) -> None:
        self.raw, self.conn, self.at = raw, conn, raw.when(moment)
        self.update_case = raw.sql("UPDATE cases SET version = version + 1 WHERE id = ?")
        self.history = raw.sql(
            "INSERT INTO history_events (case_id, seq, event, transition, from_stage, to_stage, "
            "inputs, effects, actor_role, actor_id, at) VALUES (?, ?, 'bench-floor', "
            "'bench-floor', 'follow_up', 'follow_up', ?, ?, 'coordinator', 'floor', ?)"
        )
        self.audit = raw.sql(
            "INSERT INTO audit_log (at, actor, action, object_type, object_id, purpose, details) "
            "VALUES (?, 'coordinator:floor', 'change', 'case', ?, 'bench-floor', ?)"
        )
        self.outbox = raw.sql(
            "INSERT INTO outbox (case_id, kind, recipient, template, payload, dedupe_key, "
            "attempts, state, available_at, created_at) VALUES (?, 'notify', ?, 'plan_agreed', "
            "?, ?, 0, 'sent', ?, ?)"
        )
        self.timer = raw.sql(
            "INSERT INTO timers (case_id, timer, due_at, state, firings) "
            "VALUES (?, 'bench_floor', ?, 'cancelled', 0)"
        )
        self.touch_timer = raw.sql("UPDATE timers SET firings = firings WHERE id = ?")

    def transition(self, case_id: int, seq: int, key: str) -> None:
        """UPDATE + 4 INSERTs (case; history, audit, outbox, timer)."""
        execute = self.conn.execute
        execute(self.update_case, (case_id,))
        execute(self.history, (case_id, seq, INPUTS, EFFECTS, self.at))
        execute(self.audit, (self.at, key, '{"event": "bench-floor", "seq": 0}'))
        execute(self.outbox, (case_id, RECIPIENT, PAYLOAD, key, self.at, self.at))
        execute(self.timer, (case_id, self.at))

    def fire(self, timer_id: int, case_id: int, seq: int, key: str) -> None:
        """A fired timer: the timer and case rows, history, audit and one notification."""
        execute = self.conn.execute
        execute(self.touch_timer, (timer_id,))
        execute(self.update_case, (case_id,))
        execute(self.history, (case_id, seq, "{}", EFFECTS, self.at))
        execute(self.audit, (self.at, key, '{"event": "bench-floor", "seq": 0}'))
        execute(self.outbox, (case_id, RECIPIENT, PAYLOAD, key, self.at, self.at))


def transitions(raw: Raw, case_ids: list[int], moment: datetime, threads: int) -> float:
    """Transactions/s of UPDATE + 4 INSERTs over ``case_ids``, on ``threads`` connections."""
    before = marks(raw)
    work = list(enumerate(case_ids))
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker() -> None:
        conn = raw.connect()
        step = _Step(raw, conn, moment)
        try:
            while True:
                with lock:
                    if not work:
                        return
                    k, case_id = work.pop()
                for attempt in range(50):
                    try:
                        raw.begin(conn)
                        step.transition(case_id, -1 - k, f"bench-floor:t{k}")
                        raw.commit(conn)
                        break
                    except sqlite3.OperationalError:  # locked beyond the busy timeout
                        conn.execute("ROLLBACK")
                        time.sleep(0.001 * attempt)
        except BaseException as exc:
            errors.append(exc)
        finally:
            conn.close()

    started = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - started
    clean(raw, before)
    if errors:
        raise errors[0]
    return len(case_ids) / elapsed


def sweep(raw: Raw, moment: datetime, chunk: int = 200) -> tuple[float, int]:
    """SELECT the due timers, then per timer the writes a firing makes; 200 per transaction."""
    before = marks(raw)
    conn = raw.connect()
    step = _Step(raw, conn, moment)
    started = time.perf_counter()
    due = conn.execute(
        raw.sql(
            "SELECT id, case_id, timer FROM timers WHERE state = 'running' AND due_at <= ? "
            "ORDER BY due_at, id"
        ),
        (raw.when(moment),),
    ).fetchall()
    if raw.dialect == "postgresql":
        conn.commit()
    for start in range(0, len(due), chunk):
        raw.begin(conn)
        for k, (timer_id, case_id, _timer) in enumerate(due[start : start + chunk], start):
            step.fire(timer_id, case_id, -1 - k, f"bench-floor:s{k}")
        raw.commit(conn)
    elapsed = time.perf_counter() - started
    conn.close()
    clean(raw, before)
    return elapsed, len(due)


def delivery(raw: Raw, row_ids: list[int], moment: datetime, chunk: int = 200) -> float:
    """Per chunk: read the rows (with the case reference) and claim them; then finish them.

    Run after the service delivered the same rows; the writes leave every value as it is.
    """
    conn = raw.connect()
    at = raw.when(moment)
    started = time.perf_counter()
    for start in range(0, len(row_ids), chunk):
        ids = row_ids[start : start + chunk]
        inside = ", ".join(str(int(i)) for i in ids)
        raw.begin(conn)
        conn.execute(
            "SELECT o.id, o.recipient, o.template, o.payload, o.dedupe_key, o.attempts, "
            "c.reference FROM outbox o JOIN cases c ON c.id = o.case_id "
            f"WHERE o.id IN ({inside})"
        ).fetchall()
        conn.execute(f"UPDATE outbox SET state = state, attempts = attempts WHERE id IN ({inside})")
        raw.commit(conn)
        raw.begin(conn)
        conn.execute(
            raw.sql(f"UPDATE outbox SET state = state, sent_at = ? WHERE id IN ({inside})"),
            (at,),
        )
        raw.commit(conn)
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


Batch = dict[str, tuple[list[str], list[list[Any]]]]


def bulk(raw: Raw, batches: list[Batch], extra_clean: Sequence[str]) -> float:
    """executemany of pre-built rows, one transaction per batch; the rows are removed after."""
    before = marks(raw, [t for t in batches[0] if t != "idempotency_keys"])
    conn = raw.connect()
    started = time.perf_counter()
    for batch in batches:
        raw.begin(conn)
        cursor = conn.cursor()
        for table, (columns, rows) in batch.items():
            names = ", ".join(columns)
            places = ", ".join("?" for _ in columns)
            cursor.executemany(raw.sql(f"INSERT INTO {table} ({names}) VALUES ({places})"), rows)
        raw.commit(conn)
    elapsed = time.perf_counter() - started
    conn.close()
    clean(raw, before, extra_clean)
    return elapsed
