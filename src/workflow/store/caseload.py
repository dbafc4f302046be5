"""Finding a person's cases: as coordinator, as caseworker, or as a consented team member."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    Select,
    bindparam,
    exists,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from workflow.store.driver import DriverStatement, read_together
from workflow.store.loading import connection_of
from workflow.store.standing import consented
from workflow.store.states import TimerState
from workflow.store.tables import (
    Case,
    CaseFigures,
    CaseTimer,
    CoordinatorAssignment,
    DeadlineFigures,
    TeamMembership,
)

MAX_PAGE = 200


@dataclass(frozen=True)
class CaseloadQuery:
    """What a caseload page asks for."""

    person: str
    #: Only the cases where the person has this standing: caseworker, coordinator or
    #: team_member ("mine as caseworker", "as coordinator", "on the team").
    relation: str | None = None
    stage: str | None = None
    overdue: bool = False
    search: str | None = None
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True)
class CaseloadRow:
    """One case in a caseload."""

    reference: str
    municipality_code: str
    definition_version_id: int
    stage: str
    opened_at: datetime
    closed_at: datetime | None
    relations: tuple[str, ...]
    next_due: datetime | None
    overdue: bool


#: A person's cases and how they take part in each (``b_person``), built once: the
#: caseload's rows and its page both use it (the page as a subquery, so no list of
#: case ids is sent back to the store).
_PERSON: BindParameter[str] = bindparam("b_person")
_RELATIONS = union_all(
    select(CoordinatorAssignment.case_id, literal("coordinator").label("relation")).where(
        CoordinatorAssignment.person == _PERSON, CoordinatorAssignment.until.is_(None)
    ),
    select(TeamMembership.case_id, literal("team_member")).where(
        TeamMembership.person == _PERSON,
        TeamMembership.until.is_(None),
        consented(TeamMembership.case_id, TeamMembership.department),
    ),
    select(Case.id, literal("caseworker")).where(Case.caseworker == _PERSON),
)
_RELATED = _RELATIONS.subquery("related")


_RELATIONS_OF = DriverStatement(_RELATIONS)


def _overdue() -> ColumnElement[bool]:
    """A deadline of the case has passed: a timer due and not yet fired, or one the sweep
    fired in the stage the case is still in (the outcome figures keep it, ``overdue_timer``,
    until the case moves on; a fired timer's row says nothing of the stage)."""
    return or_(
        exists().where(
            CaseTimer.case_id == Case.id,
            CaseTimer.state == TimerState.RUNNING,
            CaseTimer.due_at <= bindparam("b_now", type_=CaseTimer.due_at.type),
        ),
        exists().where(CaseFigures.case_id == Case.id, CaseFigures.overdue_timer.is_not(None)),
    )


@dataclass(frozen=True)
class _Search:
    """A caseload search's statements for one combination of filters, prebuilt for the
    driver (a page asks for them on every view; built per request they cost more Python
    than the store takes to answer them)."""

    page: DriverStatement
    count: DriverStatement


@cache
def _search(relation: bool, stage: bool, search: bool, overdue: bool) -> _Search:
    related = select(_RELATED.c.case_id)
    if relation:
        related = related.where(_RELATED.c.relation == bindparam("b_relation"))
    base: Select[Any] = select(Case).where(Case.id.in_(related))
    if stage:
        base = base.where(Case.stage == bindparam("b_stage"))
    if search:
        base = base.where(Case.reference.like(bindparam("b_pattern"), escape="/"))
    if overdue:
        base = base.where(_overdue())
    running = (
        select(func.min(CaseTimer.due_at))
        .where(CaseTimer.case_id == Case.id, CaseTimer.state == TimerState.RUNNING)
        .scalar_subquery()
    )
    # The deadline to show: one that fell due in the stage the case is still in (since
    # when), else the next one running (a birthday far ahead is not the overdue one).
    passed = (
        select(func.max(CaseTimer.due_at))
        .join(CaseFigures, CaseFigures.case_id == CaseTimer.case_id)
        .where(
            CaseTimer.case_id == Case.id,
            CaseTimer.timer == CaseFigures.overdue_timer,
            CaseTimer.state == TimerState.FIRED,
        )
        .scalar_subquery()
    )
    # A repeating deadline that passed is running again, due next time: when it fell due
    # is its firing's (it showed the next time, in the future, marked overdue).
    repeated = (
        select(func.max(DeadlineFigures.fired_at))
        .join(CaseFigures, CaseFigures.case_id == DeadlineFigures.case_id)
        .where(
            DeadlineFigures.case_id == Case.id,
            DeadlineFigures.timer == CaseFigures.overdue_timer,
        )
        .scalar_subquery()
    )
    next_due = func.coalesce(passed, repeated, running)
    page = (
        base.with_only_columns(
            Case.id,
            Case.reference,
            Case.municipality_code,
            Case.definition_version_id,
            Case.stage,
            Case.opened_at,
            Case.closed_at,
            next_due.label("next_due"),
            _overdue().label("overdue"),
        )
        .order_by(Case.opened_at.desc(), Case.id.desc())
        .limit(bindparam("b_limit", type_=Integer))
        .offset(bindparam("b_offset", type_=Integer))
    )
    count = select(func.count()).select_from(base.subquery())
    return _Search(DriverStatement(page), DriverStatement(count))


def _contains(text: str) -> str:
    """A LIKE pattern that matches ``text`` anywhere, its wildcards taken literally."""
    escaped = text.replace("/", "//").replace("%", "/%").replace("_", "/_")
    return f"%{escaped}%"


def caseload(
    session: Session, query: CaseloadQuery, now: datetime
) -> tuple[list[CaseloadRow], int]:
    """A page of the person's cases (newest first) and how many match in all.

    A team membership counts only while the young person's consent covers its
    department. The person's relations, the page and (when filtered) the count are read
    together: on PostgreSQL in one round trip.
    """
    filtered = bool(query.stage or query.search or query.overdue)
    statements = _search(bool(query.relation), bool(query.stage), bool(query.search), query.overdue)
    params: dict[str, Any] = {
        "b_person": query.person,
        "b_now": now,
        "b_limit": min(max(query.limit, 1), MAX_PAGE),
        "b_offset": max(query.offset, 0),
    }
    if query.relation:
        params["b_relation"] = query.relation
    if query.stage:
        params["b_stage"] = query.stage
    if query.search:
        params["b_pattern"] = _contains(query.search.strip().upper())
    reads: list[tuple[DriverStatement, Mapping[str, Any]]] = [
        (_RELATIONS_OF, {"b_person": query.person}),
        (statements.page, params),
        *([(statements.count, params)] if filtered else []),
    ]
    found = read_together(connection_of(session), reads)
    relations: dict[int, set[str]] = {}
    for case_id, relation in found[0]:
        relations.setdefault(case_id, set()).add(relation)
    if query.relation:
        relations = {c: r for c, r in relations.items() if query.relation in r}
    # Unfiltered, every case of the person's matches: no count to ask the store for.
    # (On PostgreSQL each read has a snapshot of its own: a relation that began between
    # them shows its case on the page without a relation; it is named on the next view.)
    total = found[2][0][0] if filtered else len(relations)
    return [
        CaseloadRow(
            reference=reference,
            municipality_code=municipality_code,
            definition_version_id=version_id,
            stage=stage,
            opened_at=opened_at,
            closed_at=closed_at,
            relations=tuple(sorted(relations.get(case_id, ()))),
            next_due=next_due,
            overdue=bool(overdue),
        )
        for (
            case_id,
            reference,
            municipality_code,
            version_id,
            stage,
            opened_at,
            closed_at,
            next_due,
            overdue,
        ) in found[1]
    ], total
