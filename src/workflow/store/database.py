"""Connecting to the case store and bringing its schema up to date (Alembic).

A database server that restarts leaves the pool's connections dead. SQLAlchemy's
``pool_pre_ping`` would find them with a round trip per checkout (measured here: +34 µs
on a 130 µs checkout-and-query on local PostgreSQL); instead, a connection the server
has closed is found on checkout by looking whether its socket has anything to read
(an idle connection has nothing to read unless the server said goodbye): ~1 µs, no
round trip, and the pool replaces the connection before it is used. A connection lost
while in use still fails that transaction; :func:`store_unreachable` tells such errors
apart, so a caller whose work is idempotent may retry it.
"""

from __future__ import annotations

import select
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from workflow.errors import StoreUnavailableError
from workflow.store.driver import translated
from workflow.store.json_text import dumps as json_text
from workflow.store.json_text import loads as json_value

MIGRATIONS = Path(__file__).parent / "migrations"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see _sqlite_begin)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


#: The execution option of a transaction that only reads (``UnitOfWork.reading``): on
#: SQLite it begins deferred, so reads run side by side under WAL instead of each
#: waiting for the one write lock.
READ_ONLY = "workflow_read_only"


def sqlite_begin_statement(connection: Any) -> str:
    """The BEGIN a SQLite transaction of ``connection`` is opened with (see below)."""
    return "BEGIN" if connection.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE"


def _sqlite_begin(connection: Any) -> None:
    # pysqlite would start the transaction only at the first write, so reads before it
    # would see no snapshot at all; begin explicitly, as SQLAlchemy's docs advise.
    # IMMEDIATE takes the write lock at once, waiting for it (busy_timeout): a deferred
    # transaction that reads and then writes (a trigger; a page view and its audit entry)
    # fails at once with "database is locked" when another writer committed after its
    # read — under 20 concurrent users, half the page views did (bench/national_bench.py).
    # A transaction that only reads (READ_ONLY) needs no lock: its snapshot begins at its
    # first read.
    # Sent on the driver's connection (an error raised as SQLAlchemy's, like any other
    # statement's): through exec_driver_sql it cost ~40 µs of every transaction's ~160.
    sql = sqlite_begin_statement(connection)
    with translated(connection, sql):
        connection.connection.dbapi_connection.execute(sql)


def _closed_by_server(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """On checkout: hand the pool back a connection the server has closed (e.g. restarted).

    A pooled connection is idle, so its socket has nothing to read, unless the server
    sent its goodbye ("terminating connection") or closed it. Then the pool opens a
    new connection in its place.
    """
    pgconn = getattr(dbapi_connection, "pgconn", None)  # psycopg 3
    if pgconn is None:
        return
    if getattr(dbapi_connection, "closed", False) or getattr(dbapi_connection, "broken", False):
        raise DisconnectionError("the connection was closed")
    try:
        readable, _, _ = select.select([pgconn.socket], [], [], 0)
    except Exception as exc:  # no socket any more (psycopg: "the connection is lost")
        raise DisconnectionError(type(exc).__name__) from exc
    if readable:
        raise DisconnectionError("the server closed the connection")


def store_unreachable(exc: BaseException) -> bool:
    """Whether a database error means the server could not be reached or went away.

    True for a connection lost mid-transaction (SQLAlchemy has then invalidated the
    pool) and for a connection refused; false for an error of the statement itself
    (a constraint, SQLite's "database is locked").
    """
    return isinstance(exc, DBAPIError) and (
        bool(exc.connection_invalidated) or exc.statement is None
    )


def lost_store(exc: BaseException) -> StoreUnavailableError | None:
    """What to tell of a command whose store stopped answering while it worked (see
    :func:`store_unreachable`), or None for any other error. The store is named as the
    settings give it, its password as ``***``."""
    if not store_unreachable(exc):
        return None
    assert isinstance(exc, DBAPIError)
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__
    try:
        from sqlalchemy.engine import make_url

        from workflow.settings import get_settings

        url = make_url(get_settings().store_url)
        where = f" at {url.render_as_string(hide_password=True)}"
    except Exception:  # the settings were read when the command began; never mask the loss
        where = ""
    return StoreUnavailableError(
        f"the store{where} stopped answering during the command: {reason}. What the command "
        "had not committed was rolled back, what it had is kept; when the store answers "
        "again, look at what was done before running the command again (see "
        "docs/operations.md)"
    )


def make_engine(url: str) -> Engine:
    """An engine for the store; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreUnavailableError(
                    f"cannot make the folder of the store {path}: {exc.strerror}. Set "
                    "WORKFLOW_DATABASE_URL (or WORKFLOW_HOME) to a place this user may write"
                ) from None
        # hide_parameters: a database error must never echo a name or CPR number.
        engine = create_engine(
            url,
            connect_args={"timeout": 30},
            hide_parameters=True,
            json_serializer=json_text,
            json_deserializer=json_value,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # No pre-ping (a round trip per transaction): a connection the server closed is
    # found on checkout without one (see the module's docstring); a connection lost
    # mid-request fails that request and is discarded (SQLAlchemy, or for a step's own
    # statements workflow.store.driver), and the next checkouts probe theirs.
    engine = create_engine(
        url,
        pool_size=10,
        max_overflow=20,
        pool_recycle=300,
        hide_parameters=True,
        json_serializer=json_text,
        json_deserializer=json_value,
    )
    event.listen(engine, "checkout", _closed_by_server)
    return engine


def opened(engine: Engine) -> Connection:
    """A connection to the store, or :class:`StoreUnavailableError` saying what is wrong:
    the store cannot be reached or opened, or a PostgreSQL database is not UTF-8 (names
    and free text would be refused or garbled; a database made from ``template1`` on a
    server initialised with another locale gets its encoding)."""
    where = engine.url.render_as_string(hide_password=True)
    try:
        connection = engine.connect()
    except DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
        hint = (
            "Can this user read and write the file and its folder? Or set "
            "WORKFLOW_DATABASE_URL to another store"
            if engine.dialect.name == "sqlite"
            else "Is the database server running, and does WORKFLOW_DATABASE_URL name the "
            "right store?"
        )
        raise StoreUnavailableError(f"cannot open the store at {where}: {reason}. {hint}") from None
    if engine.dialect.name == "postgresql":
        encoding = connection.exec_driver_sql("SHOW server_encoding").scalar()
        connection.rollback()  # the read's own transaction: the caller begins its own
        if encoding != "UTF8":
            connection.close()
            database = engine.url.database
            raise StoreUnavailableError(
                f"the store at {where} uses the encoding {encoding}; it must be UTF8. Make "
                f"a new database: CREATE DATABASE \"{database}\" ENCODING 'UTF8' "
                "TEMPLATE template0 (see docs/operations.md)"
            )
    return connection


def migrate(engine: Engine) -> None:
    """Upgrade the store's schema to the newest migration (on a connection
    :func:`opened` gives: an unreachable or unusable store is a clear error).

    On SQLite, a migration that changes a column copies the table and drops the old one
    (Alembic's batch mode); with foreign keys enforced, dropping a table that other rows
    refer to fails. As SQLite's documentation prescribes, foreign keys are switched off
    (outside the transaction) while migrating, and checked before they are switched on.
    """
    from alembic import command  # here: a command that does not migrate never loads Alembic
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    sqlite = engine.dialect.name == "sqlite"
    with opened(engine) as connection:
        raw = connection.connection.dbapi_connection
        if sqlite and raw is not None:
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"the migration broke {len(broken)} references")
        finally:
            if sqlite and raw is not None:
                raw.execute("PRAGMA foreign_keys=ON")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)
