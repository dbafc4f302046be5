"""Copying exemplar cases into the national store, row for row, as the driver stores them.

An exemplar's rows (case, young person, history, timers, outbox, audit, team, plans,
consents, ...) are read with the raw driver exactly as the service wrote them. A copy
gets new ids (foreign keys follow), its own reference, its own staff ids, an invented
young person (name and encrypted CPR number) and all its timestamps moved by a whole
number of days; everything else is byte for byte the exemplar's (JSON bodies included,
so dates *inside* JSON keep the exemplar's). Rows go in with ``executemany`` (SQLite) or
``COPY`` (PostgreSQL). Every table of the store must be known here, so a table added
later fails loudly instead of being left empty.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, Integer

from workflow.store.column_types import UTCDateTime
from workflow.store.tables import Base

#: How to find an exemplar's rows in each case table ({case} and {reference} filled in).
CASE_TABLES: dict[str, str] = {
    "young_persons": "id = (SELECT young_person_id FROM cases WHERE id = {case})",
    "cases": "id = {case}",
    "history_events": "case_id = {case}",
    "meetings": "case_id = {case}",
    "plans": "case_id = {case}",
    "plan_goals": "plan_id IN (SELECT id FROM plans WHERE case_id = {case})",
    "team_memberships": "case_id = {case}",
    "coordinators": "case_id = {case}",
    "tasks": "case_id = {case}",
    "timers": "case_id = {case}",
    "outbox": "case_id = {case}",
    "consents": "case_id = {case}",
    "consent_departments": "case_id = {case}",
    "consent_parts": "case_id = {case}",
    "audit_log": "object_id = '{reference}'",
    "guardians": "case_id = {case}",
    "pool_entries": "case_id = {case}",
    "conference_items": "case_id = {case}",
    "case_figures": "case_id = {case}",
    "meeting_figures": "case_id = {case}",
    "deadline_figures": "case_id = {case}",
}
#: Tables not copied per case (shared, per staff member, or not written by these steps).
OTHER_TABLES = {
    "alembic_version",
    "definition_versions",
    "reference_counters",
    "accounts",
    "web_sessions",
    "access_grants",
    "idempotency_keys",
    "citizen_sessions",
    "conference_sessions",
}
#: Date columns that are not moved with the case (a birth date stays a birth date).
FIXED_DATES = {("young_persons", "birth_date")}


class UnknownTableError(RuntimeError):
    """The store has a table this copier does not know how to fill."""


class RawStore:
    """The raw driver connection the copier reads and writes with."""

    dialect = ""

    def tables(self) -> set[str]:
        raise NotImplementedError

    def columns(self, table: str) -> list[str]:
        raise NotImplementedError

    def read(self, table: str, columns: Sequence[str], where: str) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def write(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        raise NotImplementedError

    def scalar(self, sql: str) -> Any:
        raise NotImplementedError

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        raise NotImplementedError

    def commit(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def shift_time(self, value: str, delta: timedelta) -> str:
        raise NotImplementedError


class SqliteRaw(RawStore):
    """sqlite3, as SQLAlchemy stores datetimes: 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC)."""

    dialect = "sqlite"

    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, timeout=60)
        self.conn.execute("PRAGMA foreign_keys=OFF")  # set-up only; copies keep their references
        self.conn.execute("PRAGMA synchronous=OFF")

    def tables(self) -> set[str]:
        rows = self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        return {r[0] for r in rows if not r[0].startswith("sqlite_")}

    def columns(self, table: str) -> list[str]:
        return [r[1] for r in self.conn.execute(f"PRAGMA table_info({table})")]

    def read(self, table: str, columns: Sequence[str], where: str) -> list[tuple[Any, ...]]:
        sql = f"SELECT {', '.join(columns)} FROM {table} WHERE {where} ORDER BY 1"
        return self.conn.execute(sql).fetchall()

    def write(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        marks = ", ".join("?" for _ in columns)
        self._begin()
        self.conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    def scalar(self, sql: str) -> Any:
        return self.conn.execute(sql).fetchone()[0]

    def _begin(self) -> None:
        # Reads run outside a transaction, so each sees what the service committed last.
        if not self.conn.in_transaction:
            self.conn.execute("BEGIN")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._begin()
        self.conn.execute(sql, params)

    def commit(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("COMMIT")

    def close(self) -> None:
        self.commit()
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.conn.close()

    def shift_time(self, value: str, delta: timedelta) -> str:
        return (datetime.fromisoformat(value) + delta).isoformat(" ", "microseconds")


class PostgresRaw(RawStore):
    """psycopg with COPY in text format (timestamps read and written in UTC)."""

    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        import psycopg

        self.conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
        self.conn.execute("SET TimeZone = 'UTC'")

    def tables(self) -> set[str]:
        rows = self.conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
        return {r[0] for r in rows}

    def columns(self, table: str) -> list[str]:
        rows = self.conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
            "ORDER BY ordinal_position",
            (table,),
        ).fetchall()
        return [r[0] for r in rows]

    def read(self, table: str, columns: Sequence[str], where: str) -> list[tuple[Any, ...]]:
        sql = f"COPY (SELECT {', '.join(columns)} FROM {table} WHERE {where} ORDER BY 1) TO STDOUT"
        with self.conn.cursor().copy(sql) as copy:
            return [tuple(row) for row in copy.rows()]

    def write(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        with self.conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def scalar(self, sql: str) -> Any:
        row = self.conn.execute(sql).fetchone()
        return row[0] if row else None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.conn.execute(sql.replace("?", "%s"), params)

    def commit(self) -> None:
        self.conn.commit()

    def close(self) -> None:
        self.conn.commit()
        self.conn.close()

    def shift_time(self, value: str, delta: timedelta) -> str:
        return (datetime.fromisoformat(value) + delta).isoformat(" ")


@dataclass
class TablePlan:
    """Which columns of a table a copy changes, and how."""

    name: str
    columns: list[str]
    id_pos: int | None
    foreign: list[tuple[int, str]]  # (position, referenced case table)
    times: list[int]
    dates: list[int]
    texts: list[int]


def plans(raw: RawStore) -> list[TablePlan]:
    """The copy plan of every case table, in an order that keeps foreign keys valid."""
    present = raw.tables()
    unknown = present - set(CASE_TABLES) - OTHER_TABLES
    if unknown:
        raise UnknownTableError(
            f"the store has tables the national bench does not copy: {sorted(unknown)}; "
            "add them to bench/national_clone.py (CASE_TABLES or OTHER_TABLES)"
        )
    metadata = Base.metadata.tables
    ordered = [t.name for t in Base.metadata.sorted_tables if t.name in CASE_TABLES]
    result = []
    for name in ordered:
        columns = raw.columns(name)
        table = metadata[name]
        plan = TablePlan(name, columns, None, [], [], [], [])
        for pos, column_name in enumerate(columns):
            column = table.columns.get(column_name)
            if column is None:
                continue  # added by a newer migration than these models: copied as it is
            if column.foreign_keys:  # first: a key that is also the row's (case_figures)
                target = next(iter(column.foreign_keys)).column.table.name
                if target in CASE_TABLES:
                    plan.foreign.append((pos, target))
            elif column.primary_key and isinstance(column.type, Integer):
                plan.id_pos = pos
            elif isinstance(column.type, UTCDateTime):
                plan.times.append(pos)
            elif isinstance(column.type, Date) and (name, column_name) not in FIXED_DATES:
                plan.dates.append(pos)
            elif not isinstance(column.type, Integer):
                plan.texts.append(pos)
        result.append(plan)
    return result


def snapshot(
    raw: RawStore, table_plans: list[TablePlan], case_id: int, reference: str
) -> dict[str, list[tuple[Any, ...]]]:
    """An exemplar's rows in every case table."""
    assert re.fullmatch(r"[A-Z]+-\d{4}-\d+", reference), reference
    return {
        p.name: raw.read(
            p.name, p.columns, CASE_TABLES[p.name].format(case=case_id, reference=reference)
        )
        for p in table_plans
    }


@dataclass
class Copy:
    """What one copy of an exemplar changes."""

    reference: str
    days: int  # how far its timestamps move
    staff: dict[str, str]  # exemplar staff id -> this copy's
    person: tuple[str, str]  # (name, encrypted CPR number)


@dataclass
class Copier:
    """Writes copies of exemplars, batch by batch."""

    raw: RawStore
    table_plans: list[TablePlan]
    next_id: dict[str, int] = field(default_factory=dict)
    pending: dict[str, list[list[Any]]] = field(default_factory=dict)
    written: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for plan in self.table_plans:
            if plan.id_pos is not None:
                column = plan.columns[plan.id_pos]
                self.next_id[plan.name] = (
                    int(self.raw.scalar(f"SELECT COALESCE(MAX({column}), 0) FROM {plan.name}")) + 1
                )
            self.pending[plan.name] = []
            self.written[plan.name] = 0

    def add(
        self, rows: dict[str, list[tuple[Any, ...]]], exemplar_reference: str, copy: Copy
    ) -> int:
        """Queue one copy; returns its case id."""
        olds = {exemplar_reference: copy.reference} | copy.staff
        pattern = re.compile("|".join(re.escape(o) for o in sorted(olds, key=len, reverse=True)))

        def swap(match: re.Match[str]) -> str:
            return olds[match.group(0)]

        delta = timedelta(days=copy.days)
        moved: dict[str, str] = {}
        ids: dict[str, dict[str, Any]] = {}
        case_id = 0
        for plan in self.table_plans:
            mapping: dict[str, Any] = {}
            ids[plan.name] = mapping
            out = self.pending[plan.name]
            for row in rows[plan.name]:
                values = list(row)
                if plan.id_pos is not None:
                    new_id = self.next_id[plan.name]
                    self.next_id[plan.name] = new_id + 1
                    mapping[str(values[plan.id_pos])] = new_id
                    values[plan.id_pos] = _same_kind(values[plan.id_pos], new_id)
                for pos, target in plan.foreign:
                    old = values[pos]
                    if old is not None:
                        values[pos] = _same_kind(old, ids[target][str(old)])
                for pos in plan.times:
                    old = values[pos]
                    if old is not None:
                        if old not in moved:
                            moved[old] = self.raw.shift_time(old, delta)
                        values[pos] = moved[old]
                for pos in plan.dates:
                    old = values[pos]
                    if old is not None:
                        values[pos] = (date.fromisoformat(old) + delta).isoformat()
                for pos in plan.texts:
                    old = values[pos]
                    if isinstance(old, str):
                        values[pos] = pattern.sub(swap, old)
                if plan.name == "young_persons":
                    names = plan.columns
                    values[names.index("name")], values[names.index("cpr")] = copy.person
                if plan.name == "cases":
                    case_id = int(values[plan.id_pos or 0])
                out.append(values)
        return case_id

    def flush(self) -> None:
        for plan in self.table_plans:
            rows = self.pending[plan.name]
            if rows:
                self.raw.write(plan.name, plan.columns, rows)
                self.written[plan.name] += len(rows)
                self.pending[plan.name] = []
        self.raw.commit()

    def finish(self, counters: dict[str, int]) -> None:
        """Reference counters past every copy; PostgreSQL's id sequences past every id."""
        self.flush()
        for prefix, last in counters.items():
            self.raw.execute("DELETE FROM reference_counters WHERE prefix = ?", (prefix,))
            self.raw.execute(
                "INSERT INTO reference_counters (prefix, last) VALUES (?, ?)", (prefix, last)
            )
        if self.raw.dialect == "postgresql":
            for plan in self.table_plans:
                if plan.id_pos is not None:
                    column = plan.columns[plan.id_pos]
                    self.raw.execute(
                        f"SELECT setval(pg_get_serial_sequence('{plan.name}', '{column}'), "
                        f"(SELECT MAX({column}) FROM {plan.name}))"
                    )
        self.raw.commit()


def _same_kind(old: Any, new: int) -> Any:
    """An id as the driver gave the old one (COPY text gives strings)."""
    return str(new) if isinstance(old, str) else new
