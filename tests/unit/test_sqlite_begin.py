"""A SQLite transaction begins on the driver's connection: IMMEDIATE for a writer,
deferred for a read-only one, and a store locked by another writer is SQLAlchemy's
'busy' error that the services wait out (workflow.store.busy)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError

from workflow.store.busy import is_busy
from workflow.store.database import READ_ONLY, make_engine


def _engine(path: Path) -> Any:
    engine = make_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _impatient(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=50")

    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
    return engine


def test_a_writer_waits_for_the_lock_and_is_told_busy(tmp_path: Path) -> None:
    engine = _engine(tmp_path / "s.db")
    other = sqlite3.connect(tmp_path / "s.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process writing
    try:
        with pytest.raises(OperationalError) as caught, engine.begin() as connection:
            connection.execute(text("SELECT 1"))
        assert is_busy(caught.value)
        # A read-only transaction takes no lock: it reads beside the writer.
        with (
            engine.connect().execution_options(**{READ_ONLY: True}) as reader,
            reader.begin(),
        ):
            assert reader.execute(text("SELECT count(*) FROM t")).scalar() == 0
    finally:
        other.execute("ROLLBACK")
        other.close()
    with engine.begin() as connection:  # the lock is free again: the writer gets it
        connection.execute(text("INSERT INTO t VALUES (1)"))
        assert connection.connection.dbapi_connection.in_transaction
    engine.dispose()
