"""Finding a person's cases: as coordinator, as caseworker, or as a consented team member."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    Exists,
    Select,
    bindparam,
    exists,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from workflow.store.standing import consented
from workflow.store.states import TimerState
from workflow.store.tables import Case, CaseTimer, CoordinatorAssignment, TeamMembership

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


def relations_of(session: Session, person: str) -> dict[int, set[str]]:
    """The ids of a person's cases and how the person takes part in each.

    A team membership counts only while the young person's consent covers its department.
    """
    relations: dict[int, set[str]] = {}
    for case_id, relation in session.execute(_RELATIONS, {"b_person": person}):
        relations.setdefault(case_id, set()).add(relation)
    return relations


def _overdue(now: datetime) -> Exists:
    return exists().where(
        CaseTimer.case_id == Case.id, CaseTimer.state == TimerState.RUNNING, CaseTimer.due_at <= now
    )


def caseload(
    session: Session, query: CaseloadQuery, now: datetime
) -> tuple[list[CaseloadRow], int]:
    """A page of the person's cases (newest first) and how many match in all."""
    relations = relations_of(session, query.person)
    if query.relation:
        relations = {c: r for c, r in relations.items() if query.relation in r}
    if not relations:
        return [], 0
    overdue = _overdue(now)
    next_due = (
        select(func.min(CaseTimer.due_at))
        .where(CaseTimer.case_id == Case.id, CaseTimer.state == TimerState.RUNNING)
        .scalar_subquery()
    )
    related = select(_RELATED.c.case_id)
    if query.relation:
        related = related.where(_RELATED.c.relation == query.relation)
    base: Select[Any] = select(Case).where(Case.id.in_(related))
    if query.stage:
        base = base.where(Case.stage == query.stage)
    if query.search:
        base = base.where(Case.reference.contains(query.search.strip().upper(), autoescape=True))
    if query.overdue:
        base = base.where(overdue)
    filtered = bool(query.stage or query.search or query.overdue)
    # Unfiltered, every case of the person's matches: no count to ask the store for.
    total = (
        session.scalar(
            select(func.count()).select_from(base.subquery()), {"b_person": query.person}
        )
        or 0
        if filtered
        else len(relations)
    )
    page = session.execute(
        base.with_only_columns(
            Case.id,
            Case.reference,
            Case.municipality_code,
            Case.definition_version_id,
            Case.stage,
            Case.opened_at,
            Case.closed_at,
            next_due.label("next_due"),
            overdue.label("overdue"),
        )
        .order_by(Case.opened_at.desc(), Case.id.desc())
        .limit(min(max(query.limit, 1), MAX_PAGE))
        .offset(max(query.offset, 0)),
        {"b_person": query.person},
    ).all()
    return [
        CaseloadRow(
            reference=row.reference,
            municipality_code=row.municipality_code,
            definition_version_id=row.definition_version_id,
            stage=row.stage,
            opened_at=row.opened_at,
            closed_at=row.closed_at,
            relations=tuple(sorted(relations[row.id])),
            next_due=row.next_due,
            overdue=bool(row.overdue),
        )
        for row in page
    ], total
