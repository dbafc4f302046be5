"""A department whose consent is withdrawn leaves the meetings still to come (and its
open tasks end: :func:`close_department_tasks`).

Its team members were invited to the case's booked meetings (a calendar entry each).
With the consent withdrawn nothing more reaches them — a moved meeting's update is
withheld — so their calendars would keep the meeting at its old time, and they would
come to a meeting the young person no longer shares with them. Each of them is sent the
meeting's cancellation for their own calendar (the same UID), in the
same transaction as the withdrawal: no reason, no link, only the case reference and the
time (the definition's ``meeting_uninvited`` template). The meeting itself stands for
everyone else.

The cancellation carries the meeting's own SEQUENCE: its DTSTAMP, the withdrawal's time,
makes it the newer message (RFC 5546), and the meeting's next update (a move, SEQUENCE
+ 1) is newer than it for every calendar alike. When a consent covers the department
again, each member it took out of a meeting still to come is invited again (the
``meeting_invited_again`` template, the meeting whole) unless an update of that meeting
already reaches them (a move withheld meanwhile, released by the consent), and the
tasks the withdrawal ended are opened again if no step has been taken since
(:func:`reopen_department_tasks`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from workflow.definitions.models import Definition
from workflow.engine.consent import UNINVITED_MARK
from workflow.engine.meetings import OPEN_STATES
from workflow.engine.vocabulary import RecipientKind
from workflow.store.states import CONSENT_CLOSER, OutboxState, TaskState
from workflow.store.tables import Case, CaseTask, HistoryEvent, Meeting, OutboxRow

#: The template each such cancellation is written with (the base definition has it).
TEMPLATE = "meeting_uninvited"


def uninvite(
    session: Session, case: Case, definition: Definition, departments: set[str], now: datetime
) -> int:
    """Queue a cancellation to each team member of ``departments`` invited to a meeting of
    the case still to come; how many were queued (none if the definition has no
    ``meeting_uninvited`` template)."""
    if not departments or TEMPLATE not in definition.templates_by_id:
        return 0
    meetings = session.scalars(
        select(Meeting)
        .where(
            Meeting.case_id == case.id,
            Meeting.state.in_(OPEN_STATES),
            Meeting.starts_at > now,
        )
        .order_by(Meeting.starts_at)
    ).all()
    queued = 0
    zone = ZoneInfo(definition.calendar.timezone)
    reached = _messages(session, case)
    for meeting in meetings:
        for person in meeting.participants or []:
            if not isinstance(person, dict) or person.get("role") != "team_member":
                continue
            if person.get("department") not in departments:
                continue
            # Only those whose calendar holds it: an invitation not sent yet is withheld now
            # (one sent again, on a consent given meanwhile, too); a cancellation sent or on
            # its way already took it out (a second one was sent after the first).
            told = reached.get((int(meeting.key or 0), str(person.get("id"))), [])
            holding = [
                r
                for r in told
                if r.state in _REACHING or (r.template == TEMPLATE and r.state in _COMING)
            ]
            if not holding or holding[-1].template == TEMPLATE:
                continue
            session.add(_row(case, meeting, person, now, zone))
            queued += 1
    return queued


#: A message that has reached its recipient, or is on its way.
_REACHING = frozenset({OutboxState.SENT, OutboxState.SENDING})
#: A message about to reach its recipient (a withheld one released by a consent).
_COMING = frozenset({OutboxState.PENDING, OutboxState.SENDING})


def _messages(session: Session, case: Case) -> dict[tuple[int, str], list[OutboxRow]]:
    """The case's messages about a meeting to a member of staff, by (meeting, person),
    oldest first."""
    found: dict[tuple[int, str], list[OutboxRow]] = {}
    rows = session.scalars(
        select(OutboxRow).where(OutboxRow.case_id == case.id).order_by(OutboxRow.id)
    )
    for row in rows:
        person = (row.recipient or {}).get("person")
        meeting = (row.payload or {}).get("meeting")
        if isinstance(person, str) and isinstance(meeting, dict) and "key" in meeting:
            found.setdefault((int(meeting["key"]), person), []).append(row)
    return found


def _row(
    case: Case, meeting: Meeting, person: dict[str, Any], now: datetime, zone: ZoneInfo
) -> OutboxRow:
    recipient = {
        "kind": RecipientKind.TEAM_MEMBER.value,
        "id": person["department"],
        "person": person["id"],
    }
    # Said to a department no consent covers: no place, and of those invited only the
    # coordinator who organises it (the calendar's organiser); the recipient is added as
    # its attendee when the message is made.
    organiser = [
        p
        for p in meeting.participants or []
        if isinstance(p, dict) and p.get("role") == "coordinator"
    ]
    cancelled = _meeting(meeting, zone) | {
        "place": None,
        "participants": organiser,
        "state": "cancelled",
    }
    return _outbox_row(case, recipient, TEMPLATE, cancelled, now, {UNINVITED_MARK: True})


def _meeting(meeting: Meeting, zone: ZoneInfo) -> dict[str, Any]:
    """A meeting as a message carries it (in the municipality's zone, as the case's
    meetings hold their times), at its own SEQUENCE."""
    return {
        "key": meeting.key,
        "kind": meeting.kind,
        "starts_at": meeting.starts_at.astimezone(zone).isoformat(),
        "ends_at": (meeting.ends_at or meeting.starts_at).astimezone(zone).isoformat(),
        "place": meeting.place,
        "participants": list(meeting.participants or []),
        "attendance": {},
        "state": meeting.state,
        "sequence": meeting.sequence,
    }


def _outbox_row(
    case: Case,
    recipient: dict[str, Any],
    template: str,
    meeting: dict[str, Any],
    now: datetime,
    marks: dict[str, Any],
) -> OutboxRow:
    """A message of the consent service about one meeting, due now."""
    kind = "uninvited" if template == TEMPLATE else "again"
    return OutboxRow(
        case_id=case.id,
        history_id=None,
        kind="notify",
        recipient=recipient,
        template=template,
        payload={
            "shared": {},
            "stage": case.stage,
            "event": None,
            "meeting": meeting,
            "at": now.isoformat(),
            **marks,
        },
        dedupe_key=f"{case.reference}:{kind}:m{meeting['key']}:{recipient['person']}:"
        f"{now:%Y%m%dT%H%M%S%f}",
        attempts=0,
        state=OutboxState.PENDING,
        available_at=now,
        created_at=now,
    )


#: The template of an invitation sent again (the base definition has it).
AGAIN = "meeting_invited_again"


def reinvite(
    session: Session, case: Case, definition: Definition, departments: set[str], now: datetime
) -> int:
    """Invite again each team member of ``departments`` (which a consent now covers) that
    a withdrawal took out of a meeting still to come, unless an update of the meeting
    already goes to them; how many were queued."""
    if not departments or AGAIN not in definition.templates_by_id:
        return 0
    meetings = {
        m.key: m
        for m in session.scalars(
            select(Meeting).where(
                Meeting.case_id == case.id,
                Meeting.state.in_(OPEN_STATES),
                Meeting.starts_at > now,
            )
        )
    }
    queued = 0
    zone = ZoneInfo(definition.calendar.timezone)
    for (key, _person), told in _messages(session, case).items():
        meeting = meetings.get(key)
        taken_out = [r for r in told if r.template == TEMPLATE]
        if meeting is None or not taken_out:
            continue
        last = taken_out[-1]
        if (last.recipient or {}).get("id") not in departments:
            continue
        # Only if the last message to reach them, once what is queued has gone (and what
        # the consent released now), takes them out: not if an update of the meeting
        # since, or one released or sent again before and still queued, reaches them; a
        # cancellation still queued from a later withdrawal goes first (it was sent after
        # the invitation, and their calendar kept the meeting cancelled).
        coming = [r for r in told if r.state in _REACHING or r.state in _COMING]
        if not coming or coming[-1].template != TEMPLATE:
            continue
        # Not older than the cancellation it follows (before, it carried SEQUENCE + 1).
        sequence = max(meeting.sequence, int((last.payload or {})["meeting"].get("sequence", 0)))
        session.add(_again(case, meeting, dict(last.recipient), now, zone, sequence))
        queued += 1
    return queued


def _again(
    case: Case,
    meeting: Meeting,
    recipient: dict[str, Any],
    now: datetime,
    zone: ZoneInfo,
    sequence: int,
) -> OutboxRow:
    invited = _meeting(meeting, zone) | {"sequence": sequence}
    return _outbox_row(case, recipient, AGAIN, invited, now, {})


def close_department_tasks(
    session: Session, case: Case, departments: set[str], now: datetime
) -> int:
    """End the case's open tasks given to ``departments`` (or to a team member of one):
    their consent is withdrawn. How many were closed."""
    if not departments:
        return 0
    result = session.execute(
        update(CaseTask)
        .where(
            CaseTask.case_id == case.id,
            CaseTask.state == TaskState.OPEN,
            CaseTask.assignee_kind.in_((RecipientKind.DEPARTMENT, RecipientKind.TEAM_MEMBER)),
            CaseTask.assignee_id.in_(sorted(departments)),
        )
        .values(
            state=TaskState.CANCELLED,
            closed_at=now,
            closed_by=CONSENT_CLOSER,
            next_reminder_at=None,
            held_since=None,
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def reopen_department_tasks(
    session: Session, case: Case, definition: Definition, departments: set[str], now: datetime
) -> int:
    """Open again the tasks a withdrawal of ``departments`` ended (or a step wrote ended
    meanwhile) now that a consent covers them again — only while nothing has happened on
    the case since (no step but the consent's own news to the case, which moved no stage:
    the stage, its meetings and the tasks given together are as they were) and their
    deadline is still to come. In a pause they wait with their stage, as they would have.
    How many were opened again."""
    if not departments or case.closed_at is not None:
        return 0
    last_step = session.scalar(
        select(HistoryEvent.at)
        .where(
            HistoryEvent.case_id == case.id,
            or_(
                HistoryEvent.event.not_in(CONSENT_NEWS),
                HistoryEvent.from_stage != HistoryEvent.to_stage,
            ),
        )
        .order_by(HistoryEvent.seq.desc())
        .limit(1)
    )
    stage = definition.stages_by_id.get(case.stage)
    paused = _paused_since(case, now) if stage is not None and stage.pause else None
    reopened = 0
    for task in session.scalars(
        select(CaseTask).where(
            CaseTask.case_id == case.id,
            CaseTask.state == TaskState.CANCELLED,
            CaseTask.closed_by == CONSENT_CLOSER,
            CaseTask.assignee_kind.in_((RecipientKind.DEPARTMENT, RecipientKind.TEAM_MEMBER)),
            CaseTask.assignee_id.in_(sorted(departments)),
        )
    ):
        # No step since it ended (one that gave it ended is as old as the task).
        closed = task.closed_at
        if closed is None or (last_step is not None and _utc(last_step) > _utc(closed)):
            continue
        if task.due_at is not None and _utc(task.due_at) <= now:
            continue
        unsent = [r["at"] for r in task.reminders or [] if not r.get("sent")]
        task.state = TaskState.OPEN
        task.closed_at = None
        task.closed_by = None
        if paused is not None and task.until != "case":  # held with its stage
            task.held_since = paused
            task.next_reminder_at = None
        else:
            task.next_reminder_at = min((datetime.fromisoformat(a) for a in unsent), default=None)
        reopened += 1
    return reopened


#: The events a consent's record and withdrawal tell the case (a step of the system's).
CONSENT_NEWS = ("consent_given", "consent_withdrawn")


def _paused_since(case: Case, now: datetime) -> datetime:
    """When the case's pause began (kept in its timing), else now."""
    began = (case.timing or {}).get("paused_at")
    return _utc(datetime.fromisoformat(began)) if isinstance(began, str) else now


def _utc(moment: datetime) -> datetime:
    """A stored time as UTC (SQLite gives it back without its zone)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
