"""Prebuilt statements run on the database driver's own cursor: the hot path of a step.

A step of a case is a handful of small statements. Through SQLAlchemy's execution
machinery each costs tens of microseconds of Python around a statement the database
runs in a few; here each Core statement is compiled once per dialect and run on the
DBAPI cursor of the caller's connection (same transaction), with SQLAlchemy's own
bind and result processors for its column types (JSON, aware datetimes), so values
are stored exactly as the ORM stores them.

On PostgreSQL, :func:`pipelined` sends a block of statements without waiting for each
answer (psycopg's pipeline mode): the writes of a step cost one round trip, not eight.

Driver errors are raised as SQLAlchemy's exceptions (IntegrityError, OperationalError,
...) with their parameters hidden, like every other statement of the store; a lost
connection is invalidated, as SQLAlchemy does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, exc
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import Compiled

Processor = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    #: Bind names in the order the driver takes them (positional paramstyles), else None.
    order: tuple[str, ...] | None
    binds: tuple[tuple[str, Processor], ...]
    results: tuple[Processor | None, ...]
    #: The values of the statement's own literals.
    defaults: dict[str, Any]
    #: The result columns that have a processor: (position, processor).
    processed: tuple[tuple[int, Processor], ...] = ()


class DriverStatement:
    """A Core statement compiled once per dialect and run on the driver's cursor."""

    def __init__(self, statement: ClauseElement, columns: Sequence[str] = ()) -> None:
        """``columns``: an INSERT's columns, each bound by its own name."""
        self.statement = statement
        self.columns = list(columns)
        self._compiled: dict[tuple[str, str], _Compiled] = {}

    def _for(self, dialect: Dialect) -> _Compiled:
        key = (dialect.name, dialect.driver)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = self._compile(dialect)
        return compiled

    def _compile(self, dialect: Dialect) -> _Compiled:
        if self.columns:  # an INSERT: no implicit RETURNING of the new id
            done: Compiled = self.statement.compile(
                dialect=dialect, column_keys=self.columns, for_executemany=True
            )
        else:
            done = self.statement.compile(dialect=dialect)
        if "POSTCOMPILE" in done.string:
            raise ValueError(f"an IN list cannot be prebuilt for the driver: {done.string}")
        names: dict[Any, str] = done.bind_names  # type: ignore[attr-defined]
        # Literal values in the statement (state = 'running') are binds with values.
        defaults = {
            name: bind.value
            for bind, name in names.items()
            if bind.value is not None and not bind.required
        }
        binds: list[tuple[str, Processor]] = []
        for bind, name in names.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                binds.append((name, processor))
        results: list[Processor | None] = []
        for column in getattr(self.statement, "selected_columns", ()):
            impl = column.type.dialect_impl(dialect)
            results.append(impl.result_processor(dialect, None))
        order = tuple(done.positiontup) if done.positional else None  # type: ignore[attr-defined]
        processed = tuple((i, p) for i, p in enumerate(results) if p is not None)
        return _Compiled(done.string, order, tuple(binds), tuple(results), defaults, processed)

    @staticmethod
    def _params(compiled: _Compiled, params: Mapping[str, Any]) -> Any:
        values = compiled.defaults | dict(params)
        for name, processor in compiled.binds:
            if name in values:
                values[name] = processor(values[name])
        if compiled.order is None:
            return values
        return tuple(values[name] for name in compiled.order)

    def prepare(self, dialect: Dialect, params: Mapping[str, Any]) -> tuple[str, Any]:
        """The SQL and the driver's parameters, as :meth:`execute` sends them."""
        compiled = self._for(dialect)
        return compiled.sql, self._params(compiled, params)

    def execute(self, connection: Connection, params: Mapping[str, Any]) -> Any:
        """Run once; returns the driver's cursor (``rowcount``; rows via :meth:`rows`)."""
        sql, driver_params = self.prepare(connection.dialect, params)
        raw = connection.connection.dbapi_connection
        cursor = raw.cursor()  # type: ignore[union-attr]
        with translated(connection, sql):
            cursor.execute(sql, driver_params)
        return cursor

    def executemany(self, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run once per row (psycopg: pipelined; sqlite3: one prepared statement)."""
        compiled = self._for(connection.dialect)
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        with translated(connection, compiled.sql):
            cursor.executemany(compiled.sql, [self._params(compiled, row) for row in rows])

    def rows(self, connection: Connection, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Run a SELECT; its rows with the columns' result processors applied."""
        compiled = self._for(connection.dialect)
        cursor = self.execute(connection, params)
        with translated(connection, compiled.sql):
            fetched = cursor.fetchall()
        processed = compiled.processed
        if not processed:
            return [tuple(row) for row in fetched]
        found = []
        for row in fetched:
            values = list(row)
            for index, processor in processed:
                values[index] = processor(values[index])
            found.append(tuple(values))
        return found


@contextmanager
def translated(connection: Connection, sql: str) -> Iterator[None]:
    """Raise a driver error as SQLAlchemy's exception; invalidate a lost connection."""
    dialect = connection.dialect
    dbapi = dialect.loaded_dbapi
    try:
        yield
    except dbapi.Error as error:
        raw = connection.connection.dbapi_connection
        lost = dialect.is_disconnect(error, raw, None)
        if lost:
            connection.invalidate(error)
        raise exc.DBAPIError.instance(
            sql,
            None,
            error,
            dbapi.Error,
            hide_parameters=True,
            connection_invalidated=lost,
            dialect=dialect,
        ) from error


@contextmanager
def pipelined(connection: Connection) -> Iterator[None]:
    """PostgreSQL (psycopg): send the block's statements in one round trip.

    Errors of any statement in the block are raised when it ends. Elsewhere (SQLite,
    in process) the statements simply run one after another.
    """
    driver = connection.connection.driver_connection
    pipeline = getattr(driver, "pipeline", None)
    if pipeline is None or connection.dialect.name != "postgresql":
        yield
        return
    with translated(connection, "(pipeline)"), pipeline():
        yield
