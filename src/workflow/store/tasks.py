"""A case's tasks as rows: given by steps (or by hand), done or cancelled, reminded.

A task is open until its assignee marks it done, or until it ends with its stage or its
case (cancelled, with its reminders). Its reminders live on the row: the sweep sends
those that fall due while it is open (``next_reminder_at`` is the sweep's index). A pause
of the case holds the tasks of the stage it left (``held_since``: no reminders, not
overdue) until the case returns to that stage, when they go on with the time they had
left, or leaves the pause elsewhere, when they end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, or_, update

from workflow.definitions.models import Definition
from workflow.engine import timing
from workflow.engine.meetings import meeting_task_keys
from workflow.engine.model import CancelTasks, CreateTask, HoldTasks, MeetingChanged, ReleaseTasks
from workflow.engine.vocabulary import RecipientKind
from workflow.store.statements import (
    CANCEL_ALL_TASKS,
    CANCEL_KEYED_TASKS,
    CANCEL_MEETING_TASKS,
    CANCEL_STAGE_TASKS,
    CONSENTED_DEPARTMENTS,
    END_HELD_TASK,
    FIRST_OPEN_MEETING,
    HELD_TASKS,
    HOLD_STAGE_TASKS,
    MEETING_START,
    OPEN_MEETING_START,
    RELEASE_TASK,
)
from workflow.store.states import CONSENT_CLOSER, TaskState
from workflow.store.tables import CaseTask


def task_row(
    case_id: int, seq: int, task: CreateTask, now: datetime, created_by: str | None = None
) -> dict[str, Any]:
    """The row of a task the engine gave (every column, for the step's INSERT)."""
    reminders = [
        {
            "at": r.at.isoformat(),
            "template": r.template,
            "to": [asdict(t) for t in r.to],
            "sent": False,
        }
        for r in sorted(task.reminders, key=lambda r: r.at)
    ]
    return {
        "case_id": case_id,
        "assignee_kind": task.assignee.kind,
        "assignee_id": task.assignee.id,
        "person": task.assignee.person,
        "title": task.title,
        "due_at": task.due_at,
        "state": TaskState.OPEN,
        "created_at": now,
        "key": task.key,
        "created_seq": seq,
        "created_by": created_by,
        "details": task.details,
        "until": task.until,
        "stage": task.stage,
        "need": str(task.need) if task.need is not None else None,
        "raises": task.raises,
        "reminders": reminders,
        "next_reminder_at": min((r.at for r in task.reminders), default=None),
        "closed_at": None,
        "closed_by": None,
        "note": None,
        "held_since": None,
        "meeting_key": task.meeting,
    }


def cancel_tasks(connection: Connection, case_id: int, cancel: CancelTasks, now: datetime) -> None:
    """End the open tasks a stage change ends: all (a final stage), or those of the stage
    left (``until: stage``) and those that wait for the stage entered; or those a step
    names by their ``create_task`` ids."""
    if cancel.keys and cancel.meetings:
        for key in cancel.keys:
            for meeting in cancel.meetings:
                values = {"b_case": case_id, "b_now": now, "b_key": key, "b_meeting": meeting}
                CANCEL_MEETING_TASKS.execute(connection, values)
    elif cancel.keys:
        for key in cancel.keys:
            CANCEL_KEYED_TASKS.execute(connection, {"b_case": case_id, "b_now": now, "b_key": key})
    elif cancel.everything:
        CANCEL_ALL_TASKS.execute(connection, {"b_case": case_id, "b_now": now})
    else:
        CANCEL_STAGE_TASKS.execute(
            connection,
            {"b_case": case_id, "b_now": now, "b_left": cancel.left, "b_entered": cancel.entered},
        )


def without_consent(connection: Connection, case_id: int, rows: list[dict[str, Any]]) -> None:
    """Tasks a step gives to a department whose consent was withdrawn (or to one of its
    team members) are written closed: it no longer takes part in the course, and cannot
    see them (left open, they went overdue and were escalated to the coordinator)."""
    if not any(r["assignee_kind"] != RecipientKind.ROLE for r in rows):
        return
    covered: dict[str, bool] = {}
    for department, active in CONSENTED_DEPARTMENTS.rows(connection, {"b_case": case_id}):
        covered[department] = covered.get(department, False) or bool(active)
    for row in rows:
        if row["assignee_kind"] != RecipientKind.ROLE and covered.get(row["assignee_id"]) is False:
            row |= {
                "state": TaskState.CANCELLED,
                "closed_at": row["created_at"],
                "closed_by": CONSENT_CLOSER,
                "next_reminder_at": None,
            }


def hold_tasks(connection: Connection, case_id: int, hold: HoldTasks, now: datetime) -> None:
    """A pause sets the open tasks of the stage it left aside (no reminders meanwhile)."""
    HOLD_STAGE_TASKS.execute(connection, {"b_case": case_id, "b_stage": hold.stage, "b_now": now})


def release_tasks(
    connection: Connection,
    case_id: int,
    release: ReleaseTasks,
    now: datetime,
    definition: Definition,
) -> None:
    """Leaving a pause: the tasks it held of the stage the case returns to go on with the
    time they had left — due and unsent reminders later by the pause's length on the
    clock of the municipality (a due time on a day off on the next business day); one due
    at the latest when the meeting begins is not due after the meeting still booked, and
    keeps no reminder from its start on. Those of another stage end, as when it was
    left."""
    held = HELD_TASKS.rows(connection, {"b_case": case_id})
    if not held:
        return
    zone = ZoneInfo(definition.calendar.timezone)
    by_meeting = set(meeting_task_keys(definition))
    meetings: dict[int | None, datetime | None] = {}  # when each is booked, once read
    for task_id, stage, until, key, due, reminders, held_since, meeting_key in held:
        if stage != release.stage or until != "stage":
            END_HELD_TASK.execute(connection, {"b_task": task_id, "b_now": now})
            continue
        # The pause's length as the clock on the wall says it (a due 09:00 stays 09:00
        # across a change to or from summer time).
        pause = _wall(now, zone) - _wall(held_since, zone)
        later = None if due is None else _on_wall(_wall(due, zone) + pause, zone)
        cap = None
        if key in by_meeting:
            if meeting_key not in meetings:
                meetings[meeting_key] = _booked_start(connection, case_id, meeting_key)
            cap = meetings[meeting_key]
        if later is not None:
            later = timing.align(definition, later, "business_day")
            if cap is not None:
                later = min(later, cap)
        moved = []
        for reminder in reminders or []:
            if not reminder.get("sent"):
                given = datetime.fromisoformat(reminder["at"])
                # Beside the due time as it was given (at it, before or after it).
                at = (
                    given + (later - due)
                    if due is not None and later is not None
                    else _on_wall(_wall(given, zone) + pause, zone)
                )
                # At or after the meeting it was for: too late to act on (as when given).
                too_late = cap is not None and at >= cap
                reminder = {**reminder, "at": at.isoformat(), "sent": too_late}
            moved.append(reminder)
        unsent = [datetime.fromisoformat(r["at"]) for r in moved if not r.get("sent")]
        RELEASE_TASK.execute(
            connection,
            {
                "b_task": task_id,
                "b_due": later,
                "b_reminders": moved,
                "b_next": min(unsent, default=None),
            },
        )


def _booked_start(connection: Connection, case_id: int, key: int | None) -> datetime | None:
    """When the meeting ``key`` of the case begins, if still booked (or moved); for a
    task given before tasks knew their meeting (None), the first meeting still booked."""
    if key is None:
        found = FIRST_OPEN_MEETING.rows(connection, {"b_case": case_id})
    else:
        found = OPEN_MEETING_START.rows(connection, {"b_case": case_id, "b_key": key})
    return found[0][0] if found else None


def _wall(moment: datetime, zone: ZoneInfo) -> datetime:
    """A moment as the municipality's clock on the wall shows it (naive)."""
    return moment.astimezone(zone).replace(tzinfo=None)


def _on_wall(wall: datetime, zone: ZoneInfo) -> datetime:
    """A time on the municipality's wall clock as a moment."""
    return wall.replace(tzinfo=zone)


__all__ = ["cancel_tasks", "hold_tasks", "release_tasks", "task_row", "without_consent"]


def follow_moved_meetings(
    connection: Connection,
    case_id: int,
    changes: Sequence[MeetingChanged],
    definition: Definition,
) -> None:
    """Open tasks due "at the latest when the meeting begins" (``at_latest: meeting``)
    follow a meeting moved: those due when it began are due when it now begins, and
    those due after its new time are due then; a reminder at or after the new time is
    dropped (too late to act on, as when the task was given). Call it before the moves
    are written (it reads each meeting's time before the move). A move of the first
    meeting left its confirmations "Overskredet" on the old date."""
    moves = [c.meeting for c in changes if c.action == "move"]
    keys = set(meeting_task_keys(definition))
    if not moves or not keys:
        return
    for meeting in moves:
        found = MEETING_START.rows(connection, {"b_case": case_id, "b_key": meeting.key})
        before = found[0][0] if found else None
        after = meeting.starts_at
        if before is None or before == after:
            continue
        mine = (
            CaseTask.case_id == case_id,
            CaseTask.state == TaskState.OPEN,
            CaseTask.key.in_(sorted(keys)),
            # Its own meeting's tasks (one given before tasks knew their meeting: any).
            or_(CaseTask.meeting_key == meeting.key, CaseTask.meeting_key.is_(None)),
        )
        connection.execute(
            update(CaseTask)
            .where(*mine, or_(CaseTask.due_at == before, CaseTask.due_at > after))
            .values(due_at=after)
        )
        connection.execute(
            update(CaseTask)
            .where(*mine, CaseTask.next_reminder_at >= after)
            .values(next_reminder_at=None)
        )
