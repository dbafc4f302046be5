"""Writing to the audit log: who did what to which data, when and why.

The one writer of audit entries: case services, privacy services, the caseload and
the accounts' login events all go through :func:`write_audit`, in the caller's
transaction, so an entry commits or rolls back with the act it records.

A read has no transaction of its own to commit: a page view reads in a pure read
transaction (concurrent with the others, on SQLite too) and hands its entry to
:func:`commit_read_audit`, which returns only once the entry is committed — so a read
is answered only after its entry is in the store, and no entry of an answered request
is lost when the process dies. The entries of reads at the same moment are committed
together, in one transaction, by one thread per store (:class:`AuditWriter`: a group
commit; SQLite lets one writer through at a time, so one short transaction for many
entries instead of a write transaction for every page view).
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from workflow.engine.model import Actor
from workflow.store.busy import retry_when_busy
from workflow.store.driver import autocommit
from workflow.store.loading import connection_of
from workflow.store.statements import WRITE_AUDIT


class AuditAction(StrEnum):
    """What an audit entry records: a use of case data, or an event of a login."""

    READ = "read"
    SEARCH = "search"
    CHANGE = "change"
    EXPORT = "export"
    DELETE = "delete"
    #: A step or read that was refused (no standing, a role not held, a rule of the model).
    REFUSED = "refused"
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    #: A login refused unheard: too many failures from its address or for its username.
    LOGIN_LOCKED = "login_locked"
    #: Many failed logins for one username or from one address: an operator should look.
    LOGIN_ALERT = "login_alert"
    LOGOUT = "logout"


class AuditObject(StrEnum):
    """What an audit entry is about (its ``object_id`` names which one)."""

    CASE = "case"
    CPR = "cpr"
    CONSENT = "consent"
    CASE_EXPORT = "case_export"
    ACCESS_LOG = "access_log"
    CASELOAD = "caseload"
    TASK = "task"
    WORKLIST = "worklist"
    CONFERENCE = "conference"
    POOL = "pool"
    ACCOUNT = "account"
    CITIZEN_LOGIN = "citizen_login"
    ACCESS_GRANT = "access_grant"
    AUDIT_LOG = "audit_log"
    DEFINITION = "definition"
    RETENTION_REPORT = "retention_report"
    #: The operator's outbox commands (``object_id``: the case reference, ``*`` or
    #: ``outbox:<id>``): codes only, so not a case object (workflow.cases.machinery).
    OUTBOX = "outbox"
    #: The operator's machinery view of a case (codes only, not a case object).
    MACHINERY = "machinery"
    #: A municipality's outcome figures (``object_id``: its code, or ``*``: the national
    #: comparison): counts of many young people, not a case object.
    OUTCOMES = "outcomes"


#: Objects whose entries are about one case (``object_id`` is the case reference): the
#: citizen's access log shows every use of these. A new object type about a case goes here.
CASE_OBJECTS = frozenset(
    {
        AuditObject.CASE,
        AuditObject.CPR,
        AuditObject.CONSENT,
        AuditObject.CASE_EXPORT,
        AuditObject.TASK,
        AuditObject.ACCESS_LOG,
    }
)


def write_audit(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: AuditAction,
    object_type: AuditObject,
    object_id: str,
    purpose: str,
    details: dict[str, Any] | None = None,
) -> None:
    """Add one entry in the caller's transaction (it commits or rolls back with the act)."""
    WRITE_AUDIT.execute(
        connection_of(session, flush=False),
        audit_row(
            at=at,
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            purpose=purpose,
            details=details,
        ),
    )


def audit_row(
    *,
    at: datetime,
    actor: str,
    action: AuditAction,
    object_type: AuditObject,
    object_id: str,
    purpose: str,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One entry as the audit table's row (its texts cut to their columns)."""
    return {
        "at": at,
        "actor": actor[:200],
        "action": action.value,
        "object_type": object_type.value,
        "object_id": object_id[:64],
        "purpose": purpose[:200],
        "details": details or {},
    }


def commit_read_audit(engine: Engine, row: Mapping[str, Any]) -> None:
    """Commit the entry of a read that has been made (its read transaction is over);
    returns once it is committed, raises when it could not be (then the read must not
    be answered). Entries handed in at the same moment are committed together."""
    writer(engine).commit(row)


class _Waiting:
    """An entry handed to the writer, and the request thread waiting for its commit."""

    __slots__ = ("done", "error", "row")

    def __init__(self, row: Mapping[str, Any]) -> None:
        self.row = row
        self.done = threading.Event()
        self.error: BaseException | None = None


#: How long the writer's thread waits for the next entry before it ends (a new one is
#: started with the next entry): an idle process keeps no thread and no connection.
IDLE_SECONDS = 2.0


class AuditWriter:
    """The group commit of one store's read entries: one thread takes every entry
    waiting, inserts them in one transaction (a connection from the engine's pool),
    commits, and then wakes their requests; the entries that came meanwhile are the
    next transaction. A batch that fails is tried entry by entry, so one entry's error
    fails only its own request."""

    def __init__(self, engine: Engine) -> None:
        # Weakly: the writers are kept per engine, and an engine must not outlive its use.
        self._engine = weakref.ref(engine)
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._queue: list[_Waiting] = []
        self._running = False
        #: Transactions committed and entries in them (for tests and the bench).
        self.batches = 0
        self.entries = 0
        #: Entries in the transaction being written now.
        self.writing = 0

    @property
    def queued(self) -> int:
        """Entries waiting for the next transaction."""
        with self._lock:
            return len(self._queue)

    def commit(self, row: Mapping[str, Any]) -> None:
        """Queue ``row`` and wait until it is committed (or raise why it was not)."""
        waiting = _Waiting(row)
        with self._lock:
            self._queue.append(waiting)
            if self._running:
                self._arrived.notify()
            else:
                self._running = True
                self._start()
        waiting.done.wait()
        if waiting.error is not None:
            raise waiting.error

    def _start(self) -> None:
        threading.Thread(target=self._run, name="audit-writer", daemon=True).start()

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    self._arrived.wait(IDLE_SECONDS)
                if not self._queue:
                    self._running = False
                    return
                batch, self._queue = self._queue, []
                self.writing = len(batch)
            try:
                self._write(batch)
            except BaseException as error:  # never leave a request waiting for ever
                for waiting in batch:
                    if not waiting.done.is_set():
                        self._fail(waiting, error)
                with self._lock:  # entries queued meanwhile get a writer of their own
                    self._running = bool(self._queue)
                    if self._running:
                        self._start()
                raise
            finally:
                self.writing = 0

    def _write(self, batch: Sequence[_Waiting]) -> None:
        try:
            self._insert(batch)
        except Exception as error:
            if len(batch) == 1:
                self._fail(batch[0], error)
                return
            for one in batch:  # one entry's error fails only its own request
                try:
                    self._insert([one])
                except Exception as its_own:
                    self._fail(one, its_own)

    def _insert(self, batch: Sequence[_Waiting]) -> None:
        engine = self._engine()
        if engine is None:  # the store is gone (a test's runtime disposed of)
            raise RuntimeError("the store of these audit entries is gone")

        rows = [w.row for w in batch]

        def once() -> None:
            if engine.dialect.name == "postgresql" and len(rows) <= WRITE_AUDIT.rows_per_insert():
                # One INSERT of every row: atomic on its own, so no BEGIN and COMMIT
                # round trips around it (one entry at a time: 0.41 -> 0.31 ms of CPU and
                # 0.65 -> 0.44 ms until committed, measured on PostgreSQL 15).
                with autocommit(engine) as connection:
                    WRITE_AUDIT.insert_values(connection, rows)
                return
            with engine.begin() as connection:
                WRITE_AUDIT.executemany(connection, rows)

        retry_when_busy(once)
        self.batches += 1
        self.entries += len(batch)
        for waiting in batch:
            waiting.done.set()

    @staticmethod
    def _fail(waiting: _Waiting, error: BaseException) -> None:
        waiting.error = error
        waiting.done.set()


_writers: weakref.WeakKeyDictionary[Engine, tuple[int, AuditWriter]] = weakref.WeakKeyDictionary()
_writers_lock = threading.Lock()


def writer(engine: Engine) -> AuditWriter:
    """The audit writer of ``engine``'s store in this process (one per engine)."""
    with _writers_lock:
        found = _writers.get(engine)
        if found is None or found[0] != os.getpid():  # a forked child starts its own
            found = _writers[engine] = (os.getpid(), AuditWriter(engine))
        return found[1]


def actor_label(actor: Actor) -> str:
    """How the audit log and the history name an actor: ``role:staff-id``."""
    return f"{actor.role}:{actor.id or '-'}"
