"""Prebuilt statements for the hot path (a step of a case), with bind parameters.

Built once, so each is compiled once; the step's own statements are
:class:`~workflow.store.driver.DriverStatement` s, run on the driver's cursor in the
session's transaction, bypassing ORM bookkeeping. A step is then one read and one
block of writes (one round trip on PostgreSQL) with very little Python around them.
Bind names start with ``b_``: update() reserves column names for its SET clause.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, and_, bindparam, func, insert, null, or_, select, update

from workflow.store.driver import DriverStatement
from workflow.store.states import STEP_CLOSER, SYSTEM_CLOSER, MeetingState, TaskState, TimerState
from workflow.store.tables import (
    AuditEntry,
    Base,
    Case,
    CaseTask,
    CaseTimer,
    ConsentDepartment,
    Guardian,
    HistoryEvent,
    IdempotencyKey,
    Meeting,
    OutboxRow,
    YoungPerson,
)


def insert_columns(model: type[Base], *, set_in_statement: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The columns an INSERT into ``model``'s table binds by name, in the table's order.

    Every column but the one the database numbers itself (the autoincrement id) and those
    the statement sets itself; computed once, when the statement is built. A column added
    to the table is then bound too, and a caller that does not give it fails at once.
    """
    table = model.__table__
    assert isinstance(table, Table)
    return tuple(
        column.key
        for column in table.columns
        if column is not table.autoincrement_column and column.key not in set_in_statement
    )


CASE_BY_REFERENCE = select(Case).where(Case.reference == bindparam("b_reference"))

HISTORY_COLUMNS = insert_columns(HistoryEvent)

UPDATE_CASE = DriverStatement(
    update(Case)
    .where(Case.id == bindparam("b_case"), Case.version == bindparam("b_old_version"))
    .values(
        stage=bindparam("b_stage"),
        previous_stage=bindparam("b_previous_stage"),
        data=bindparam("b_data"),
        milestones=bindparam("b_milestones"),
        counts=bindparam("b_counts"),
        timing=bindparam("b_timing"),
        closed_at=bindparam("b_closed_at"),
        caseworker=bindparam("b_caseworker"),
        version=bindparam("b_new_version"),
        last_seq=bindparam("b_seq"),
    )
)

INSERT_HISTORY = DriverStatement(insert(HistoryEvent), HISTORY_COLUMNS)
INSERT_YOUNG_PERSON = insert(YoungPerson).returning(YoungPerson.id)
INSERT_GUARDIAN = insert(Guardian)
CASE_COLUMNS = insert_columns(Case)
INSERT_CASE = insert(Case).returning(Case.id)
INSERT_IDEMPOTENCY_KEY = DriverStatement(insert(IdempotencyKey), insert_columns(IdempotencyKey))
IDEMPOTENT_RESULT = DriverStatement(
    select(IdempotencyKey.result).where(IdempotencyKey.key == bindparam("b_key"))
)
#: history_id is set by the statement (below), from the step's history event.
OUTBOX_COLUMNS = insert_columns(OutboxRow, set_in_statement=("history_id",))
#: The step's history event is found by case and step number: the writes of a step go
#: to the database in one block, without waiting for the event's id.
INSERT_OUTBOX = DriverStatement(
    insert(OutboxRow).values(
        history_id=select(HistoryEvent.id)
        .where(HistoryEvent.case_id == bindparam("b_case"), HistoryEvent.seq == bindparam("b_seq"))
        .scalar_subquery()
    ),
    OUTBOX_COLUMNS,
)
INSERT_TASK = DriverStatement(insert(CaseTask), insert_columns(CaseTask))
INSERT_MEETING = DriverStatement(insert(Meeting), insert_columns(Meeting))
#: A meeting moved, cancelled or held (found by the case's key for it).
UPDATE_MEETING = DriverStatement(
    update(Meeting)
    .where(Meeting.case_id == bindparam("b_case"), Meeting.key == bindparam("b_key"))
    .values(
        starts_at=bindparam("b_starts_at"),
        ends_at=bindparam("b_ends_at"),
        place=bindparam("b_place"),
        state=bindparam("b_state"),
        sequence=bindparam("b_sequence"),
        attendance=bindparam("b_attendance"),
        changed_at=bindparam("b_changed_at"),
    )
)
_CANCELLED_TASK: dict[str, Any] = {
    "state": TaskState.CANCELLED.value,
    "closed_at": bindparam("b_now"),
    "closed_by": SYSTEM_CLOSER,
    "next_reminder_at": null(),
    "held_since": null(),
}
_OPEN_TASK = (CaseTask.case_id == bindparam("b_case"), CaseTask.state == TaskState.OPEN.value)
#: Every open task of a case ends (the case closed).
CANCEL_ALL_TASKS = DriverStatement(update(CaseTask).where(*_OPEN_TASK).values(**_CANCELLED_TASK))
#: The open tasks of the stage left (``until: stage``) and those waiting for the stage
#: entered (``until: <stage>``) end.
CANCEL_STAGE_TASKS = DriverStatement(
    update(CaseTask)
    .where(
        *_OPEN_TASK,
        or_(
            and_(CaseTask.until == "stage", CaseTask.stage == bindparam("b_left")),
            CaseTask.until == bindparam("b_entered"),
        ),
    )
    .values(**_CANCELLED_TASK)
)
#: A pause holds the open tasks of the stage it left: no reminder while it lasts.
HOLD_STAGE_TASKS = DriverStatement(
    update(CaseTask)
    .where(
        *_OPEN_TASK,
        CaseTask.until == "stage",
        CaseTask.stage == bindparam("b_stage"),
        CaseTask.held_since.is_(None),
    )
    .values(held_since=bindparam("b_now"), next_reminder_at=null())
)
#: The open tasks a pause holds (read when it ends; a SELECT the driver fetches, so it
#: waits for the step's pipelined writes before it on PostgreSQL).
HELD_TASKS = DriverStatement(
    select(
        CaseTask.id,
        CaseTask.stage,
        CaseTask.until,
        CaseTask.key,
        CaseTask.due_at,
        CaseTask.reminders,
        CaseTask.held_since,
        CaseTask.meeting_key,
    ).where(*_OPEN_TASK, CaseTask.held_since.is_not(None))
)
#: A held task of a stage left for good ends.
END_HELD_TASK = DriverStatement(
    update(CaseTask)
    .where(CaseTask.id == bindparam("b_task"))
    .values(**(_CANCELLED_TASK | {"closed_at": bindparam("b_now")}))
)
#: A held task goes on: due later, its reminders with it.
RELEASE_TASK = DriverStatement(
    update(CaseTask)
    .where(CaseTask.id == bindparam("b_task"))
    .values(
        due_at=bindparam("b_due"),
        reminders=bindparam("b_reminders"),
        next_reminder_at=bindparam("b_next"),
        held_since=null(),
    )
)
#: When the case's first meeting still booked (or moved) begins, whatever its time.
FIRST_OPEN_MEETING = DriverStatement(
    select(func.min(Meeting.starts_at)).where(
        Meeting.case_id == bindparam("b_case"),
        or_(Meeting.state == MeetingState.BOOKED.value, Meeting.state == MeetingState.MOVED.value),
    )
)
#: When a meeting of the case begins, if it is still booked (or moved).
OPEN_MEETING_START = DriverStatement(
    select(Meeting.starts_at).where(
        Meeting.case_id == bindparam("b_case"),
        Meeting.key == bindparam("b_key"),
        or_(Meeting.state == MeetingState.BOOKED.value, Meeting.state == MeetingState.MOVED.value),
    )
)
#: When a meeting of the case begins (read before a move is written; fetched, so it
#: waits for the step's writes before it in a PostgreSQL pipeline).
MEETING_START = DriverStatement(
    select(Meeting.starts_at).where(
        Meeting.case_id == bindparam("b_case"), Meeting.key == bindparam("b_key")
    )
)
#: The departments a consent of the case named, and whether that consent still covers
#: them (a department named only by withdrawn consents no longer takes part).
CONSENTED_DEPARTMENTS = DriverStatement(
    select(ConsentDepartment.department, ConsentDepartment.withdrawn_at.is_(None)).where(
        ConsentDepartment.case_id == bindparam("b_case")
    )
)
#: The open tasks a step names by their ``create_task`` id end (``cancel_tasks:``).
CANCEL_KEYED_TASKS = DriverStatement(
    update(CaseTask)
    .where(*_OPEN_TASK, CaseTask.key == bindparam("b_key"))
    .values(**(_CANCELLED_TASK | {"closed_by": STEP_CLOSER}))
)
#: Those of them due by a meeting (or given before tasks knew their meeting).
CANCEL_MEETING_TASKS = DriverStatement(
    update(CaseTask)
    .where(
        *_OPEN_TASK,
        CaseTask.key == bindparam("b_key"),
        or_(CaseTask.meeting_key == bindparam("b_meeting"), CaseTask.meeting_key.is_(None)),
    )
    .values(**(_CANCELLED_TASK | {"closed_by": STEP_CLOSER}))
)
AUDIT_COLUMNS = insert_columns(AuditEntry)
INSERT_AUDIT = insert(AuditEntry)
WRITE_AUDIT = DriverStatement(INSERT_AUDIT, AUDIT_COLUMNS)
INSERT_TIMER = DriverStatement(insert(CaseTimer), insert_columns(CaseTimer))

_TIMER_ROW = (CaseTimer.case_id == bindparam("b_case"), CaseTimer.timer == bindparam("b_timer"))
_RUNNING = CaseTimer.state == TimerState.RUNNING
CANCEL_TIMER = DriverStatement(
    update(CaseTimer).where(*_TIMER_ROW, _RUNNING).values(state=TimerState.CANCELLED)
)
MARK_TIMER_FIRED = DriverStatement(
    update(CaseTimer)
    .where(*_TIMER_ROW, _RUNNING)
    .values(state=TimerState.FIRED, firings=CaseTimer.firings + 1)
)
MOVE_TIMER = DriverStatement(
    update(CaseTimer)
    .where(*_TIMER_ROW, or_(_RUNNING, CaseTimer.state == TimerState.FIRED))
    .values(due_at=bindparam("b_due_at"), state=TimerState.RUNNING)
)
