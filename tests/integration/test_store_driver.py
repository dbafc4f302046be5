"""Statements run on the driver's cursor store what the ORM stores, and fail like it.

On SQLite and PostgreSQL: values round-trip through SQLAlchemy's own type processors,
driver errors arrive as SQLAlchemy's exceptions with their parameters hidden, and a
pipelined block that fails leaves nothing behind.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import bindparam, create_engine, exc, func, select, text
from sqlalchemy.orm import aliased

from workflow.runtime import Runtime
from workflow.store.audit import AuditWriter, _Waiting
from workflow.store.database import session_factory
from workflow.store.driver import DriverStatement, pipelined, read_alone, read_together
from workflow.store.loading import Records
from workflow.store.statements import AUDIT_COLUMNS, INSERT_IDEMPOTENCY_KEY, WRITE_AUDIT
from workflow.store.tables import AuditEntry, CaseTimer, IdempotencyKey
from workflow.store.unit_of_work import UnitOfWork

SECRET = "0101901234"  # looks like a CPR number: must never appear in an error

READ_KEY = DriverStatement(
    select(IdempotencyKey.result, IdempotencyKey.created_at).where(
        IdempotencyKey.key == bindparam("b_key")
    )
)


def audit(object_id: str, details: dict[str, object]) -> dict[str, object]:
    return dict(
        zip(
            AUDIT_COLUMNS,
            (
                datetime(2026, 3, 2, 9, 30, tzinfo=timezone(timedelta(hours=1))),
                "caseworker:cw",
                "read",
                "case",
                object_id,
                "test",
                details,
            ),
            strict=True,
        )
    )


def test_values_round_trip_as_the_orm_stores_them(runtime: Runtime) -> None:
    details = {"æøå": ["Søren", 1, None, True], "nested": {"x": 1.5}}
    with runtime.sessions() as session, session.begin():
        WRITE_AUDIT.execute(session.connection(), audit("SOR-2026-0001", details))
        INSERT_IDEMPOTENCY_KEY.execute(
            session.connection(),
            {
                "key": "k1",
                "case_reference": "SOR-2026-0001",
                "result": {"event": "pause"},
                "created_at": datetime(2026, 3, 2, 8, 0, tzinfo=UTC),
            },
        )
    with runtime.sessions() as session:
        entry = session.scalars(select(AuditEntry)).one()
        # An aware time is stored as UTC and read back aware, through the ORM too.
        assert entry.at == datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
        assert entry.at.tzinfo is not None
        assert entry.details == details
        rows = READ_KEY.rows(session.connection(), {"b_key": "k1"})
        assert rows == [({"event": "pause"}, datetime(2026, 3, 2, 8, 0, tzinfo=UTC))]
        assert READ_KEY.rows(session.connection(), {"b_key": "missing"}) == []


def test_a_driver_error_is_sqlalchemys_with_parameters_hidden(runtime: Runtime) -> None:
    row = {
        "key": "k1",
        "case_reference": "SOR-2026-0001",
        "result": {"note": SECRET},  # (PostgreSQL's own message names the duplicate key)
        "created_at": datetime(2026, 3, 2, tzinfo=UTC),
    }
    with runtime.sessions() as session, session.begin():
        INSERT_IDEMPOTENCY_KEY.execute(session.connection(), row)
    with runtime.sessions() as session, session.begin():
        with pytest.raises(exc.IntegrityError) as raised:
            INSERT_IDEMPOTENCY_KEY.execute(session.connection(), row)
        session.rollback()
    assert SECRET not in str(raised.value)
    assert "INSERT INTO idempotency_keys" in str(raised.value)


def test_a_failing_pipelined_block_raises_and_leaves_nothing(runtime: Runtime) -> None:
    row = {
        "key": "k-dup",
        "case_reference": "SOR-2026-0001",
        "result": {},
        "created_at": datetime(2026, 3, 2, tzinfo=UTC),
    }
    with runtime.sessions() as session, session.begin():
        INSERT_IDEMPOTENCY_KEY.execute(session.connection(), row)

    def block() -> None:
        with runtime.sessions() as session, session.begin():
            connection = session.connection()
            with pipelined(connection):
                WRITE_AUDIT.execute(connection, audit("SOR-2026-0002", {}))
                INSERT_IDEMPOTENCY_KEY.execute(connection, row)  # the duplicate
                WRITE_AUDIT.execute(connection, audit("SOR-2026-0003", {}))

    with pytest.raises(exc.IntegrityError):
        block()
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 0
        assert session.scalar(select(func.count()).select_from(IdempotencyKey)) == 1


def test_an_in_list_is_refused_when_the_statement_is_compiled(runtime: Runtime) -> None:
    statement = DriverStatement(
        select(CaseTimer.id).where(CaseTimer.state.in_(("running", "fired")))
    )
    with runtime.sessions() as session, pytest.raises(ValueError, match="IN list"):
        statement.rows(session.connection(), {})


def test_a_fired_row_beside_the_running_row_of_a_timer_does_not_hide_it(
    runtime: Runtime,
) -> None:
    """Stores written by early versions may hold both for one timer: the running one counts."""
    from workflow.cases.model import YoungPersonDetails
    from workflow.engine.model import Actor
    from workflow.store.loading import load_case

    opened = runtime.service.refer(
        "soroe",
        YoungPersonDetails("Test Person", "0101104321", datetime(2010, 1, 1).date()),
        Actor("caseworker", "cw"),
        {"source": "school", "caseworker": "cw"},
    )
    with runtime.sessions() as session, session.begin():
        running = session.scalars(
            select(CaseTimer).where(CaseTimer.timer == "referral_decision_due")
        ).one()
        for due in (running.due_at - timedelta(days=1), running.due_at + timedelta(days=1)):
            session.add(
                CaseTimer(
                    case_id=running.case_id,
                    timer=running.timer,
                    due_at=due,
                    state="fired",
                    firings=1,
                )
            )
    with runtime.sessions() as session:
        loaded = load_case(session.connection(), opened.reference)
    assert loaded is not None
    assert loaded.state().timers[running.timer] == running.due_at
    assert loaded.live_timers()[running.timer] == "running"


KEYS_OF = Records(
    IdempotencyKey,
    IdempotencyKey.case_reference == bindparam("b_reference"),
    order_by=[IdempotencyKey.key],
)


def test_records_read_what_the_orm_reads_and_see_the_sessions_pending_rows(
    runtime: Runtime,
) -> None:
    made = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    with runtime.sessions() as session, session.begin():
        session.add(
            IdempotencyKey(key="a", case_reference="R1", result={"æ": [1]}, created_at=made)
        )
        session.add(IdempotencyKey(key="b", case_reference="R1", result={}, created_at=made))
        # Not flushed yet: a record read flushes first, as the ORM's autoflush would.
        records = KEYS_OF.all(session, {"b_reference": "R1"})
        orm = session.scalars(
            select(IdempotencyKey)
            .where(IdempotencyKey.case_reference == "R1")
            .order_by(IdempotencyKey.key)
        ).all()
    assert [(r.key, r.case_reference, r.result, r.created_at) for r in records] == [
        (o.key, o.case_reference, o.result, o.created_at) for o in orm
    ]
    assert records[0].result == {"æ": [1]}
    assert records[0].created_at == made


def test_reads_sent_together_come_back_each_with_its_own_rows(runtime: Runtime) -> None:
    made = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    with runtime.sessions() as session, session.begin():
        for key, reference in (("a", "R1"), ("b", "R2"), ("c", "R2")):
            session.add(
                IdempotencyKey(key=key, case_reference=reference, result={}, created_at=made)
            )
    with runtime.sessions() as session:
        connection = session.connection()
        found = read_together(
            connection,
            [
                (KEYS_OF.statement, {"b_reference": "R2"}),
                (READ_KEY, {"b_key": "a"}),
                (KEYS_OF.statement, {"b_reference": "none"}),
            ],
        )
        assert [r.key for r in KEYS_OF.made(found[0])] == ["b", "c"]
        assert found[1] == [({}, made)]
        assert found[2] == []
        # A failing read in the block is SQLAlchemy's error, its parameters hidden.
        missing = DriverStatement(text("SELECT x FROM no_such_table WHERE x = :b_key"))
        with pytest.raises(exc.DBAPIError) as raised:
            read_together(connection, [(READ_KEY, {"b_key": "a"}), (missing, {"b_key": SECRET})])
        assert SECRET not in str(raised.value)


def test_a_read_alone_sees_what_is_committed_and_leaves_its_connection_transactional(
    runtime: Runtime,
) -> None:
    made = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    with runtime.sessions() as session, session.begin():
        session.add(IdempotencyKey(key="a", case_reference="R1", result={"x": 1}, created_at=made))
    # One pooled connection: the connection the read used is the one handed out next.
    engine = create_engine(runtime.engine.url, pool_size=1, max_overflow=0)
    try:
        assert read_alone(engine, READ_KEY, {"b_key": "a"}) == [({"x": 1}, made)]
        assert read_alone(engine, READ_KEY, {"b_key": "none"}) == []
        missing = DriverStatement(text("SELECT x FROM no_such_table WHERE x = :b_key"))
        with pytest.raises(exc.DBAPIError) as raised:
            read_alone(engine, missing, {"b_key": SECRET})
        assert SECRET not in str(raised.value)
        # Back in the pool the connection runs transactions again: a rolled back
        # write leaves nothing (in autocommit it would have stayed).
        with engine.connect() as connection:
            connection.execute(
                IdempotencyKey.__table__.insert().values(
                    key="b", case_reference="R1", result={}, created_at=made
                )
            )
            connection.rollback()
        assert read_alone(engine, READ_KEY, {"b_key": "b"}) == []
    finally:
        engine.dispose()


def test_staff_names_are_found_for_any_number_of_ids(runtime: Runtime) -> None:
    for n in range(1, 4):
        runtime.accounts.create(
            f"staff{n}",
            None,
            display_name=f"Staff Æ {n}",
            person_id=f"p-{n}",
            roles=["caseworker"],
            municipality_code="851",
        )
    assert runtime.staff.names([]) == {}
    assert runtime.staff.names(["p-2", "", "nobody"]) == {"p-2": "Staff Æ 2"}
    many = [f"x-{i}" for i in range(500)] + ["p-1", "p-3", "p-1"]
    assert runtime.staff.names(many) == {"p-1": "Staff Æ 1", "p-3": "Staff Æ 3"}


def test_a_parameter_used_twice_is_sent_once_processed(runtime: Runtime) -> None:
    made = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    with runtime.sessions() as session, session.begin():
        for key, hours in (("early", -1), ("late", 1)):
            session.add(
                IdempotencyKey(
                    key=key,
                    case_reference="R1",
                    result={},
                    created_at=made + timedelta(hours=hours),
                )
            )

    def at() -> Any:  # a bind of its own each time, of one name (as a shared clause makes)
        return bindparam("b_at", type_=IdempotencyKey.created_at.type)

    around = DriverStatement(
        select(
            IdempotencyKey.key, IdempotencyKey.created_at <= at(), IdempotencyKey.created_at > at()
        ).order_by(IdempotencyKey.key)
    )
    with runtime.sessions() as session:
        rows = around.rows(session.connection(), {"b_at": made})
    assert [(key, bool(before), bool(after)) for key, before, after in rows] == [
        ("early", True, False),
        ("late", False, True),
    ]


def write_then_fail(uow: UnitOfWork, row: IdempotencyKey) -> None:
    with uow.transaction() as session:
        session.add(row)
        session.flush()
        raise RuntimeError("the step fails after its first write")


def test_a_brief_reading_leaves_the_pooled_connection_to_transactions_that_roll_back(
    runtime: Runtime,
) -> None:
    """A brief reading (on PostgreSQL: autocommit, no BEGIN) hands its connection back
    as it found it: the transaction that gets it next still rolls back as a whole."""
    made = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    engine = create_engine(runtime.engine.url, pool_size=1, max_overflow=0)
    uow = UnitOfWork(session_factory(engine), runtime.catalog, runtime.cipher)
    try:
        with uow.brief_reading() as session:
            assert KEYS_OF.all(session, {"b_reference": "R9"}) == []
        with pytest.raises(RuntimeError):
            write_then_fail(
                uow, IdempotencyKey(key="z", case_reference="R9", result={}, created_at=made)
            )
        with uow.brief_reading() as session:
            assert KEYS_OF.all(session, {"b_reference": "R9"}) == []
    finally:
        engine.dispose()


def test_columns_shared_by_every_row_are_processed_once_and_read_the_same(
    runtime: Runtime,
) -> None:
    made = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    with runtime.sessions() as session, session.begin():
        for key, result in (("a", {"æ": [1, {"x": None}]}), ("b", {}), ("c", {"y": 2})):
            session.add(
                IdempotencyKey(key=key, case_reference="R1", result=result, created_at=made)
            )
    child = aliased(IdempotencyKey)
    parent_with_children = DriverStatement(
        select(IdempotencyKey.result, IdempotencyKey.created_at, child.key, child.result)
        .join(child, child.case_reference == IdempotencyKey.case_reference)
        .where(IdempotencyKey.key == bindparam("b_key"))
        .order_by(child.key)
    )
    with runtime.sessions() as session:
        connection = session.connection()
        each = parent_with_children.rows(connection, {"b_key": "a"})
        once = parent_with_children.rows(connection, {"b_key": "a"}, shared=2)
    assert once == each
    assert [row[2:] for row in once] == [("a", {"æ": [1, {"x": None}]}), ("b", {}), ("c", {"y": 2})]
    assert all(row[:2] == ({"æ": [1, {"x": None}]}, made) for row in once)


def test_the_audit_writer_commits_a_batch_together_and_a_bad_entry_fails_alone(
    runtime: Runtime,
) -> None:
    """A batch is one INSERT (PostgreSQL: of every row, in autocommit); when it fails,
    each entry is tried on its own, so only the bad one's read is refused."""
    good = [audit(f"SOR-2026-000{n}", {"n": n}) for n in range(1, 4)]
    bad = audit("SOR-2026-0009", {"n": 9}) | {"action": None}  # the log requires an action
    batch = [_Waiting(row) for row in (good[0], bad, good[1], good[2])]
    AuditWriter(runtime.engine)._write(batch)
    assert [w.done.is_set() for w in batch] == [True] * 4
    assert [w.error is None for w in batch] == [True, False, True, True]
    assert isinstance(batch[1].error, exc.IntegrityError)
    with runtime.sessions() as session:
        stored = session.scalars(
            select(AuditEntry.object_id).where(AuditEntry.object_id.like("SOR-2026-000%"))
        ).all()
    assert sorted(stored) == ["SOR-2026-0001", "SOR-2026-0002", "SOR-2026-0003"]
    # A whole batch that is good: one INSERT, every entry committed.
    AuditWriter(runtime.engine)._write([_Waiting(audit("SOR-2026-0010", {})) for _ in range(5)])
    with runtime.sessions() as session:
        assert (
            session.scalar(select(func.count()).where(AuditEntry.object_id == "SOR-2026-0010")) == 5
        )
