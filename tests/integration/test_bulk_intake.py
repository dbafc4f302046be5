"""Bulk intake writes a chunk of referrals together, and each referral as if alone.

On SQLite and PostgreSQL: a chunk of 1,000 rows is decided first and written with a
handful of statements (issue 19). What a referral leaves behind is the same as when it
is opened alone: its own reference (in the rows' order, none skipped, none twice, also
under concurrent intakes), its young person (the CPR number encrypted), the history
event, timers, outbox rows, audit entry, figures and idempotency key of its first step.
A bad row in the middle of a chunk is refused with its line and leaves no trace; a
re-run opens nothing twice.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import exc, func, select

from tests.integration.test_outcome_figures import figure_rows
from workflow.cases.model import GuardianDetails, Referral, StepResult, YoungPersonDetails
from workflow.cases.referred_again import SYSTEM as REFERRED_AGAIN
from workflow.engine.model import Actor
from workflow.errors import WorkflowError
from workflow.orchestration.intake import refer_rows
from workflow.runtime import Runtime
from workflow.store.driver import deferred_inserts
from workflow.store.figures import rebuild_figures
from workflow.store.statements import INSERT_IDEMPOTENCY_KEY, WRITE_AUDIT
from workflow.store.tables import (
    AuditEntry,
    Case,
    CaseFigures,
    CaseTimer,
    Guardian,
    HistoryEvent,
    IdempotencyKey,
    OutboxRow,
    YoungPerson,
)

CW = Actor("caseworker", "cw")


def row(number: int, **changes: str) -> dict[str, str]:
    return {
        "definition": "soroe",
        "name": f"Ung Nummer{number}",
        "cpr": f"010110{4000 + number:04d}",  # 7th digit 4: born in 2010
        "birth_date": "2010-01-01",
        "source": "school",
        "caseworker": "cw",
        "key": f"r{number}",
    } | changes


def count(runtime: Runtime, table: type) -> int:
    with runtime.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def people_by_reference(runtime: Runtime) -> dict[str, tuple[str, str]]:
    """Each case's young person: name and CPR number (decrypted)."""
    with runtime.sessions() as session:
        found = session.execute(
            select(Case.reference, YoungPerson.name, YoungPerson.cpr).join(
                YoungPerson, YoungPerson.id == Case.young_person_id
            )
        ).all()
    return {ref: (name, runtime.uow.cpr.decrypt(cpr)) for ref, name, cpr in found}


def test_a_bad_row_in_the_middle_of_a_chunk_is_refused_and_the_others_opened_in_order(
    runtime: Runtime,
) -> None:
    rows = [
        row(1),
        row(2),
        row(3, cpr="9999999999"),  # line 4: not a CPR number
        row(4),
        row(1, name="Ung Igen"),  # line 6: the key of line 2: line 2's case, nothing new
        row(5),
    ]
    outcomes = refer_rows(rows, 2, "fil")
    assert [(o["row"], o["case"], o["status"]) for o in outcomes] == [
        (2, "SOR-2026-0001", "opened"),
        (3, "SOR-2026-0002", "opened"),
        (4, "", "refused"),
        (5, "SOR-2026-0003", "opened"),  # no number is skipped for the refused row
        (6, "SOR-2026-0001", "already opened"),
        (7, "SOR-2026-0004", "opened"),
    ]
    assert outcomes[2]["problems"] == [{"field": "cpr", "code": "cpr_no_such_date", "params": {}}]
    # Each case has its own row's young person, the CPR number stored encrypted.
    people = people_by_reference(runtime)
    assert people == {
        "SOR-2026-0001": ("Ung Nummer1", "0101104001"),
        "SOR-2026-0002": ("Ung Nummer2", "0101104002"),
        "SOR-2026-0003": ("Ung Nummer4", "0101104004"),
        "SOR-2026-0004": ("Ung Nummer5", "0101104005"),
    }
    with runtime.sessions() as session:
        stored = session.scalars(select(YoungPerson.cpr)).all()
    assert not any("0101104" in cpr for cpr in stored)
    # One history event, audit entry, figures row and key per opened case; the same
    # timers and outbox rows for each.
    for table in (YoungPerson, Case, HistoryEvent, AuditEntry, CaseFigures, IdempotencyKey):
        assert count(runtime, table) == 4, table
    with runtime.sessions() as session:
        audited = session.execute(
            select(AuditEntry.object_id, AuditEntry.action, AuditEntry.details)
        ).all()
        timers = session.execute(
            select(Case.reference, CaseTimer.timer).join(Case, Case.id == CaseTimer.case_id)
        ).all()
        outbox = session.execute(
            select(Case.reference, OutboxRow.template, OutboxRow.dedupe_key, HistoryEvent.seq)
            .join(Case, Case.id == OutboxRow.case_id)
            .join(HistoryEvent, HistoryEvent.id == OutboxRow.history_id)
        ).all()
    assert sorted(audited) == [
        (f"SOR-2026-000{n}", "change", {"event": "refer", "seq": 1}) for n in range(1, 5)
    ]
    per_case: dict[str, list[str]] = {}
    for reference, timer in timers:
        per_case.setdefault(reference, []).append(timer)
    assert len({tuple(sorted(t)) for t in per_case.values()}) == 1
    assert sorted(per_case) == sorted(people)
    assert all(seq == 1 and key.startswith(f"{ref}:1:") for ref, _, key, seq in outbox)
    assert {ref for ref, *_ in outbox} == set(people)

    again = refer_rows(rows, 2, "fil")  # the same chunk again: nothing opened twice
    assert [(o["case"], o["status"]) for o in again] == [
        ("SOR-2026-0001", "already opened"),
        ("SOR-2026-0002", "already opened"),
        ("", "refused"),
        ("SOR-2026-0003", "already opened"),
        ("SOR-2026-0001", "already opened"),
        ("SOR-2026-0004", "already opened"),
    ]
    for table in (Case, HistoryEvent, AuditEntry, IdempotencyKey):
        assert count(runtime, table) == 4, table
    # The figures kept by the chunk are the figures the history gives.
    kept = figure_rows(runtime)
    with runtime.engine.begin() as connection:
        assert rebuild_figures(connection) == 4
    assert figure_rows(runtime) == kept


def _stored_step(runtime: Runtime, reference: str) -> dict[str, Any]:
    """What opening a case wrote, without ids, references, keys and names."""
    with runtime.sessions() as session:
        case = session.scalars(select(Case).where(Case.reference == reference)).one()
        person = session.get(YoungPerson, case.young_person_id)
        assert person is not None

        def rows(model: Any, *skip: str) -> list[tuple[Any, ...]]:
            columns = [c for c in model.__table__.columns if c.key not in {"id", "case_id", *skip}]
            found = session.execute(select(*columns).where(model.case_id == case.id)).all()
            return sorted(tuple(map(repr, r)) for r in found)

        audit = session.execute(
            select(
                AuditEntry.actor, AuditEntry.action, AuditEntry.purpose, AuditEntry.details
            ).where(AuditEntry.object_id == reference, AuditEntry.actor != REFERRED_AGAIN)
        ).all()
        result = session.scalars(
            select(IdempotencyKey.result).where(IdempotencyKey.case_reference == reference)
        ).one()
        return {
            "case": (case.stage, case.data, case.counts, case.timing, case.version, case.last_seq),
            "person": (person.birth_date, person.email, person.cpr_key is not None),
            "guardians": rows(Guardian, "name", "cpr", "cpr_key"),
            "history": rows(HistoryEvent),
            "timers": rows(CaseTimer),
            "outbox": rows(OutboxRow, "history_id", "dedupe_key"),
            "dedupe_keys": sorted(
                key.removeprefix(reference)
                for key in session.scalars(
                    select(OutboxRow.dedupe_key).where(OutboxRow.case_id == case.id)
                )
            ),
            "figures": rows(CaseFigures, "young_person_id"),
            "audit": audit,
            "result": {k: v for k, v in result.items() if k != "reference"},
        }


def test_a_case_opened_in_a_chunk_is_stored_as_one_opened_alone(runtime: Runtime) -> None:
    guardian = GuardianDetails("Forælder", "0101804321", email="f@example.dk")
    person = YoungPersonDetails(
        "Ung Alene", "0101104321", date(2010, 1, 1), email="u@example.dk", guardians=(guardian,)
    )
    inputs = {"source": "school", "caseworker": "cw"}
    alone = runtime.service.refer("soroe", person, CW, inputs, idempotency_key="alone")
    others = [
        Referral(
            "soroe",
            YoungPersonDetails(f"Ung {n}", f"010110{4400 + n:04d}", date(2010, 1, 1)),
            CW,
            inputs,
            f"other-{n}",
        )
        for n in range(3)
    ]
    chunk = runtime.service.refer_many(
        [*others[:2], Referral("soroe", person, CW, inputs, "in-chunk"), others[2]]
    )
    assert all(isinstance(r, StepResult) and not r.repeated for r in chunk)
    in_chunk = chunk[2]
    assert isinstance(in_chunk, StepResult)
    assert (alone.reference, in_chunk.reference) == ("SOR-2026-0001", "SOR-2026-0004")
    # The same young person twice: the first course's caseworker was told of the second
    # (cases/referred_again.py), which is not part of opening a case, and left out.
    assert _stored_step(runtime, in_chunk.reference) == _stored_step(runtime, alone.reference)
    told = runtime.tasks.worklist("cw", reference=alone.reference)
    assert [t.title.split(" (")[0] for t in told] == [
        f"Den unge er henvist igen: {in_chunk.reference}"
    ]
    assert people_by_reference(runtime)["SOR-2026-0004"] == ("Ung Alene", "0101104321")
    assert count(runtime, Guardian) == 2


def test_concurrent_chunks_never_share_or_skip_a_reference(runtime: Runtime) -> None:
    results: list[StepResult | WorkflowError] = []
    errors: list[BaseException] = []

    def chunk(first: int) -> None:
        requests = [
            Referral(
                "soroe",
                YoungPersonDetails(f"Ung {n}", f"010110{4000 + n:04d}", date(2010, 1, 1)),
                CW,
                {"source": "school", "caseworker": "cw"},
                f"k{n}",
            )
            for n in range(first, first + 40)
        ]
        try:
            results.extend(runtime.service.refer_many(requests))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=chunk, args=(n * 100,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert [r for r in results if not isinstance(r, StepResult)] == []
    references = sorted(r.reference for r in results if isinstance(r, StepResult))
    assert references == [f"SOR-2026-{n:04d}" for n in range(1, 121)]
    single = runtime.service.refer(
        "soroe",
        YoungPersonDetails("Ung Sidst", "0101104999", date(2010, 1, 1)),
        CW,
        {"source": "school", "caseworker": "cw"},
    )
    assert single.reference == "SOR-2026-0121"


def test_deferred_inserts_are_sent_before_anything_reads_and_fail_like_any(
    runtime: Runtime,
) -> None:
    def key(name: str, note: str = "") -> dict[str, Any]:
        return {
            "key": name,
            "case_reference": "SOR-2026-0001",
            "result": {"note": note, "like": "100%"},
            "created_at": datetime(2026, 3, 2, tzinfo=UTC),
        }

    audit = {
        "at": datetime(2026, 3, 2, tzinfo=UTC),
        "actor": "caseworker:cw",
        "action": "change",
        "object_type": "case",
        "object_id": "SOR-2026-0001",
        "purpose": "test",
        "details": {},
    }
    with runtime.sessions() as session, session.begin():
        connection = session.connection()
        with deferred_inserts(connection):
            INSERT_IDEMPOTENCY_KEY.execute(connection, key("a"))
            WRITE_AUDIT.executemany(connection, [audit, audit, audit])
            INSERT_IDEMPOTENCY_KEY.execute(connection, key("b"))
            # A read through SQLAlchemy sees what was queued before it.
            seen = session.scalar(select(func.count()).select_from(IdempotencyKey))
            INSERT_IDEMPOTENCY_KEY.execute(connection, key("c"))
        assert seen == 2
    assert count(runtime, IdempotencyKey) == 3
    assert count(runtime, AuditEntry) == 3
    with runtime.sessions() as session:
        stored = session.scalar(select(IdempotencyKey.result).where(IdempotencyKey.key == "c"))
    assert stored == {"note": "", "like": "100%"}

    secret = "0101901234"

    def failing_block() -> None:
        with runtime.sessions() as session, session.begin():
            connection = session.connection()
            with deferred_inserts(connection):
                INSERT_IDEMPOTENCY_KEY.execute(connection, key("d", secret))
                INSERT_IDEMPOTENCY_KEY.execute(connection, key("a", secret))  # taken
                WRITE_AUDIT.execute(connection, audit)

    with pytest.raises(exc.IntegrityError) as raised:
        failing_block()
    assert secret not in str(raised.value)
    assert count(runtime, IdempotencyKey) == 3  # nothing of the failed block is kept
    assert count(runtime, AuditEntry) == 3
