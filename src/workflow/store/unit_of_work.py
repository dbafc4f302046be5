"""The unit of work: what every service of the case store is given.

cosmicpython's pattern in SQLAlchemy 2 style, kept small: one object owns the session
factory, the clock, the definitions catalogue and the CPR cipher, and hands out
transactions that commit when the block ends and roll back when it raises (SQLAlchemy's
``session.begin()``, so there is no separate ``commit()`` to forget). The statements and
loaders of ``workflow.store`` play the repositories' part. Services receive a unit of work
instead of each other, so no service module imports another that imports it back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from workflow.store.catalog import DefinitionCatalog
from workflow.store.database import READ_ONLY


class Cipher(Protocol):
    """Encrypts CPR numbers for the store (implemented by ``workflow.privacy.cpr``)."""

    def encrypt(self, cpr: str) -> str:
        """The stored form of a CPR number."""

    def decrypt(self, stored: str) -> str:
        """The CPR number a stored value holds."""

    def mask(self, stored: str) -> str:
        """The stored value shown without its last four digits."""

    def lookup_key(self, cpr: str) -> str:
        """The keyed hash a login's CPR claim is matched with (under the newest key)."""

    def lookup_keys(self, cpr: str) -> list[str]:
        """The keyed hashes of a CPR number under every key of the ring, newest first."""


#: How many idle connections a unit of work keeps for steps on SQLite (see
#: :meth:`UnitOfWork.step`): a few, well inside the engine's pool, so steps running side
#: by side beyond them check out their own and nothing else waits for one.
KEPT_FOR_STEPS = 2

#: The zone the law's days are counted in (every municipality here is Danish).
DANISH_TIME = ZoneInfo("Europe/Copenhagen")


def utc_now() -> datetime:
    """The wall clock, in UTC (the default clock)."""
    return datetime.now(UTC)


def _brief_sessions(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    bind = sessions.kw["bind"]
    if isinstance(bind, Engine) and bind.dialect.name == "postgresql":
        return sessionmaker(
            bind.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
        )
    return sessionmaker(bind, expire_on_commit=False, execution_options={READ_ONLY: True})


class UnitOfWork:
    """Session factory, clock, definitions catalogue and CPR cipher of one process."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        catalog: DefinitionCatalog,
        cipher: Cipher,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.sessions = sessions
        self._brief = _brief_sessions(sessions)
        #: SQLite: connections kept between steps, idle (see :meth:`step`); None elsewhere.
        self._kept: list[Connection] | None = [] if self.engine.dialect.name == "sqlite" else None
        self.catalog = catalog
        #: Encrypts CPR numbers for the store.
        self.cpr = cipher
        self.clock = clock

    def today(self) -> date:
        """Today's date in Denmark by the clock: the day ages (a guardian's custody ends
        at 18) are counted on, whatever the server's zone."""
        return self.clock().astimezone(DANISH_TIME).date()

    @property
    def engine(self) -> Engine:
        """The store's database engine."""
        bind = self.sessions.kw["bind"]
        assert isinstance(bind, Engine)
        return bind

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self.sessions() as session, session.begin():
            yield session

    @contextmanager
    def step(self) -> Iterator[Session]:
        """One transaction for a step of a case, as :meth:`transaction` gives, begun on a
        Core connection; the session joins it and begins nothing of its own until it is
        used (:func:`~workflow.store.loading.connection_of` hands out the connection).

        Most steps never use it: their reads and writes are prebuilt statements on the
        connection (:mod:`workflow.store.driver`). The ORM's own transaction cost ~30 µs
        of such a step's Python (its begin, connection, commit and close bookkeeping).

        On SQLite the step's connection is kept for the next step (at most
        :data:`KEPT_FOR_STEPS` idle, taken by one step at a time): checking a connection
        out of the pool and back in (the pool's bookkeeping, its rollback on return) was
        ~7% of a pause or resume (both ways by turns in one process, 40 rounds). Only a
        connection that ended its transaction and is whole is kept. PostgreSQL's
        connections go back to the pool, whose checkout finds one the server has closed
        (a restart)."""
        kept = self._kept
        connection = None
        if kept:
            try:
                connection = kept.pop()  # atomic: no two steps take the same one
            except IndexError:  # another thread took the last one meanwhile
                connection = None
        if connection is None:
            connection = self.engine.connect()
        try:
            with connection.begin():
                # join_transaction_mode "conservative_savepoint": the session never commits
                # the connection's transaction, and closing it leaves it alone.
                session = Session(bind=connection, expire_on_commit=False)
                try:
                    yield session
                    session.flush()
                finally:
                    if session.in_transaction():  # used: a session never begun holds nothing
                        session.close()
        finally:
            if (
                kept is not None
                and len(kept) < KEPT_FOR_STEPS
                and not connection.invalidated
                and not connection.in_transaction()
            ):
                kept.append(connection)
            else:
                connection.close()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for reading; nothing it does is committed (on SQLite its transaction
        takes no write lock, so reads run side by side)."""
        with self.sessions(execution_options={READ_ONLY: True}) as session:
            yield session

    @contextmanager
    def brief_reading(self) -> Iterator[Session]:
        """A session for a page's few reads (it must not write): on PostgreSQL each
        statement runs on its own (autocommit; at the store's READ COMMITTED each
        statement sees a snapshot of its own in a transaction too), so the page is spared
        the BEGIN and ROLLBACK round trips. Elsewhere as :meth:`reading`.

        Not for long reads: a bulk intake's check of 50,000 referrals took 73 s in
        autocommit against 40 s in one transaction (measured on PostgreSQL 15)."""
        with self._brief() as session:
            yield session
