"""Prebuilt statements for the hot path (a step of a case), with bind parameters.

Built once, so each is compiled once; the step's own statements are
:class:`~workflow.store.driver.DriverStatement` s, run on the driver's cursor in the
session's transaction, bypassing ORM bookkeeping. A step is then one read and one
block of writes (one round trip on PostgreSQL) with very little Python around them.
Bind names start with ``b_``: update() reserves column names for its SET clause.
"""

from __future__ import annotations

from sqlalchemy import bindparam, insert, or_, select, update

from workflow.store.driver import DriverStatement
from workflow.store.tables import (
    AuditEntry,
    Case,
    CaseTask,
    CaseTimer,
    HistoryEvent,
    IdempotencyKey,
    OutboxRow,
    YoungPerson,
)

CASE_BY_REFERENCE = select(Case).where(Case.reference == bindparam("b_reference"))

HISTORY_COLUMNS = (
    "case_id",
    "seq",
    "event",
    "transition",
    "from_stage",
    "to_stage",
    "inputs",
    "effects",
    "actor_role",
    "actor_id",
    "at",
)

UPDATE_CASE = DriverStatement(
    update(Case)
    .where(Case.id == bindparam("b_case"), Case.version == bindparam("b_old_version"))
    .values(
        stage=bindparam("b_stage"),
        previous_stage=bindparam("b_previous_stage"),
        data=bindparam("b_data"),
        milestones=bindparam("b_milestones"),
        counts=bindparam("b_counts"),
        closed_at=bindparam("b_closed_at"),
        caseworker=bindparam("b_caseworker"),
        version=bindparam("b_new_version"),
        last_seq=bindparam("b_seq"),
    )
)

INSERT_HISTORY = DriverStatement(insert(HistoryEvent), HISTORY_COLUMNS)
INSERT_YOUNG_PERSON = insert(YoungPerson).returning(YoungPerson.id)
CASE_COLUMNS = (
    "reference",
    "municipality_code",
    "kle",
    "definition_version_id",
    "stage",
    "previous_stage",
    "data",
    "milestones",
    "counts",
    "young_person_id",
    "caseworker",
    "opened_at",
    "closed_at",
    "version",
    "last_seq",
)
INSERT_CASE = insert(Case).returning(Case.id)
INSERT_IDEMPOTENCY_KEY = DriverStatement(
    insert(IdempotencyKey), ("key", "case_reference", "result", "created_at")
)
IDEMPOTENT_RESULT = DriverStatement(
    select(IdempotencyKey.result).where(IdempotencyKey.key == bindparam("b_key"))
)
OUTBOX_COLUMNS = (
    "case_id",
    "kind",
    "recipient",
    "template",
    "payload",
    "dedupe_key",
    "attempts",
    "state",
    "last_error",
    "available_at",
    "created_at",
    "sent_at",
)
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
INSERT_TASK = DriverStatement(
    insert(CaseTask),
    ("case_id", "assignee_kind", "assignee_id", "person", "title", "due_at", "state", "created_at"),
)
AUDIT_COLUMNS = ("at", "actor", "action", "object_type", "object_id", "purpose", "details")
INSERT_AUDIT = insert(AuditEntry)
WRITE_AUDIT = DriverStatement(INSERT_AUDIT, AUDIT_COLUMNS)
INSERT_TIMER = DriverStatement(
    insert(CaseTimer), ("case_id", "timer", "due_at", "state", "firings")
)

_TIMER_ROW = (CaseTimer.case_id == bindparam("b_case"), CaseTimer.timer == bindparam("b_timer"))
CANCEL_TIMER = DriverStatement(
    update(CaseTimer).where(*_TIMER_ROW, CaseTimer.state == "running").values(state="cancelled")
)
MARK_TIMER_FIRED = DriverStatement(
    update(CaseTimer)
    .where(*_TIMER_ROW, CaseTimer.state == "running")
    .values(state="fired", firings=CaseTimer.firings + 1)
)
MOVE_TIMER = DriverStatement(
    update(CaseTimer)
    .where(*_TIMER_ROW, or_(CaseTimer.state == "running", CaseTimer.state == "fired"))
    .values(due_at=bindparam("b_due_at"), state="running")
)
