"""A step's transaction (UnitOfWork.step): statements on its connection and the session's
ORM objects commit together, or roll back together, on both stores."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflow.runtime import Runtime
from workflow.store.audit import AuditAction, AuditObject, write_audit
from workflow.store.loading import connection_of
from workflow.store.tables import AuditEntry, ReferenceCounter

AT = datetime(2026, 3, 2, 8, tzinfo=UTC)


def _audit(session: Session, object_id: str) -> None:
    write_audit(
        session,
        at=AT,
        actor="caseworker:cw",
        action=AuditAction.CHANGE,
        object_type=AuditObject.CASE,
        object_id=object_id,
        purpose="test",
    )


def _count(runtime: Runtime, object_id: str) -> int:
    with runtime.uow.reading() as session:
        found = session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.object_id == object_id)
        )
    return int(found or 0)


def test_the_connection_is_handed_out_and_the_session_begins_nothing(runtime: Runtime) -> None:
    with runtime.uow.step() as session:
        connection = connection_of(session)
        _audit(session, "STEP-1")
        assert connection_of(session, flush=False) is connection
        assert not session.in_transaction()  # the driver's write needed no ORM transaction
    assert _count(runtime, "STEP-1") == 1


def test_orm_objects_and_driver_writes_commit_together(runtime: Runtime) -> None:
    with runtime.uow.step() as session:
        _audit(session, "STEP-2")
        session.add(ReferenceCounter(prefix="STEP2", last=7))
    with runtime.uow.reading() as session:
        assert session.get(ReferenceCounter, "STEP2") is not None
    assert _count(runtime, "STEP-2") == 1


def test_a_failing_flush_rolls_the_driver_writes_back(runtime: Runtime) -> None:
    with runtime.uow.transaction() as session:
        session.add(ReferenceCounter(prefix="STEP3", last=1))

    def step() -> None:
        with runtime.uow.step() as session:
            _audit(session, "STEP-3")
            session.add(ReferenceCounter(prefix="STEP3", last=2))  # flushed as the step ends

    with pytest.raises(IntegrityError):
        step()
    assert _count(runtime, "STEP-3") == 0
    with runtime.uow.reading() as session:
        counter = session.get(ReferenceCounter, "STEP3")
        assert counter is not None
        assert counter.last == 1


def test_an_error_in_the_step_rolls_it_back(runtime: Runtime) -> None:

    def step() -> None:
        with runtime.uow.step() as session:
            _audit(session, "STEP-4")
            raise RuntimeError("refused")

    with pytest.raises(RuntimeError, match="refused"):
        step()
    assert _count(runtime, "STEP-4") == 0


def _connection_of_a_step(runtime: Runtime) -> object:
    with runtime.uow.step() as session:
        return connection_of(session, flush=False)


def test_on_sqlite_the_next_step_takes_the_connection_the_last_one_left(
    runtime: Runtime,
) -> None:
    first = _connection_of_a_step(runtime)
    kept = first is _connection_of_a_step(runtime)
    assert kept == (runtime.engine.dialect.name == "sqlite")  # PostgreSQL: back to the pool


def test_a_failed_step_leaves_its_kept_connection_clean(runtime: Runtime) -> None:
    def failing() -> None:
        with runtime.uow.step() as session:
            _audit(session, "STEP-5")
            raise RuntimeError("refused")

    with pytest.raises(RuntimeError):
        failing()
    with runtime.uow.step() as session:  # no transaction left over: it begins afresh
        _audit(session, "STEP-6")
    assert (_count(runtime, "STEP-5"), _count(runtime, "STEP-6")) == (0, 1)


def test_a_connection_that_broke_is_not_kept(runtime: Runtime) -> None:
    broken: list[object] = []

    def lost() -> None:
        with runtime.uow.step() as session:
            connection = connection_of(session, flush=False)
            broken.append(connection)
            connection.invalidate()  # as SQLAlchemy does when the driver reports it lost
            raise RuntimeError("the connection was lost")

    with pytest.raises(RuntimeError):
        lost()
    assert _connection_of_a_step(runtime) is not broken[0]


def test_steps_from_many_threads_never_share_a_connection(runtime: Runtime) -> None:
    in_use: set[int] = set()
    shared: list[int] = []
    guard = threading.Lock()

    def steps(thread: int) -> None:
        for n in range(25):
            with runtime.uow.step() as session:
                mine = id(connection_of(session, flush=False))
                with guard:
                    if mine in in_use:
                        shared.append(mine)
                    in_use.add(mine)
                _audit(session, f"MANY-{thread}-{n}")
                with guard:
                    in_use.discard(mine)

    threads = [threading.Thread(target=steps, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert shared == []
    assert sum(_count(runtime, f"MANY-{t}-{n}") for t in range(4) for n in range(25)) == 100
