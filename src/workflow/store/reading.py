"""Reading a case for people: its timeline, team, coordinator, plan and timers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import BindParameter, and_, bindparam, or_, select
from sqlalchemy import case as case_when
from sqlalchemy.orm import Session

from workflow.definitions.calendar import age_on
from workflow.definitions.models import Definition
from workflow.engine.milestones import live_milestones
from workflow.engine.model import CaseState, Timing
from workflow.errors import CaseNotFoundError
from workflow.store.driver import DriverStatement, read_together
from workflow.store.loading import Records, connection_of
from workflow.store.standing import ADULT_AGE
from workflow.store.statements import CASE_BY_REFERENCE
from workflow.store.states import TaskState, TimerState
from workflow.store.tables import (
    Case,
    CaseFigures,
    CaseTask,
    CaseTimer,
    Consent,
    ConsentDepartment,
    CoordinatorAssignment,
    Guardian,
    HistoryEvent,
    Meeting,
    MeetingFigures,
    Plan,
    PlanGoal,
    TeamMembership,
    YoungPerson,
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
    caseworker: str | None = None
    definition_version_id: int = 0
    data: dict[str, Any] = field(default_factory=dict)
    young_person: dict[str, Any] = field(default_factory=dict)
    #: The custodial parents on the case now (name, e-mail, phone; never their CPR).
    guardians: list[dict[str, Any]] = field(default_factory=list)
    meetings: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    plan_meeting: dict[str, Any] | None = None
    #: The previous plan's goals as the last follow-up marked them (met, partly, not met).
    reviewed: list[dict[str, Any]] = field(default_factory=list)
    #: The young person's consents, newest first, each with its departments.
    consents: list[dict[str, Any]] = field(default_factory=list)
    #: Meeting by meeting: the progression level agreed (rank) and goals reviewed/met.
    progress: list[dict[str, Any]] = field(default_factory=list)
    #: Who read the case (staff id) and the roles their standing on it gives them, as
    #: of the read (None: not known); the pages offer steps by them without a second
    #: read. Not part of an export.
    reader: str | None = None
    reader_roles: tuple[str, ...] | None = None
    #: The steps the reader's roles allow that would be refused now whatever they gave (a
    #: guard reading only the case, or separation of duties: see
    #: :func:`~workflow.engine.steps.refused_now`): not offered.
    refused_steps: frozenset[str] = frozenset()


# The case page's statements, built once and run on the driver, read as light records
# (a statement through SQLAlchemy's execution and the ORM's objects cost more Python time
# than its query: a case page sends a dozen).
_CASE: BindParameter[int] = bindparam("b_case")
_CASE_ROW = Records(Case, Case.reference == bindparam("b_reference"))
#: The goals of the case's two newest plans (the plan, and the one its review marked).
_RECENT_GOALS = Records(
    PlanGoal,
    PlanGoal.plan_id.in_(
        select(Plan.id)
        .where(Plan.case_id == _CASE)
        .order_by(Plan.version.desc())
        .limit(2)
        .scalar_subquery()
    ),
    order_by=[PlanGoal.plan_id, PlanGoal.number],
)
_CONSENTS = Records(Consent, Consent.case_id == _CASE, order_by=[Consent.id.desc()])
_GUARDIANS = Records(Guardian, Guardian.case_id == _CASE, order_by=[Guardian.id])
_CONSENT_DEPARTMENTS = Records(
    ConsentDepartment, ConsentDepartment.case_id == _CASE, order_by=[ConsentDepartment.id]
)
_HISTORY = Records(HistoryEvent, HistoryEvent.case_id == _CASE, order_by=[HistoryEvent.seq])
_TEAM = Records(TeamMembership, TeamMembership.case_id == _CASE, TeamMembership.until.is_(None))
_COORDINATOR = DriverStatement(
    select(CoordinatorAssignment.person).where(
        CoordinatorAssignment.case_id == _CASE, CoordinatorAssignment.until.is_(None)
    )
)
_PLANS = Records(Plan, Plan.case_id == _CASE, order_by=[Plan.version.desc()], limit=2)
_MEETINGS = Records(Meeting, Meeting.case_id == _CASE, order_by=[Meeting.starts_at])
_TASKS = Records(
    CaseTask,
    CaseTask.case_id == _CASE,
    order_by=[case_when((CaseTask.state == TaskState.OPEN, 0), else_=1), CaseTask.due_at],
)
_TIMERS = Records(
    CaseTimer,
    CaseTimer.case_id == _CASE,
    or_(
        CaseTimer.state == TimerState.RUNNING,
        # The deadline that passed in the stage the case is still in (the caseload shows
        # it as overdue; the case page listed only the ones running).
        and_(
            CaseTimer.state == TimerState.FIRED,
            CaseTimer.timer
            == select(CaseFigures.overdue_timer)
            .where(CaseFigures.case_id == _CASE)
            .scalar_subquery(),
        ),
    ),
    order_by=[CaseTimer.due_at],
)
_PROGRESS = Records(
    MeetingFigures,
    MeetingFigures.case_id == _CASE,
    order_by=[MeetingFigures.id],  # the order the meetings were recorded in
)
_PERSON = Records(YoungPerson, YoungPerson.id == bindparam("b_person"))


def _goal(goal: PlanGoal) -> dict[str, Any]:
    return {
        "number": goal.number,
        "text": goal.text,
        "department": goal.department,
        "owner": goal.owner,
        "deadline": goal.deadline,
        "status": goal.status,
    }


def _meeting(m: Meeting) -> dict[str, Any]:
    """A meeting as the case view shows it; ``participants`` are the invited people's ids
    (rows from before meetings had a lifecycle list the ids themselves)."""
    invited = [
        p if isinstance(p, dict) else {"id": p, "role": "team_member"} for p in m.participants or []
    ]
    return {
        "id": m.id,
        "key": m.key,
        "kind": m.kind,
        "starts_at": m.starts_at,
        "ends_at": m.ends_at,
        "place": m.place,
        "state": m.state,
        "sequence": m.sequence,
        "participants": [str(p["id"]) for p in invited],
        "invited": invited,
        "attendance": m.attendance if isinstance(m.attendance, dict) else {},
    }


def _present(m: Meeting) -> list[str]:
    """Who took part in a held meeting: those invited, less those its attendance names
    (sent apologies, did not come)."""
    shown = _meeting(m)
    absent = {str(who) for group in shown["attendance"].values() for who in group or ()}
    return [p for p in shown["participants"] if p not in absent]


def case_by_reference(session: Session, reference: str) -> Case:
    """The case with this reference, or CaseNotFoundError."""
    case = session.scalar(CASE_BY_REFERENCE, {"b_reference": reference})
    if case is None:
        raise CaseNotFoundError(f"no case {reference}")
    return case


def case_row_by_reference(session: Session, reference: str) -> Case:
    """The case with this reference as a light record to read (never to change), or
    CaseNotFoundError."""
    case = _CASE_ROW.first(session, {"b_reference": reference})
    if case is None:
        raise CaseNotFoundError(f"no case {reference}")
    return case


def read_cpr(session: Session, case: Case) -> str | None:
    """The stored (encrypted) CPR number of a case's young person."""
    if case.young_person_id is None:
        return None
    return session.scalar(select(YoungPerson.cpr).where(YoungPerson.id == case.young_person_id))


def _consents(consents: list[Consent], given_to: list[ConsentDepartment]) -> list[dict[str, Any]]:
    departments: dict[int, list[dict[str, Any]]] = {}
    for row in given_to:
        departments.setdefault(row.consent_id, []).append(
            {
                "department": row.department,
                "withdrawn_at": row.withdrawn_at,
                "withdrawn_by": row.withdrawn_by,
            }
        )
    return [
        {
            "id": c.id,
            "given_by": list(c.given_by),
            "categories": list(c.categories),
            "given_on": c.given_on,
            "age_at_consent": c.age_at_consent,
            "recorded_by": c.recorded_by,
            "recorded_at": c.recorded_at,
            "withdrawn_at": c.withdrawn_at,
            "departments": departments.get(c.id, []),
        }
        for c in consents
    ]


def _holding(definition: Definition, case: Case, now: datetime | None) -> list[str]:
    """The case's milestones that hold at ``now`` (one that lapsed is not shown as held)."""
    if now is None or not definition.expiring_milestones:
        return list(case.milestones)
    state = CaseState(
        case.reference,
        case.stage,
        case.opened_at,
        milestones=frozenset(case.milestones),
        timing=Timing.from_data(case.timing),
    )
    held = live_milestones(definition, state, now)
    return [m for m in case.milestones if m in held]


def _refused_event(effects: list[Any] | None) -> dict[str, Any] | None:
    """The event a timer raised that the case refused (event and reason), if the history
    entry is such a refusal: no step happened, and the timeline says so."""
    for effect in effects or []:
        if (
            isinstance(effect, dict)
            and effect.get("type") == "TimerFired"
            and effect.get("rejected")
        ):
            return {
                "event": str(effect.get("event")),
                "reason": str(effect["rejected"]),
                "timer": str(effect.get("timer")),
                "due": datetime.fromisoformat(str(effect["due_at"])),
            }
    return None


def read_case(
    session: Session,
    case: Case,
    definition: Definition,
    mask_cpr: Callable[[str], str],
    now: datetime | None = None,
) -> CaseView:
    """Everything a caseworker's view of a case shows (the caller logs the read).

    ``mask_cpr`` turns the stored (encrypted) CPR number into its masked form.
    """
    this = {"b_case": case.id}
    # Read together: on PostgreSQL one round trip for the dozen sets of rows.
    read = read_together(
        connection_of(session),
        [
            (_HISTORY.statement, this),
            (_TEAM.statement, this),
            (_COORDINATOR, this),
            (_PLANS.statement, this),
            (_RECENT_GOALS.statement, this),
            (_MEETINGS.statement, this),
            (_TASKS.statement, this),
            (_PERSON.statement, {"b_person": case.young_person_id}),
            (_CONSENTS.statement, this),
            (_CONSENT_DEPARTMENTS.statement, this),
            (_TIMERS.statement, this),
            (_PROGRESS.statement, this),
            (_GUARDIANS.statement, this),
        ],
    )
    history = _HISTORY.made(read[0])
    team = _TEAM.made(read[1])
    coordinator = read[2][0][0] if read[2] else None
    plans = _PLANS.made(read[3])
    plan = plans[0] if plans else None
    goals_of: dict[int, list[PlanGoal]] = {}
    for goal in _RECENT_GOALS.made(read[4]):
        goals_of.setdefault(goal.plan_id, []).append(goal)
    goals = goals_of.get(plan.id, []) if plan else []
    reviewed = goals_of.get(plans[1].id, []) if len(plans) > 1 else []
    meetings = _MEETINGS.made(read[5])
    tasks = _TASKS.made(read[6])
    person = next(iter(_PERSON.made(read[7])), None) if case.young_person_id else None
    consents = _consents(_CONSENTS.made(read[8]), _CONSENT_DEPARTMENTS.made(read[9]))
    timers = _TIMERS.made(read[10])
    progress = _PROGRESS.made(read[11])
    # Custody ends at 18 (as the access rule has it, whether or not a step said so).
    today = (now or datetime.now(UTC)).astimezone(ZoneInfo(definition.calendar.timezone)).date()
    minor = person is None or age_on(person.birth_date, today) < ADULT_AGE
    guardians = [g for g in _GUARDIANS.made(read[12]) if g.until is None] if minor else []
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
                "transition": h.transition,
                "actor_id": h.actor_id,
                "from": h.from_stage,
                "to": h.to_stage,
                "actor": f"{h.actor_role}:{h.actor_id or '-'}",
                "effects": h.effects,
                "inputs": h.inputs,
                "refused": _refused_event(h.effects),
            }
            for h in history
        ],
        team=[{"department": m.department, "person": m.person, "role": m.role} for m in team],
        coordinator=coordinator,
        plan=[_goal(g) for g in goals],
        plan_version=plan.version if plan else None,
        reviewed=[_goal(g) for g in reviewed],
        timers=[
            {"timer": t.timer, "due_at": t.due_at, "overdue": t.state == TimerState.FIRED}
            for t in timers
        ],
        milestones=_holding(definition, case, now),
        caseworker=case.caseworker,
        definition_version_id=case.definition_version_id,
        data=dict(case.data),
        young_person={
            "name": person.name,
            "birth_date": person.birth_date,
            "cpr": mask_cpr(person.cpr),
        }
        if person
        else {},
        guardians=[{"name": g.name, "email": g.email, "phone": g.phone} for g in guardians],
        meetings=[_meeting(m) for m in meetings],
        tasks=[
            {
                "id": t.id,
                "title": t.title,
                "details": t.details,
                "assignee": t.person or t.assignee_id,
                "due_at": t.due_at,
                "state": t.state,
                "closed_at": t.closed_at,
                "closed_by": t.closed_by,
                "note": t.note,
                "key": t.key,
                "created_by": t.created_by,
                "held": t.state == TaskState.OPEN and t.held_since is not None,
            }
            for t in tasks
        ],
        consents=consents,
        progress=[
            {
                "number": p.number,
                "held_at": p.held_at,
                "level": p.level,
                "goals_reviewed": p.goals_reviewed,
                "goals_met": p.goals_met,
            }
            for p in progress
        ],
        plan_meeting=next(
            (
                {"starts_at": m.starts_at, "participants": _present(m)}
                for m in meetings
                if plan is not None and m.id == plan.meeting_id
            ),
            None,
        ),
    )
