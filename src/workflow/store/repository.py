"""Writing a decision back to the store.

Everything a decision changes is written in the caller's transaction: the case row,
the history event, timers, tasks, outbox rows, and the first-class records the step's
inputs carry (the team the young person chose, the coordinator, plan versions and
meetings).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields, is_dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from workflow.definitions.models import Definition
from workflow.definitions.parts import Stage
from workflow.definitions.vocabulary import CASEWORKER_ROLE, InputType, StageKind
from workflow.engine.model import (
    CancelTasks,
    CancelTimer,
    CreateTask,
    Decision,
    HoldTasks,
    MeetingChanged,
    Notify,
    ReleaseTasks,
    StartTimer,
    TimerFired,
)
from workflow.store.loading import StoredCase
from workflow.store.meetings import write_meeting_changes
from workflow.store.statements import (
    CANCEL_TIMER,
    INSERT_HISTORY,
    INSERT_OUTBOX,
    INSERT_TASK,
    INSERT_TIMER,
    MARK_TIMER_FIRED,
    MOVE_TIMER,
    UPDATE_CASE,
)
from workflow.store.states import OutboxState, TimerState
from workflow.store.tables import (
    CoordinatorAssignment,
    Meeting,
    Plan,
    PlanGoal,
    ReferenceCounter,
    TeamMembership,
)
from workflow.store.tasks import (
    cancel_tasks,
    follow_moved_meetings,
    hold_tasks,
    release_tasks,
    task_row,
    without_consent,
)

#: The outbox column's width; a longer key (a very long staff id) is shortened by hash.
DEDUPE_KEY_LENGTH = 200


def dedupe_key(reference: str, seq: int, index: int, recipient: object) -> str:
    """The key a notification is delivered once by: case, step, effect and recipient."""
    key = f"{reference}:{seq}:{index}:{recipient}"
    if len(key) <= DEDUPE_KEY_LENGTH:
        return key
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return f"{key[: DEDUPE_KEY_LENGTH - 65]}#{digest}"


def effect_record(effect: object) -> dict[str, Any]:
    """An effect as the history event keeps it (JSON values; a notification names its
    meeting by key, the meeting's own change carries it whole)."""
    record: dict[str, Any] = {"type": type(effect).__name__}
    record.update(_jsonable(effect))
    if isinstance(effect, Notify):
        record["meeting"] = effect.meeting.key if effect.meeting else None
    return record


#: The field names of each dataclass an effect holds (``dataclasses.fields`` once per type).
_FIELDS: dict[type, tuple[str, ...]] = {}


def _jsonable(value: Any) -> Any:
    """A JSON value: dataclasses as dicts of their fields (as ``dataclasses.asdict``, without
    its deep copies, a tenth of a step's time), times in ISO 8601, tuples as lists."""
    if value is None or isinstance(value, str | int | float):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    names = _FIELDS.get(type(value))
    if names is None and is_dataclass(value):
        names = _FIELDS.setdefault(type(value), tuple(f.name for f in fields(value)))
    if names is not None:
        return {name: _jsonable(getattr(value, name)) for name in names}
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


class StaleCaseError(Exception):
    """The case changed since it was read (another request committed first)."""


@dataclass(frozen=True, slots=True)
class WrittenStep:
    """A decision's writes, sent; :meth:`confirm` once they have been answered."""

    seq: int  # the step's number in the case's history
    effects: list[dict[str, Any]]  # as stored in the history event
    update: Any  # the driver cursor of the case row's UPDATE (None when opening)
    reference: str

    def confirm(self) -> None:
        """StaleCaseError unless the case row was still at the version that was read."""
        if self.update is not None and self.update.rowcount != 1:
            raise StaleCaseError(self.reference)


def write_decision(  # noqa: PLR0913 - a step's parts, keyword-only; one caller
    connection: Connection,
    definition: Definition,
    case: StoredCase,
    decision: Decision,
    *,
    live_timers: Mapping[str, str],
    actor_role: str,
    actor_id: str | None,
    inputs: dict[str, Any],
    now: datetime,
    opening: bool = False,
) -> WrittenStep:
    """Write a decision's case row, history event, timers, tasks and outbox rows.

    Call it inside :func:`~workflow.store.driver.pipelined` with the step's other writes
    (one round trip on PostgreSQL), then :meth:`WrittenStep.confirm`: the case row is
    updated only if its version is still the one that was read. ``live_timers``: the
    case's running or fired timers as read (name -> state), so that starting a timer
    knows whether to move its row or insert one without asking.
    """
    new = decision.case
    closed = definition.stages_by_id[new.stage].kind is StageKind.FINAL
    seq = case.last_seq if opening else case.last_seq + 1  # opened: inserted at step 1
    effects = [effect_record(e) for e in decision.effects]
    update = None
    if not opening:
        update = UPDATE_CASE.execute(
            connection,
            {
                "b_case": case.id,
                "b_old_version": case.version,
                "b_new_version": case.version + 1,
                "b_stage": new.stage,
                "b_previous_stage": new.previous_stage,
                "b_data": dict(new.data),
                "b_milestones": sorted(new.milestones),
                "b_counts": dict(new.counts),
                "b_timing": new.timing.as_data(),
                "b_closed_at": case.closed_at or (now if closed else None),
                "b_caseworker": new.holder(CASEWORKER_ROLE),
                "b_seq": seq,
            },
        )
    INSERT_HISTORY.execute(
        connection,
        {
            "case_id": case.id,
            "seq": seq,
            "event": decision.event,
            "transition": decision.transition,
            "from_stage": decision.from_stage,
            "to_stage": decision.to_stage,
            "inputs": inputs,
            "effects": effects,
            "actor_role": actor_role,
            "actor_id": actor_id,
            "at": now,
        },
    )
    _apply_effects(connection, definition, case, seq, decision, live_timers, now)
    return WrittenStep(seq, effects, update, case.reference)


def _apply_effects(
    connection: Connection,
    definition: Definition,
    case: StoredCase,
    seq: int,
    decision: Decision,
    live_timers: Mapping[str, str],
    now: datetime,
) -> None:
    stage = definition.stages_by_id[decision.to_stage]
    fired = {e.timer: e.due_at.isoformat() for e in decision.effects if isinstance(e, TimerFired)}
    live = dict(live_timers)  # kept as the statements below leave the timer rows
    outbox: list[dict[str, Any]] = []
    tasks: list[dict[str, Any]] = []
    meetings: list[MeetingChanged] = []
    for index, effect in enumerate(decision.effects):
        if isinstance(effect, Notify):
            outbox.append(_outbox_row(case, seq, index, effect, decision, stage, fired, now))
        elif isinstance(effect, StartTimer | CancelTimer | TimerFired):
            _timer_effect(connection, case.id, effect, live)
        elif isinstance(effect, CreateTask):
            tasks.append(task_row(case.id, seq, effect, now))
        elif isinstance(effect, CancelTasks):
            cancel_tasks(connection, case.id, effect, now)
        elif isinstance(effect, HoldTasks):
            hold_tasks(connection, case.id, effect, now)
        elif isinstance(effect, ReleaseTasks):
            release_tasks(connection, case.id, effect, now, definition)
        elif isinstance(effect, MeetingChanged):
            meetings.append(effect)
    if outbox:
        INSERT_OUTBOX.executemany(connection, outbox)
    if tasks:
        without_consent(connection, case.id, tasks)
        INSERT_TASK.executemany(connection, tasks)
    if meetings:
        follow_moved_meetings(connection, case.id, meetings, definition)
        write_meeting_changes(connection, case.id, meetings, now)


def _timer_effect(
    connection: Connection,
    case_id: int,
    effect: StartTimer | CancelTimer | TimerFired,
    live: dict[str, str],
) -> None:
    """Start, cancel or mark fired a timer row; ``live`` follows the rows."""
    if isinstance(effect, StartTimer):
        _start_timer(connection, case_id, effect.timer, effect.due_at, live)
    elif isinstance(effect, CancelTimer):
        CANCEL_TIMER.execute(connection, {"b_case": case_id, "b_timer": effect.timer})
        if live.get(effect.timer) == TimerState.RUNNING:
            del live[effect.timer]
    else:
        MARK_TIMER_FIRED.execute(connection, {"b_case": case_id, "b_timer": effect.timer})
        if live.get(effect.timer) == TimerState.RUNNING:
            live[effect.timer] = TimerState.FIRED


def _outbox_row(
    case: StoredCase,
    seq: int,
    index: int,
    effect: Notify,
    decision: Decision,
    stage: Stage,
    fired: Mapping[str, str],
    now: datetime,
) -> dict[str, Any]:
    """The outbox row of one notification of the step."""
    return {
        "b_case": case.id,
        "b_seq": seq,
        "case_id": case.id,
        "kind": "notify",
        "recipient": asdict(effect.recipient),
        "template": effect.template,
        "payload": {
            "shared": dict(effect.shared),
            "timer": effect.timer,
            "timer_due": fired.get(effect.timer or ""),
            "event": decision.event,
            "stage": decision.to_stage,
            "phase": stage.phase.value if stage.phase else None,
            "meeting": effect.meeting.as_data() if effect.meeting else None,
            "at": now.isoformat(),
        },
        "dedupe_key": dedupe_key(case.reference, seq, index, effect.recipient),
        "attempts": 0,
        "state": OutboxState.PENDING,
        "last_error": None,
        "available_at": now,
        "created_at": now,
        "sent_at": None,
        "announced_at": None,
    }


def _start_timer(
    connection: Connection, case_id: int, timer: str, due_at: datetime, live: dict[str, str]
) -> None:
    """Start a timer, or move a running (or just fired, recurring) one to its new due time.

    A case has at most one running-or-fired row per timer: it is moved if ``live``
    names it, else a new row is inserted.
    """
    if timer in live:
        MOVE_TIMER.execute(connection, {"b_case": case_id, "b_timer": timer, "b_due_at": due_at})
    else:
        INSERT_TIMER.execute(
            connection,
            {
                "case_id": case_id,
                "timer": timer,
                "due_at": due_at,
                "state": TimerState.RUNNING,
                "firings": 0,
            },
        )
    live[timer] = TimerState.RUNNING


def record_step_data(
    session: Session,
    definition: Definition,
    case_id: int,
    decision: Decision,
    inputs: dict[str, Any],
    actor_id: str | None,
    now: datetime,
) -> None:
    """Keep the young person's choices and the plan as first-class records."""
    declared = _declared_inputs(definition, decision.transition)
    values = decision.case.data
    for item in declared:
        if item.name not in inputs:
            continue
        value = values.get(item.name)
        if item.type is InputType.TEAM and isinstance(value, list):
            session.execute(
                update(TeamMembership)
                .where(TeamMembership.case_id == case_id, TeamMembership.until.is_(None))
                .values(until=now)
            )
            for member in value:
                session.add(
                    TeamMembership(
                        case_id=case_id,
                        department=member["department"],
                        person=member["person"],
                        role=member.get("role") or "team_member",
                        chosen_by_young_person=True,
                        since=now,
                    )
                )
        elif item.type is InputType.COORDINATOR and isinstance(value, str):
            session.execute(
                update(CoordinatorAssignment)
                .where(
                    CoordinatorAssignment.case_id == case_id, CoordinatorAssignment.until.is_(None)
                )
                .values(until=now)
            )
            session.add(
                CoordinatorAssignment(
                    case_id=case_id, person=value, chosen_by_young_person=True, since=now
                )
            )
    for item in declared:  # reviews mark the current plan's goals, before a new plan
        if item.type is InputType.GOAL_REVIEWS and item.name in inputs:
            _review_plan(session, case_id, values.get(item.name) or [])
    for item in declared:
        if item.type is InputType.GOALS and item.name in inputs:
            _add_plan(session, case_id, values.get(item.name) or [], actor_id, now)


def _review_plan(session: Session, case_id: int, reviews: Sequence[dict[str, Any]]) -> None:
    """Mark each goal of the case's newest plan met, partly met or not met."""
    plan_id = session.scalar(
        select(Plan.id).where(Plan.case_id == case_id).order_by(Plan.version.desc()).limit(1)
    )
    if plan_id is None:
        return
    for review in reviews:
        session.execute(
            update(PlanGoal)
            .where(PlanGoal.plan_id == plan_id, PlanGoal.number == review["goal"])
            .values(status=review["status"])
        )


def _place(definition: Definition, values: Mapping[str, Any]) -> str | None:
    """Where the case's meetings are held: the case's value of a meeting-place input."""
    places = definition.input_names_by_type.get(InputType.MEETING_PLACE, [])
    return next((str(values[name]) for name in places if values.get(name)), None)


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
    step = definition.transitions_by_id.get(transition)
    return list(step.inputs) if step is not None else []


def next_references(session: Session, case_prefix: str, year: int, count: int) -> list[str]:
    """The next ``count`` case references of a municipality and year, in order (e.g.
    SOR-2026-0042, SOR-2026-0043...), taken in one statement.

    The counter row is inserted or moved on by ``count`` at once (an upsert, RETURNING
    its new value); its lock (PostgreSQL: the row's; SQLite: the store's write lock) is
    held until the transaction ends, so concurrent referrals wait: no reference is given
    twice, and a rolled-back transaction gives its numbers back (no gap).
    """
    prefix = f"{case_prefix}-{year}"
    connection = session.connection()
    upsert = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement = (
        upsert(ReferenceCounter)
        .values(prefix=prefix, last=count)
        .on_conflict_do_update(
            index_elements=[ReferenceCounter.prefix],
            set_={"last": ReferenceCounter.last + count},
        )
        .returning(ReferenceCounter.last)
    )
    last = connection.execute(statement).scalar_one()
    return [f"{prefix}-{number:04d}" for number in range(last - count + 1, last + 1)]
