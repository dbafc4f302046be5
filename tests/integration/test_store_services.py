"""The service layer against the real store, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.integration.conftest import Clock
from tests.integration.scripted import PERSON, play
from workflow.cases.model import RejectedError
from workflow.definitions.models import Definition
from workflow.engine.model import Actor, CreateTask, Notify
from workflow.engine.simulation import load_script, simulate
from workflow.errors import ConflictError
from workflow.runtime import Runtime
from workflow.store.tables import (
    AuditEntry,
    Case,
    CaseTask,
    CaseTimer,
    CoordinatorAssignment,
    HistoryEvent,
    Meeting,
    OutboxRow,
    Plan,
    PlanGoal,
    TeamMembership,
    YoungPerson,
)

CW = Actor("caseworker", "cw-mette")


def count(runtime: Runtime, table: type, *where: object) -> int:
    with runtime.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(table).where(*where)) or 0)


def test_whole_soroe_lifecycle_is_stored_as_the_engine_decided(
    runtime: Runtime, clock: Clock
) -> None:
    script = load_script("definitions/examples/soroe.yaml")
    results = play(runtime, clock, script)
    reference = results[0].reference
    assert reference == "SOR-2026-0001"
    expected = simulate(runtime.catalog.by_id("soroe"), script)

    with runtime.sessions() as session:
        case = session.scalar(select(Case).where(Case.reference == reference))
        assert case is not None
        assert (case.stage, case.closed_at is not None) == ("closed", True)
        history = session.scalars(
            select(HistoryEvent).where(HistoryEvent.case_id == case.id).order_by(HistoryEvent.seq)
        ).all()
        assert [(h.event, h.from_stage, h.to_stage) for h in history] == [
            (e.event if e.kind == "event" else f"timer:{e.event}", e.from_stage, e.to_stage)
            for e in expected.records()
        ]
        assert [h.seq for h in history] == list(range(1, len(history) + 1))
        # The young person's choices are records of their own.
        team = session.scalars(
            select(TeamMembership).where(TeamMembership.case_id == case.id)
        ).all()
        assert {(m.department, m.person, m.chosen_by_young_person) for m in team} == {
            ("skole", "laerer-anna", True),
            ("born_familie", "raadgiver-bo", True),
            ("uu", "vejleder-sara", True),
        }
        coordinator = session.scalars(select(CoordinatorAssignment)).one()
        assert coordinator.person == "tovholder-lise"
        plans = session.scalars(
            select(Plan).where(Plan.case_id == case.id).order_by(Plan.version)
        ).all()
        assert [p.version for p in plans] == [1, 2]
        assert all(p.meeting_id is not None for p in plans)
        goals = session.scalars(
            select(PlanGoal).where(PlanGoal.plan_id == plans[0].id).order_by(PlanGoal.number)
        ).all()
        assert goals[0].text == "Jeg skal møde op i skole 3 dage om ugen"
        meetings = session.scalars(select(Meeting).order_by(Meeting.key)).all()
        assert [(m.key, m.kind, m.state) for m in meetings] == [
            (1, "first_meeting", "held"),
            (2, "follow_up", "held"),
            (3, "follow_up", "cancelled"),  # the case closed before it was held
        ]
        assert session.scalars(select(CaseTimer).where(CaseTimer.state == "running")).all() == []
        # Personal data stays in its own table.
        stored = session.scalars(select(YoungPerson)).one().cpr
        assert PERSON.cpr not in stored  # encrypted at rest
        assert runtime.uow.cpr.decrypt(stored) == PERSON.cpr
        assert PERSON.name not in str(case.data)
        assert PERSON.cpr not in str(case.data)

    notifications = sum(isinstance(e, Notify) for entry in expected.entries for e in entry.effects)
    assert count(runtime, OutboxRow) == notifications
    given = sum(isinstance(e, CreateTask) for entry in expected.entries for e in entry.effects)
    assert given == 7  # pre-meeting, a confirmation per department, a plan task per member
    assert count(runtime, CaseTask) == given
    assert count(runtime, CaseTask, CaseTask.state == "open") == 0  # closed: none left open
    # One audit entry per change of the case, and one for the consent recorded.
    changes = AuditEntry.action == "change"
    assert count(runtime, AuditEntry, changes, AuditEntry.object_type == "case") == len(
        expected.records()
    )
    assert count(runtime, AuditEntry, changes, AuditEntry.object_type == "consent") == 1


def test_same_idempotency_key_twice_gives_one_transition(runtime: Runtime) -> None:
    opened = runtime.service.refer(
        "soroe", PERSON, CW, {"source": "school", "caseworker": "cw-mette"}
    )
    inputs = {"young_person_agrees": True, "consent": True}
    first = runtime.service.trigger(
        opened.reference, "accept_referral", inputs, CW, idempotency_key="click-1"
    )
    second = runtime.service.trigger(
        opened.reference, "accept_referral", inputs, CW, idempotency_key="click-1"
    )
    assert (first.repeated, second.repeated) == (False, True)
    assert second.seq == first.seq
    assert second.to_stage == "pre_meeting"
    assert count(runtime, HistoryEvent) == 2  # refer + one accept
    with pytest.raises(RejectedError) as refused:
        runtime.service.trigger(
            opened.reference, "accept_referral", inputs, CW, idempotency_key="click-2"
        )
    assert refused.value.rejection.reason.value == "wrong_stage"


def _press_twice(runtime: Runtime, reference: str, start: Any = None) -> list[object]:
    """Two caseworkers press "accept" on one case at once; what each of them got."""
    outcomes: list[object] = []

    def press() -> None:
        if start is not None:
            start.wait()
        try:
            outcomes.append(
                runtime.service.trigger(
                    reference,
                    "accept_referral",
                    {"young_person_agrees": True, "consent": True},
                    CW,
                )
            )
        except (ConflictError, RejectedError) as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=press) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def test_two_concurrent_triggers_one_succeeds_one_conflicts(runtime: Runtime) -> None:
    """PostgreSQL: both read the case, the second write is a conflict.

    SQLite takes the write lock when a transaction begins (BEGIN IMMEDIATE), so the
    second press waits, then reads the case as the first left it: it is refused by the
    definition (the case is no longer in that stage). Either way: one transition.
    """
    opened = runtime.service.refer(
        "soroe", PERSON, CW, {"source": "school", "caseworker": "cw-mette"}
    )
    if runtime.engine.dialect.name == "sqlite":
        outcomes = _press_twice(runtime, opened.reference, threading.Barrier(2, timeout=10))
        kinds = sorted(type(o).__name__ for o in outcomes)
        assert kinds == ["RejectedError", "StepResult"], outcomes
        refused = next(o for o in outcomes if isinstance(o, RejectedError))
        assert refused.rejection.reason.value == "wrong_stage"
        assert count(runtime, HistoryEvent) == 2
        return
    both_read = threading.Barrier(2, timeout=10)
    pinned = runtime.catalog.pinned

    def after_reading_the_case(session: Any, version_id: int) -> Definition:
        both_read.wait()  # both requests have read the case; neither has written yet
        return pinned(session, version_id)

    runtime.catalog.pinned = after_reading_the_case  # type: ignore[method-assign]
    outcomes = _press_twice(runtime, opened.reference)
    kinds = sorted(type(o).__name__ for o in outcomes)
    assert kinds == ["ConflictError", "StepResult"], outcomes
    assert count(runtime, HistoryEvent) == 2


def test_unknown_case_and_refusal_change_nothing(runtime: Runtime) -> None:
    from workflow.errors import CaseNotFoundError

    with pytest.raises(CaseNotFoundError):
        runtime.service.trigger("SOR-2026-9999", "withdraw", {}, CW)
    opened = runtime.service.refer(
        "soroe", PERSON, CW, {"source": "school", "caseworker": "cw-mette"}
    )
    before = (count(runtime, HistoryEvent), count(runtime, OutboxRow), count(runtime, AuditEntry))
    with pytest.raises(RejectedError):
        runtime.service.trigger(
            opened.reference, "accept_referral", {"young_person_agrees": False, "consent": True}, CW
        )
    after = (count(runtime, HistoryEvent), count(runtime, OutboxRow), count(runtime, AuditEntry))
    # Nothing of the case changes; the refusal itself is kept in the audit log.
    assert after == (before[0], before[1], before[2] + 1)
    with runtime.sessions() as session:
        refused = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "refused").order_by(AuditEntry.id)
        ).all()
    assert [(e.object_id, e.details["reason"]) for e in refused] == [
        ("SOR-2026-9999", "CaseNotFoundError"),
        (opened.reference, "guard_false"),
    ]


def test_case_keeps_the_definition_it_started_on(runtime: Runtime) -> None:
    opened = runtime.service.refer(
        "soroe", PERSON, CW, {"source": "school", "caseworker": "cw-mette"}
    )
    with runtime.sessions() as session:
        case = session.scalar(select(Case).where(Case.reference == opened.reference))
        assert case is not None
        runtime.catalog._pinned.clear()  # as a fresh process would
        pinned: Definition = runtime.catalog.pinned(session, case.definition_version_id)
    current = runtime.catalog.by_id("soroe")
    assert pinned.content_hash == current.content_hash
    assert pinned == current


def test_referral_outside_the_target_ages_is_refused_with_nothing_stored(
    runtime: Runtime,
) -> None:
    from datetime import date

    from workflow.cases.model import YoungPersonDetails

    too_old = YoungPersonDetails("Ældre Person", "0101901234", date(1990, 1, 1))
    with pytest.raises(RejectedError):
        runtime.service.refer("soroe", too_old, CW, {"source": "school", "caseworker": "cw-mette"})
    assert count(runtime, YoungPerson) == 0
    assert count(runtime, Case) == 0


def test_an_idempotency_key_belongs_to_one_request(runtime: Runtime) -> None:
    from workflow.errors import IdempotencyKeyReusedError

    first = runtime.service.refer(
        "soroe", PERSON, CW, {"source": "school", "caseworker": "cw-mette"}
    )
    second = runtime.service.refer(
        "soroe", PERSON, CW, {"source": "school", "caseworker": "cw-mette"}
    )
    inputs = {"young_person_agrees": True, "consent": True}
    runtime.service.trigger(
        first.reference, "accept_referral", inputs, CW, idempotency_key="click-1"
    )
    with pytest.raises(IdempotencyKeyReusedError):
        runtime.service.trigger(
            second.reference, "accept_referral", inputs, CW, idempotency_key="click-1"
        )
    with pytest.raises(IdempotencyKeyReusedError):
        runtime.service.refer(
            "soroe",
            PERSON,
            CW,
            {"source": "school", "caseworker": "cw-mette"},
            idempotency_key="click-1",
        )
    assert count(runtime, HistoryEvent, HistoryEvent.event == "accept_referral") == 1


def test_concurrent_steps_on_different_cases_do_not_conflict(runtime: Runtime) -> None:
    references = [
        runtime.service.refer(
            "soroe", PERSON, CW, {"source": "school", "caseworker": "cw-mette"}
        ).reference
        for _ in range(8)
    ]
    start = threading.Barrier(len(references), timeout=10)
    outcomes: list[object] = []

    def press(reference: str) -> None:
        start.wait()
        try:
            outcomes.append(
                runtime.service.trigger(
                    reference, "accept_referral", {"young_person_agrees": True, "consent": True}, CW
                )
            )
        except Exception as exc:  # any failure is the finding
            outcomes.append(exc)

    threads = [threading.Thread(target=press, args=(r,)) for r in references]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(type(o).__name__ for o in outcomes) == ["StepResult"] * len(references)


def test_a_rolled_back_registration_is_not_remembered(runtime: Runtime) -> None:
    definition = runtime.catalog.by_id("soroe")
    runtime.catalog._registered.clear()
    with runtime.sessions() as session:
        session.begin()
        runtime.catalog.register(session, definition)
        session.rollback()
    assert runtime.catalog._registered == {}
    opened = runtime.service.refer("soroe", PERSON, CW, {"source": "school", "caseworker": "x"})
    assert opened.reference.startswith("SOR-")
    from workflow.store.tables import DefinitionVersion

    with runtime.sessions() as session:
        stored = session.scalars(select(DefinitionVersion.id)).all()
    assert list(runtime.catalog._registered.values()) == stored  # the row that exists


def test_age_and_reference_year_follow_danish_time(runtime: Runtime, clock: Clock) -> None:
    from datetime import UTC, date, datetime

    from workflow.cases.model import YoungPersonDetails

    clock.now = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)  # 00:30 on 1 January in Denmark
    born = YoungPersonDetails("Nytår Barn", "0101114321", date(2011, 1, 1))
    opened = runtime.service.refer("soroe", born, CW, {"source": "school", "caseworker": "x"})
    assert opened.reference == "SOR-2027-0001"
    with runtime.sessions() as session:
        case = session.scalar(select(Case))
        assert case is not None
        assert case.data["age"] == 16  # their birthday, in Denmark


def test_nobody_and_strangers_are_told_the_case_does_not_exist(runtime: Runtime) -> None:
    from workflow.errors import CaseNotFoundError

    opened = runtime.service.refer(
        "soroe", PERSON, CW, {"source": "school", "caseworker": "cw-mette"}
    )
    with runtime.sessions() as session, session.begin():  # a case nobody is caseworker of
        session.execute(
            Case.__table__.update()
            .where(Case.reference == opened.reference)
            .values(caseworker=None)
        )
    for stranger in (Actor("caseworker", None), Actor("caseworker", "cw-bo")):
        with pytest.raises(CaseNotFoundError, match=f"^no case {opened.reference}$"):
            runtime.service.view(opened.reference, stranger)
        with pytest.raises(CaseNotFoundError):
            runtime.service.trigger(opened.reference, "withdraw", {}, stranger)


def test_a_dedupe_key_fits_its_column_and_stays_unique_for_long_staff_ids() -> None:
    from workflow.store.repository import DEDUPE_KEY_LENGTH, dedupe_key

    short = dedupe_key("SOR-2026-0001", 3, 0, "team_member:skole/anna")
    assert short == "SOR-2026-0001:3:0:team_member:skole/anna"
    long_a = dedupe_key("SOR-2026-0001", 3, 0, "team_member:skole/" + "a" * 200)
    long_b = dedupe_key("SOR-2026-0001", 3, 0, "team_member:skole/" + "a" * 199 + "b")
    assert len(long_a) == len(long_b) == DEDUPE_KEY_LENGTH
    assert long_a != long_b
    assert long_a == dedupe_key("SOR-2026-0001", 3, 0, "team_member:skole/" + "a" * 200)
