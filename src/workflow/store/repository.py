"""Reading a case's engine state from the store, and writing a decision back.

Everything a decision changes is written in the caller's transaction: the case row,
the history event, timers, tasks, outbox rows, and the first-class records the step's
inputs carry (the team the young person chose, the coordinator, plan versions and
meetings).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from workflow.definitions import Definition
from workflow.definitions.models import InputType, StageKind
from workflow.engine import (
    CancelTimer,
    CaseState,
    CreateTask,
    Decision,
    Notify,
    StartTimer,
    TimerFired,
)
from workflow.store.tables import (
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
)


def case_state(session: Session, case: Case) -> CaseState:
    """The engine's view of a stored case."""
    timers = session.scalars(
        select(CaseTimer).where(CaseTimer.case_id == case.id, CaseTimer.state == "running")
    ).all()
    return CaseState(
        reference=case.reference,
        stage=case.stage,
        opened_at=case.opened_at,
        previous_stage=case.previous_stage,
        data=dict(case.data),
        milestones=frozenset(case.milestones),
        timers={t.timer: t.due_at for t in timers},
        timer_firings={t.timer: t.firings for t in timers if t.firings},
        counts=dict(case.counts),
    )


def _effect_record(effect: object) -> dict[str, Any]:
    record = {"type": type(effect).__name__, **asdict(effect)}  # type: ignore[call-overload]
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in record.items()}


def apply_decision(
    session: Session,
    definition: Definition,
    case: Case,
    decision: Decision,
    *,
    actor_role: str,
    actor_id: str | None,
    inputs: dict[str, Any],
    now: datetime,
) -> HistoryEvent:
    """Write a decision into the open transaction; returns the new history event."""
    new = decision.case
    case.stage = new.stage
    case.previous_stage = new.previous_stage
    case.data = dict(new.data)
    case.milestones = sorted(new.milestones)
    case.counts = dict(new.counts)
    if definition.stages_by_id[new.stage].kind is StageKind.FINAL and case.closed_at is None:
        case.closed_at = now
    session.flush()  # bumps the version: a concurrent change fails here

    seq = (
        session.scalar(select(func.max(HistoryEvent.seq)).where(HistoryEvent.case_id == case.id))
        or 0
    ) + 1
    history = HistoryEvent(
        case_id=case.id,
        seq=seq,
        event=decision.event,
        transition=decision.transition,
        from_stage=decision.from_stage,
        to_stage=decision.to_stage,
        inputs=inputs,
        effects=[_effect_record(e) for e in decision.effects],
        actor_role=actor_role,
        actor_id=actor_id,
        at=now,
    )
    session.add(history)
    session.flush()
    _apply_effects(session, definition, case, history, decision, now)
    _record_step_data(session, definition, case, decision, inputs, actor_id, now)
    return history


def _apply_effects(
    session: Session,
    definition: Definition,
    case: Case,
    history: HistoryEvent,
    decision: Decision,
    now: datetime,
) -> None:
    stage = definition.stages_by_id[decision.to_stage]
    fired = {e.timer: e.due_at.isoformat() for e in decision.effects if isinstance(e, TimerFired)}
    for index, effect in enumerate(decision.effects):
        if isinstance(effect, Notify):
            recipient = asdict(effect.recipient)
            session.add(
                OutboxRow(
                    case_id=case.id,
                    history_id=history.id,
                    kind="notify",
                    recipient=recipient,
                    template=effect.template,
                    payload={
                        "shared": dict(effect.shared),
                        "timer": effect.timer,
                        "timer_due": fired.get(effect.timer or ""),
                        "event": decision.event,
                        "stage": decision.to_stage,
                        "phase": stage.phase.value if stage.phase else None,
                    },
                    dedupe_key=f"{case.reference}:{history.seq}:{index}:{effect.recipient}",
                    attempts=0,
                    state="pending",
                    available_at=now,
                    created_at=now,
                )
            )
        elif isinstance(effect, StartTimer):
            _set_timer(session, case.id, effect.timer, effect.due_at)
        elif isinstance(effect, CancelTimer):
            session.execute(
                update(CaseTimer)
                .where(
                    CaseTimer.case_id == case.id,
                    CaseTimer.timer == effect.timer,
                    CaseTimer.state == "running",
                )
                .values(state="cancelled")
            )
        elif isinstance(effect, TimerFired):
            session.execute(
                update(CaseTimer)
                .where(
                    CaseTimer.case_id == case.id,
                    CaseTimer.timer == effect.timer,
                    CaseTimer.state == "running",
                )
                .values(state="fired", firings=CaseTimer.firings + 1)
            )
        elif isinstance(effect, CreateTask):
            session.add(
                CaseTask(
                    case_id=case.id,
                    assignee_kind=effect.assignee.kind,
                    assignee_id=effect.assignee.id,
                    person=effect.assignee.person,
                    title=effect.title,
                    due_at=effect.due_at,
                    state="open",
                    created_at=now,
                )
            )


def _set_timer(session: Session, case_id: int, timer: str, due_at: datetime) -> None:
    """Start a timer, or move a running (or just fired, recurring) one to its new due time."""
    row = session.scalar(
        select(CaseTimer)
        .where(
            CaseTimer.case_id == case_id,
            CaseTimer.timer == timer,
            CaseTimer.state.in_(("running", "fired")),
        )
        .order_by(CaseTimer.id.desc())
        .limit(1)
    )
    if row is not None and row.state == "fired" and row.due_at >= due_at:
        row = None
    if row is None:
        session.add(
            CaseTimer(case_id=case_id, timer=timer, due_at=due_at, state="running", firings=0)
        )
    else:
        row.due_at, row.state = due_at, "running"


def _record_step_data(
    session: Session,
    definition: Definition,
    case: Case,
    decision: Decision,
    inputs: dict[str, Any],
    actor_id: str | None,
    now: datetime,
) -> None:
    """Keep the young person's choices and the plan as first-class records."""
    declared = _declared_inputs(definition, decision.transition)
    values = decision.case.data
    meeting_id: int | None = None
    for item in declared:
        if item.name not in inputs:
            continue
        value = values.get(item.name)
        if item.type is InputType.TEAM and isinstance(value, list):
            session.execute(
                update(TeamMembership)
                .where(TeamMembership.case_id == case.id, TeamMembership.until.is_(None))
                .values(until=now)
            )
            for member in value:
                session.add(
                    TeamMembership(
                        case_id=case.id,
                        department=member["department"],
                        person=member["person"],
                        role=member.get("role") or "team_member",
                        chosen_by_young_person=True,
                        since=now,
                    )
                )
        elif item.name == "coordinator" and isinstance(value, str):
            session.execute(
                update(CoordinatorAssignment)
                .where(
                    CoordinatorAssignment.case_id == case.id, CoordinatorAssignment.until.is_(None)
                )
                .values(until=now)
            )
            session.add(
                CoordinatorAssignment(
                    case_id=case.id, person=value, chosen_by_young_person=True, since=now
                )
            )
        elif item.type is InputType.DATETIME and item.name.endswith("meeting_at") and value:
            team = values.get("team") or []
            meeting = Meeting(
                case_id=case.id,
                kind=item.name.removesuffix("_at"),
                starts_at=datetime.fromisoformat(str(value)),
                place=_place(values),
                participants=[m["person"] for m in team],
                attendance=[],
            )
            session.add(meeting)
            session.flush()
            meeting_id = meeting_id or meeting.id
    for item in declared:
        if item.type is InputType.GOALS and item.name in inputs:
            _add_plan(session, case.id, values.get(item.name) or [], actor_id, now)


def _place(values: Any) -> str | None:
    for key in ("meeting_room", "meeting_place"):
        if values.get(key):
            return str(values[key])
    return None


def _add_plan(
    session: Session,
    case_id: int,
    goals: Sequence[dict[str, Any]],
    actor_id: str | None,
    now: datetime,
) -> None:
    version = (
        session.scalar(select(func.max(Plan.version)).where(Plan.case_id == case_id)) or 0
    ) + 1
    held = session.scalar(
        select(Meeting.id)
        .where(Meeting.case_id == case_id, Meeting.starts_at <= now)
        .order_by(Meeting.starts_at.desc())
        .limit(1)
    )
    plan = Plan(
        case_id=case_id, version=version, meeting_id=held, written_by=actor_id, created_at=now
    )
    session.add(plan)
    session.flush()
    for goal in goals:
        deadline = goal.get("deadline")
        session.add(
            PlanGoal(
                plan_id=plan.id,
                number=goal["id"],
                text=goal["text"],
                owner=goal.get("owner"),
                department=goal.get("department"),
                theme=goal.get("theme"),
                deadline=date.fromisoformat(deadline) if deadline else None,
                status=goal.get("status") or "open",
            )
        )


def _declared_inputs(definition: Definition, transition: str) -> list[Any]:
    if transition == "refer":
        return list(definition.referral.inputs)
    for candidate in definition.transitions:
        if candidate.id == transition:
            return list(candidate.inputs)
    return []
