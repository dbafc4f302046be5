"""Reading a case for people: its timeline, team, coordinator, plan and timers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.definitions import Definition
from workflow.store.tables import (
    Case,
    CaseTimer,
    CoordinatorAssignment,
    HistoryEvent,
    Plan,
    PlanGoal,
    TeamMembership,
)


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
    plan = session.scalar(
        select(Plan).where(Plan.case_id == case.id).order_by(Plan.version.desc()).limit(1)
    )
    goals = (
        session.scalars(
            select(PlanGoal).where(PlanGoal.plan_id == plan.id).order_by(PlanGoal.number)
        ).all()
        if plan
        else []
    )
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
        plan=[
            {
                "number": g.number,
                "text": g.text,
                "department": g.department,
                "owner": g.owner,
                "deadline": g.deadline,
                "status": g.status,
            }
            for g in goals
        ],
        plan_version=plan.version if plan else None,
        timers=[{"timer": t.timer, "due_at": t.due_at} for t in timers],
        milestones=list(case.milestones),
    )
