"""Prebuilt statements for the hot path (a step of a case), with bind parameters.

Built once, so SQLAlchemy compiles and caches each one once; executed on the
session's connection, bypassing ORM bookkeeping. A step is then a handful of round
trips with very little Python around them. Bind names start with ``b_``: update()
reserves column names for its SET clause.
"""

from __future__ import annotations

from sqlalchemy import bindparam, insert, select, update

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

RUNNING_TIMERS = select(CaseTimer.timer, CaseTimer.due_at, CaseTimer.firings).where(
    CaseTimer.case_id == bindparam("b_case"), CaseTimer.state == "running"
)

UPDATE_CASE = (
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

INSERT_HISTORY = insert(HistoryEvent).returning(HistoryEvent.id)
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
INSERT_IDEMPOTENCY_KEY = insert(IdempotencyKey)
IDEMPOTENT_RESULT = select(IdempotencyKey.result).where(IdempotencyKey.key == bindparam("b_key"))
INSERT_OUTBOX = insert(OutboxRow)
INSERT_TASK = insert(CaseTask)
INSERT_AUDIT = insert(AuditEntry)
INSERT_TIMER = insert(CaseTimer)

_TIMER_ROW = (CaseTimer.case_id == bindparam("b_case"), CaseTimer.timer == bindparam("b_timer"))
CANCEL_TIMER = (
    update(CaseTimer).where(*_TIMER_ROW, CaseTimer.state == "running").values(state="cancelled")
)
MARK_TIMER_FIRED = (
    update(CaseTimer)
    .where(*_TIMER_ROW, CaseTimer.state == "running")
    .values(state="fired", firings=CaseTimer.firings + 1)
)
MOVE_TIMER = (
    update(CaseTimer)
    .where(*_TIMER_ROW, CaseTimer.state.in_(("running", "fired")))
    .values(due_at=bindparam("b_due_at"), state="running")
)
