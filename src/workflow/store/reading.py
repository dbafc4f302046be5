"""Reading a case for people: its timeline, team, coordinator, plan and timers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.definitions import Definition
from workflow.store.tables import (
    Case,
    CaseTask,
    CaseTimer,
    CoordinatorAssignment,
    HistoryEvent,
    Meeting,
    Plan,
    PlanGoal,
    TeamMembership,
    YoungPerson,
)


def masked_cpr(cpr: str) -> str:
    """A CPR number as pages show it: the birth date part only (e.g. 010203-xxxx)."""
    digits = cpr.replace("-", "")
    return f"{digits[:6]}-xxxx" if len(digits) >= 6 else "xxxxxx-xxxx"


@dataclass(frozen=True)
class CaseView:
    """A case as a caseworker sees it: stage, timeline, team, plan, running timers."""

    reference: str
    definition: str
    version: int
    stage: str
    opened_at: datetime
    closed_at: datetime | None
    history: list[dict[str, Any]]
    team: list[dict[str, Any]]
    coordinator: str | None
    plan: list[dict[str, Any]]
    plan_version: int | None
    timers: list[dict[str, Any]]
    milestones: list[str]
    caseworker: str | None = None
    definition_version_id: int = 0
    data: dict[str, Any] = field(default_factory=dict)
    young_person: dict[str, Any] = field(default_factory=dict)
    meetings: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    plan_meeting: dict[str, Any] | None = None
    #: The previous plan's goals as the last follow-up marked them (met, partly, not met).
    reviewed: list[dict[str, Any]] = field(default_factory=list)


def _goals(session: Session, plan: Plan | None) -> list[PlanGoal]:
    if plan is None:
        return []
    return list(
        session.scalars(
            select(PlanGoal).where(PlanGoal.plan_id == plan.id).order_by(PlanGoal.number)
        )
    )


def _goal(goal: PlanGoal) -> dict[str, Any]:
    return {
        "number": goal.number,
        "text": goal.text,
        "department": goal.department,
        "owner": goal.owner,
        "deadline": goal.deadline,
        "status": goal.status,
    }


def read_case(session: Session, case: Case, definition: Definition) -> CaseView:
    """Everything a caseworker's view of a case shows (the caller logs the read)."""
    history = session.scalars(
        select(HistoryEvent).where(HistoryEvent.case_id == case.id).order_by(HistoryEvent.seq)
    ).all()
    team = session.scalars(
        select(TeamMembership).where(
            TeamMembership.case_id == case.id, TeamMembership.until.is_(None)
        )
    ).all()
    coordinator = session.scalar(
        select(CoordinatorAssignment.person).where(
            CoordinatorAssignment.case_id == case.id, CoordinatorAssignment.until.is_(None)
        )
    )
    plans = session.scalars(
        select(Plan).where(Plan.case_id == case.id).order_by(Plan.version.desc()).limit(2)
    ).all()
    plan = plans[0] if plans else None
    goals = _goals(session, plan)
    reviewed = _goals(session, plans[1]) if len(plans) > 1 else []
    meetings = session.scalars(
        select(Meeting).where(Meeting.case_id == case.id).order_by(Meeting.starts_at)
    ).all()
    tasks = session.scalars(
        select(CaseTask)
        .where(CaseTask.case_id == case.id, CaseTask.state == "open")
        .order_by(CaseTask.due_at)
    ).all()
    person = session.get(YoungPerson, case.young_person_id) if case.young_person_id else None
    timers = session.scalars(
        select(CaseTimer)
        .where(CaseTimer.case_id == case.id, CaseTimer.state == "running")
        .order_by(CaseTimer.due_at)
    ).all()
    return CaseView(
        reference=case.reference,
        definition=definition.id,
        version=definition.version,
        stage=case.stage,
        opened_at=case.opened_at,
        closed_at=case.closed_at,
        history=[
            {
                "seq": h.seq,
                "at": h.at,
                "event": h.event,
                "from": h.from_stage,
                "to": h.to_stage,
                "actor": f"{h.actor_role}:{h.actor_id or '-'}",
                "effects": h.effects,
            }
            for h in history
        ],
        team=[{"department": m.department, "person": m.person, "role": m.role} for m in team],
        coordinator=coordinator,
        plan=[_goal(g) for g in goals],
        plan_version=plan.version if plan else None,
        reviewed=[_goal(g) for g in reviewed],
        timers=[{"timer": t.timer, "due_at": t.due_at} for t in timers],
        milestones=list(case.milestones),
        caseworker=case.caseworker,
        definition_version_id=case.definition_version_id,
        data=dict(case.data),
        young_person={
            "name": person.name,
            "birth_date": person.birth_date,
            "cpr": masked_cpr(person.cpr),
        }
        if person
        else {},
        meetings=[
            {
                "id": m.id,
                "kind": m.kind,
                "starts_at": m.starts_at,
                "place": m.place,
                "participants": list(m.participants),
            }
            for m in meetings
        ],
        tasks=[
            {"title": t.title, "assignee": t.person or t.assignee_id, "due_at": t.due_at}
            for t in tasks
        ],
        plan_meeting=next(
            (
                {"starts_at": m.starts_at, "participants": list(m.participants)}
                for m in meetings
                if plan is not None and m.id == plan.meeting_id
            ),
            None,
        ),
    )
