"""A step's transaction (UnitOfWork.step): statements on its connection and the session's
ORM objects commit together, or roll back together, on both stores."""

from __future__ import annotations

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
