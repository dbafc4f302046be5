"""Writing the outcome figures a step changes, in the step's own transaction.

A step's figures (:mod:`workflow.engine.outcome_figures`) are written as one UPDATE of
the case's ``case_figures`` row — with no read first: "the first time" facts keep their
value once set, flags only rise — plus a row per meeting held and per deadline missed.
:func:`rebuild_figures` writes them again from the cases' history with the same
statements (the migration that adds the tables calls it), so the figures of a case do
not depend on whether they were kept step by step or rebuilt.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import (
    Boolean,
    Connection,
    String,
    and_,
    bindparam,
    case,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy import Integer as IntegerType

from workflow.definitions.models import Definition
from workflow.engine.outcome_figures import StepFigures, step_figures
from workflow.store.driver import DriverStatement
from workflow.store.statements import insert_columns
from workflow.store.tables import (
    Case,
    CaseFigures,
    DeadlineFigures,
    DefinitionVersion,
    HistoryEvent,
    MeetingFigures,
)

_F = CaseFigures


def _first(column: Any, reached: str, value: Any) -> Any:
    """The column's value, or ``value`` the first time ``reached`` holds."""
    return case((and_(bindparam(reached, type_=Boolean), column.is_(None)), value), else_=column)


INSERT_CASE_FIGURES = DriverStatement(insert(CaseFigures), insert_columns(CaseFigures))
_AT = bindparam("b_at", type_=_F.ended_at.type)
_LEVEL = bindparam("b_level", type_=IntegerType())
_NUMBER = bindparam("b_number", type_=IntegerType())
_LATE = bindparam("b_late", type_=Boolean)
_ENDED = bindparam("b_ended", type_=Boolean)
_MOVED = bindparam("b_moved", type_=Boolean)
_DEADLINE = bindparam("b_deadline", type_=String())
UPDATE_CASE_FIGURES = DriverStatement(
    update(CaseFigures)
    .where(CaseFigures.case_id == bindparam("b_case"))
    .values(
        stage=bindparam("b_stage"),
        pre_meeting_at=_first(_F.pre_meeting_at, "b_pre", _AT),
        days_to_pre_meeting=_first(_F.days_to_pre_meeting, "b_pre", bindparam("b_days")),
        first_meeting_at=_first(_F.first_meeting_at, "b_first", _AT),
        days_to_first_meeting=_first(_F.days_to_first_meeting, "b_first", bindparam("b_days")),
        # A deadline that falls due before the meeting is held (the old row's values).
        late_to_pre_meeting=case(
            (and_(_LATE, _F.pre_meeting_at.is_(None)), True), else_=_F.late_to_pre_meeting
        ),
        late_to_first_meeting=case(
            (and_(_LATE, _F.first_meeting_at.is_(None)), True), else_=_F.late_to_first_meeting
        ),
        meetings_held=case((_F.meetings_held < _NUMBER, _NUMBER), else_=_F.meetings_held),
        first_level=case((_F.first_level.is_(None), _LEVEL), else_=_F.first_level),
        latest_level=case((_LEVEL.is_not(None), _LEVEL), else_=_F.latest_level),
        levels_recorded=_F.levels_recorded + bindparam("b_recorded", type_=IntegerType()),
        ended_at=case((_ENDED, _AT), else_=_F.ended_at),
        end_stage=case((_ENDED, bindparam("b_stage")), else_=_F.end_stage),
        outcome=case((_ENDED, bindparam("b_outcome", type_=String())), else_=_F.outcome),
        overdue_timer=case(
            (_DEADLINE.is_not(None), _DEADLINE), (_MOVED, None), else_=_F.overdue_timer
        ),
        overdue_since=case((_DEADLINE.is_not(None), _AT), (_MOVED, None), else_=_F.overdue_since),
    )
)
INSERT_MEETING_FIGURES = DriverStatement(insert(MeetingFigures), insert_columns(MeetingFigures))
INSERT_DEADLINE_FIGURES = DriverStatement(insert(DeadlineFigures), insert_columns(DeadlineFigures))


def write_step_figures(  # noqa: PLR0913 - one recorded step's parts
    connection: Connection,
    definition: Definition,
    *,
    case_id: int,
    municipality_code: str,
    young_person_id: int | None,
    figures: StepFigures,
    from_stage: str | None,
    referred_at: datetime,
    at: datetime,
    opening: bool,
) -> None:
    """Write one step's figures (call it inside the step's pipelined writes)."""
    meeting = figures.meeting
    level = meeting.level if meeting else None
    deadline = figures.deadlines[-1] if figures.deadlines else None
    late = bool(figures.deadlines)
    if opening:
        INSERT_CASE_FIGURES.execute(
            connection,
            {
                "case_id": case_id,
                "municipality_code": municipality_code,
                "definition_id": definition.id,
                "young_person_id": young_person_id,
                "referred_at": referred_at,
                "stage": figures.stage,
                "pre_meeting_at": at if figures.reached_pre_meeting else None,
                "days_to_pre_meeting": figures.days if figures.reached_pre_meeting else None,
                "first_meeting_at": at if figures.reached_first_meeting else None,
                "days_to_first_meeting": figures.days if figures.reached_first_meeting else None,
                "late_to_pre_meeting": False,
                "late_to_first_meeting": False,
                "meetings_held": meeting.number if meeting else 0,
                "first_level": level,
                "latest_level": level,
                "levels_recorded": 1 if level is not None else 0,
                "ended_at": at if figures.ended else None,
                "end_stage": figures.stage if figures.ended else None,
                "outcome": figures.outcome,
                "overdue_timer": None,
                "overdue_since": None,
            },
        )
    else:
        UPDATE_CASE_FIGURES.execute(
            connection,
            {
                "b_case": case_id,
                "b_stage": figures.stage,
                "b_pre": figures.reached_pre_meeting,
                "b_first": figures.reached_first_meeting,
                "b_at": at,
                "b_days": figures.days,
                "b_late": late,
                "b_number": meeting.number if meeting else 0,
                "b_level": level,
                "b_recorded": 1 if level is not None else 0,
                "b_ended": figures.ended,
                "b_outcome": figures.outcome,
                # A deadline whose own step moved the case on did its work: not overdue
                # in the stage it left ("Første møde ikke holdt" sends it back).
                "b_deadline": None if figures.moved else deadline,
                "b_moved": figures.moved,
            },
        )
    if meeting is not None:
        INSERT_MEETING_FIGURES.execute(
            connection,
            {
                "case_id": case_id,
                "municipality_code": municipality_code,
                "number": meeting.number,
                "held_at": meeting.held_at,
                "level": level,
                "goals_reviewed": meeting.goals_reviewed,
                "goals_met": meeting.goals_met,
            },
        )
    for timer in figures.deadlines:
        INSERT_DEADLINE_FIGURES.execute(
            connection,
            {
                "case_id": case_id,
                "municipality_code": municipality_code,
                "timer": timer,
                "stage": from_stage or figures.stage,
                "fired_at": at,
            },
        )


def history_step_figures(
    definition: Definition, event: Any, counts: Mapping[str, int], opened_at: datetime
) -> StepFigures:
    """A recorded step's figures, from its history event (a row of ``history_events``;
    ``counts``: the case's event counts after it, as the replay keeps them)."""
    fired = tuple(
        e["timer"]
        for e in (event.effects or [])
        if e.get("type") == "TimerFired" and e.get("timer")
    )
    held = next(
        (
            e["meeting"]["starts_at"]
            for e in (event.effects or [])
            if e.get("type") == "MeetingChanged" and e.get("action") == "hold"
        ),
        None,
    )
    return step_figures(
        definition,
        event=event.event,
        transition=event.transition,
        from_stage=event.from_stage,
        to_stage=event.to_stage,
        fired=fired,
        counts=counts,
        values=event.inputs or {},
        given=frozenset(event.inputs or {}),
        opened_at=opened_at,
        at=event.at,
        held_start=datetime.fromisoformat(held) if held else None,
    )


#: What the replay reads of each history event (named: later columns are not needed).
_HISTORY = (
    HistoryEvent.event,
    HistoryEvent.transition,
    HistoryEvent.from_stage,
    HistoryEvent.to_stage,
    HistoryEvent.inputs,
    HistoryEvent.effects,
    HistoryEvent.at,
)


def rebuild_figures(connection: Connection) -> int:
    """Write every case's figures again from its history (the figures tables emptied
    first); the number of cases. Definitions are read as the cases pinned them."""
    from workflow.definitions.models import Definition as DefinitionModel

    for table in (MeetingFigures, DeadlineFigures, CaseFigures):
        connection.execute(delete(table))
    bodies: dict[int, Any] = dict(
        connection.execute(select(DefinitionVersion.id, DefinitionVersion.body)).all()
    )
    pinned: dict[int, Definition] = {}
    cases = connection.execute(
        select(
            Case.id,
            Case.municipality_code,
            Case.young_person_id,
            Case.definition_version_id,
            Case.opened_at,
            Case.stage,
            Case.closed_at,
        ).order_by(Case.id)
    ).all()
    unreadable: set[int] = set()
    for case_id, municipality, person, version_id, opened_at, stage, closed_at in cases:
        definition = pinned.get(version_id)
        if definition is None and version_id not in unreadable:
            try:
                definition = pinned[version_id] = DefinitionModel.model_validate(bodies[version_id])
            except ValidationError:  # a body no longer read as a definition: counted as is
                unreadable.add(version_id)
        if definition is None:
            _case_as_is(connection, case_id, municipality, person, opened_at, stage, closed_at)
            continue
        history = connection.execute(
            select(*_HISTORY).where(HistoryEvent.case_id == case_id).order_by(HistoryEvent.seq)
        ).all()
        counts: dict[str, int] = {}
        for index, event in enumerate(history):
            counts[event.event] = counts.get(event.event, 0) + 1
            figures = history_step_figures(definition, event, counts, opened_at)
            write_step_figures(
                connection,
                definition,
                case_id=case_id,
                municipality_code=municipality,
                young_person_id=person,
                figures=figures,
                from_stage=event.from_stage,
                referred_at=opened_at,
                at=event.at,
                opening=index == 0,
            )
    return len(cases)


def _case_as_is(
    connection: Connection,
    case_id: int,
    municipality: str,
    person: int | None,
    opened_at: datetime,
    stage: str,
    closed_at: datetime | None,
) -> None:
    """A case whose definition cannot be read any more: its stage and dates only."""
    INSERT_CASE_FIGURES.execute(
        connection,
        {
            **{column: None for column in INSERT_CASE_FIGURES.columns},
            "case_id": case_id,
            "municipality_code": municipality,
            "definition_id": "",
            "young_person_id": person,
            "referred_at": opened_at,
            "stage": stage,
            "late_to_pre_meeting": False,
            "late_to_first_meeting": False,
            "meetings_held": 0,
            "levels_recorded": 0,
            "ended_at": closed_at,
            "end_stage": stage if closed_at else None,
        },
    )
