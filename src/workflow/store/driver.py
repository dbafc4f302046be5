"""Prebuilt statements run on the database driver's own cursor: the hot path of a step.

A step of a case is a handful of small statements. Through SQLAlchemy's execution
machinery each costs tens of microseconds of Python around a statement the database
runs in a few; here each Core statement is compiled once per dialect and run on the
DBAPI cursor of the caller's connection (same transaction), with SQLAlchemy's own
bind and result processors for its column types (JSON, aware datetimes), so values
are stored exactly as the ORM stores them.

On PostgreSQL, :func:`pipelined` sends a block of statements without waiting for each
answer (psycopg's pipeline mode): the writes of a step cost one round trip, not eight.
Within :func:`deferred_inserts` (a bulk intake's chunk of openings) the INSERTs are
queued instead, and sent together per statement when the block ends (PostgreSQL: one
INSERT ... VALUES of up to 1,000 rows).

Driver errors are raised as SQLAlchemy's exceptions (IntegrityError, OperationalError,
...) with their parameters hidden, like every other statement of the store; a lost
connection is invalidated, as SQLAlchemy does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Engine, event, exc
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import Compiled

Processor = Callable[[Any], Any]


def _in_order(order: tuple[str, ...]) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """The values of ``order``'s names as a tuple (``itemgetter``: in C, not a loop)."""
    if len(order) == 1:
        only = order[0]
        return lambda values: (values[only],)
    if not order:
        return lambda _values: ()
    return itemgetter(*order)


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
    #: The parameters in the driver's order (positional paramstyles), else None.
    positional: Callable[[dict[str, Any]], tuple[Any, ...]] | None = None


#: Rows in one INSERT ... VALUES of :meth:`DriverStatement.insert_values`, and the most
#: parameters PostgreSQL takes in one statement.
_MOST_ROWS = 1000
_MOST_PARAMETERS = 65535
_BIND = re.compile(r"%\((\w+)\)s")


@dataclass(frozen=True, slots=True)
class _Values:
    """A one-row INSERT (pyformat binds) as the pieces of a many-row one ($n binds)."""

    head: str  # INSERT INTO t (a, b) VALUES
    parts: tuple[str, ...]  # the row's text around its binds
    names: tuple[str, ...]  # the row's binds, in order
    sqls: dict[int, str]  # built, by number of rows

    @classmethod
    def of(cls, sql: str) -> _Values:
        head, _, row = sql.partition(" VALUES ")
        if not row or " RETURNING " in row:
            raise ValueError(f"not a plain one-row INSERT: {sql}")
        pieces = _BIND.split(row)  # text, name, text, name, ..., text
        parts = tuple(p.replace("%%", "%") for p in pieces[0::2])
        return cls(f"{head} VALUES ", parts, tuple(pieces[1::2]), {})

    def sql(self, rows: int) -> str:
        """The statement for ``rows`` rows ($1, $2... numbered row after row)."""
        built = self.sqls.get(rows)
        if built is None:
            width = len(self.names)
            text = [self.head]
            for row in range(rows):
                if row:
                    text.append(", ")
                for index, part in enumerate(self.parts[:-1]):
                    text.append(f"{part}${row * width + index + 1}")
                text.append(self.parts[-1])
            built = "".join(text)
            if len(self.sqls) < 8:  # a chunk's size, the last chunk's...
                self.sqls[rows] = built
        return built


class DriverStatement:
    """A Core statement compiled once per dialect and run on the driver's cursor."""

    def __init__(self, statement: ClauseElement, columns: Sequence[str] = ()) -> None:
        """``columns``: an INSERT's columns, each bound by its own name."""
        self.statement = statement
        self.columns = list(columns)
        self._compiled: dict[tuple[str, str], _Compiled] = {}
        self._values: dict[str, _Values] = {}

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
        binds: dict[str, Processor] = {}  # a name used twice is one value, processed once
        for bind, name in names.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                binds.setdefault(name, processor)
        results: list[Processor | None] = []
        for column in getattr(self.statement, "selected_columns", ()):
            impl = column.type.dialect_impl(dialect)
            results.append(impl.result_processor(dialect, None))
        order = tuple(done.positiontup) if done.positional else None  # type: ignore[attr-defined]
        processed = tuple((i, p) for i, p in enumerate(results) if p is not None)
        return _Compiled(
            done.string,
            order,
            tuple(binds.items()),
            tuple(results),
            defaults,
            processed,
            None if order is None else _in_order(order),
        )

    @staticmethod
    def _params(compiled: _Compiled, params: Mapping[str, Any]) -> Any:
        values = {**compiled.defaults, **params} if compiled.defaults else dict(params)
        for name, processor in compiled.binds:
            if name in values:
                values[name] = processor(values[name])
        if compiled.positional is None:
            return values
        return compiled.positional(values)

    def prepare(self, dialect: Dialect, params: Mapping[str, Any]) -> tuple[str, Any]:
        """The SQL and the driver's parameters, as :meth:`execute` sends them."""
        compiled = self._for(dialect)
        return compiled.sql, self._params(compiled, params)

    def execute(self, connection: Connection, params: Mapping[str, Any]) -> Any:
        """Run once; returns the driver's cursor (``rowcount``; rows via :meth:`rows`).

        An INSERT within :func:`deferred_inserts` is queued (None is returned); any other
        statement first sends what is queued, so it sees every write before it.
        """
        queue = _QUEUE.get()
        if queue is not None and queue.connection is connection:
            if self.columns:
                queue.rows.setdefault(self, []).append(params)
                return None
            queue.send()
        dialect = connection.dialect
        sql, driver_params = self.prepare(dialect, params)
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:  # as translated() does, without a context manager's cost on the hot path
            cursor.execute(sql, driver_params)
        except dialect.loaded_dbapi.Error as error:
            raise _translation(connection, sql, error) from error
        return cursor

    def executemany(self, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run once per row (psycopg: pipelined; sqlite3: one prepared statement)."""
        queue = _QUEUE.get()
        if queue is not None and queue.connection is connection:
            if self.columns:
                queue.rows.setdefault(self, []).extend(rows)
                return
            queue.send()
        self._executemany(connection, rows)

    def inserted(self, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        """Run an INSERT ... RETURNING once per row; the first value each returned (the
        new id), in the rows' order. psycopg: one pipelined executemany (one round trip,
        the statement parsed once); sqlite3: row by row, in process."""
        queue = _QUEUE.get()
        if queue is not None and queue.connection is connection:
            queue.send()
        compiled = self._for(connection.dialect)
        cursor: Any = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        params = [self._params(compiled, row) for row in rows]
        found: list[Any] = []
        with translated(connection, compiled.sql):
            if connection.dialect.name == "postgresql":
                cursor.executemany(compiled.sql, params, returning=True)
                for _ in params:
                    found.append(_first_value(cursor))
                    cursor.nextset()
            else:
                for row in params:
                    cursor.execute(compiled.sql, row)
                    found.append(_first_value(cursor))
        return found

    def insert_values(self, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """PostgreSQL: an INSERT of many rows as INSERT ... VALUES (...), (...), ... (up
        to 1,000 rows a statement): one statement for the server to run, not one per
        row, sent with numbered parameters (psycopg's raw cursor: a long statement is not
        parsed on the client). Elsewhere: :meth:`executemany`'s way."""
        if connection.dialect.name != "postgresql" or len(rows) < 2:
            self._executemany(connection, rows)
            return
        from psycopg import RawCursor

        compiled = self._for(connection.dialect)
        values = self._values.get(connection.dialect.name)
        if values is None:
            values = self._values[connection.dialect.name] = _Values.of(compiled.sql)
        driver: Any = connection.connection.driver_connection
        cursor = RawCursor(driver)
        per_statement = max(1, min(_MOST_ROWS, _MOST_PARAMETERS // max(1, len(values.names))))
        with translated(connection, compiled.sql):
            for start in range(0, len(rows), per_statement):
                part = rows[start : start + per_statement]
                params = [self._params(compiled, row) for row in part]
                flat = [row[name] for row in params for name in values.names]
                cursor.execute(values.sql(len(part)), flat)

    def rows_per_insert(self) -> int:
        """The most rows :meth:`insert_values` sends in one statement (an INSERT's)."""
        return max(1, min(_MOST_ROWS, _MOST_PARAMETERS // max(1, len(self.columns))))

    def _executemany(self, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        compiled = self._for(connection.dialect)
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        with translated(connection, compiled.sql):
            cursor.executemany(compiled.sql, [self._params(compiled, row) for row in rows])

    def rows(
        self, connection: Connection, params: Mapping[str, Any], shared: int = 0
    ) -> list[tuple[Any, ...]]:
        """Run a SELECT; its rows with the columns' result processors applied (``shared``:
        see :meth:`fetched`)."""
        return self.fetched(connection, self.execute(connection, params), shared)

    def fetched(
        self, connection: Connection, cursor: Any, shared: int = 0
    ) -> list[tuple[Any, ...]]:
        """The rows of a cursor this statement ran on (:meth:`execute`), processed.

        ``shared``: the first columns hold the same values in every row (a row joined to
        each of its children): processed once, from the first row, and repeated (a
        case's JSON columns are decoded once, not once per timer).
        """
        compiled = self._for(connection.dialect)
        try:
            fetched = cursor.fetchall()
        except connection.dialect.loaded_dbapi.Error as error:
            raise _translation(connection, compiled.sql, error) from error
        processed = compiled.processed
        if not processed:
            return [tuple(row) for row in fetched]
        found = []
        head: list[Any] = []
        for number, row in enumerate(fetched):
            values = list(row)
            for index, processor in processed:
                if index >= shared or not number:
                    values[index] = processor(values[index])
            if shared:
                if number:
                    values[:shared] = head
                else:
                    head = values[:shared]
            found.append(tuple(values))
        return found


def read_together(
    connection: Connection, reads: Sequence[tuple[DriverStatement, Mapping[str, Any]]]
) -> list[list[tuple[Any, ...]]]:
    """The rows of several SELECTs, in order. On PostgreSQL they are sent in one pipelined
    block (one round trip, not one per SELECT: a case page reads a dozen small sets of
    rows); elsewhere run one after another."""
    with pipelined(connection):
        cursors = [statement.execute(connection, params) for statement, params in reads]
    return [
        statement.fetched(connection, cursor)
        for (statement, _params), cursor in zip(reads, cursors, strict=True)
    ]


@contextmanager
def autocommit(engine: Engine) -> Iterator[Connection]:
    """A pooled connection whose statements each commit on their own, handed back to the
    pool as it was. On PostgreSQL a lone statement needs no BEGIN and COMMIT (or
    ROLLBACK) round trips around it: one statement is atomic, and sees one snapshot;
    SQLite's connections already run a lone statement this way."""
    with engine.connect() as connection:
        raw: Any = connection.connection.dbapi_connection
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            raw.autocommit = True  # psycopg: a client-side switch, no round trip
        try:
            yield connection
        finally:
            if postgres and not connection.invalidated:
                raw.autocommit = False  # as the pool hands it out to everyone else


def read_alone(
    engine: Engine, statement: DriverStatement, params: Mapping[str, Any]
) -> list[tuple[Any, ...]]:
    """The rows of one SELECT run outside a transaction (:func:`autocommit`): for a read
    that needs no other statement's company (the user behind a session, staff names).
    On PostgreSQL two round trips fewer: ~60% of such a read's CPU (measured: ~300
    against ~110 µs)."""
    with autocommit(engine) as connection:
        return statement.rows(connection, params)


def _first_value(cursor: Any) -> Any:
    row = cursor.fetchone()
    assert row is not None, "an INSERT ... RETURNING returned no row"
    return row[0]


@contextmanager
def translated(connection: Connection, sql: str) -> Iterator[None]:
    """Raise a driver error as SQLAlchemy's exception; invalidate a lost connection."""
    try:
        yield
    except connection.dialect.loaded_dbapi.Error as error:
        raise _translation(connection, sql, error) from error


def _translation(connection: Connection, sql: str, error: Any) -> exc.StatementError:
    """SQLAlchemy's exception for a driver error (parameters hidden); a lost connection
    is invalidated."""
    dialect = connection.dialect
    raw = connection.connection.dbapi_connection
    lost = dialect.is_disconnect(error, raw, None)
    if lost:
        connection.invalidate(error)
    translated_error: exc.StatementError = exc.DBAPIError.instance(
        sql,
        None,
        error,
        dialect.loaded_dbapi.Error,
        hide_parameters=True,
        connection_invalidated=lost,
        dialect=dialect,
    )
    return translated_error


@dataclass(eq=False)
class _Queue:
    """The INSERTs queued on a connection within :func:`deferred_inserts`."""

    connection: Connection
    rows: dict[DriverStatement, list[Mapping[str, Any]]] = field(default_factory=dict)

    def send(self, *_: Any) -> None:
        """Send what is queued: the rows of each statement together, in the order each
        was first used (:meth:`DriverStatement.insert_values`), in one pipelined block
        (PostgreSQL: one round trip)."""
        queued, self.rows = self.rows, {}
        if not queued:
            return
        with _pipeline(self.connection):
            for statement, rows in queued.items():
                statement.insert_values(self.connection, rows)


_QUEUE: ContextVar[_Queue | None] = ContextVar("workflow_deferred_inserts", default=None)


@contextmanager
def deferred_inserts(connection: Connection) -> Iterator[None]:
    """Queue the block's prebuilt INSERTs on ``connection``; send them when it ends.

    For many similar writes at once (a chunk of a bulk intake: a history event, timers,
    an audit entry... per case): each statement is sent once with all its rows. Any
    other statement on the connection (a prebuilt UPDATE or SELECT, or one through
    SQLAlchemy) first sends the queue, so nothing reads or changes rows out of order;
    the queued INSERTs themselves are grouped by statement, in the order each was first
    used, so a block must not queue an INSERT that reads a table a later-first-used
    INSERT writes (an outbox row finds its history event: history comes first). Errors
    are raised when the block ends (or at the statement that sends the queue).
    """
    queue = _Queue(connection)
    send = queue.send  # one bound method: the listener removed is the one added
    token = _QUEUE.set(queue)
    event.listen(connection, "before_cursor_execute", send)
    try:
        yield
    except BaseException:
        _QUEUE.reset(token)
        raise
    else:
        _QUEUE.reset(token)
        send()
    finally:
        event.remove(connection, "before_cursor_execute", send)


@contextmanager
def pipelined(connection: Connection) -> Iterator[None]:
    """PostgreSQL (psycopg): send the block's statements in one round trip.

    Errors of any statement in the block are raised when it ends. Elsewhere (SQLite,
    in process) the statements simply run one after another. Within
    :func:`deferred_inserts` on the same connection it does nothing: the queue is sent
    in one block when that ends.
    """
    queue = _QUEUE.get()
    if queue is not None and queue.connection is connection:
        yield
        return
    with _pipeline(connection):
        yield


@contextmanager
def _pipeline(connection: Connection) -> Iterator[None]:
    driver = connection.connection.driver_connection
    pipeline = getattr(driver, "pipeline", None)
    if pipeline is None or connection.dialect.name != "postgresql":
        yield
        return
    with translated(connection, "(pipeline)"), pipeline():
        yield
