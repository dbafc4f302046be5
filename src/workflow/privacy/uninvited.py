"""A department whose consent is withdrawn leaves the meetings still to come.

Its team members were invited to the case's booked meetings (a calendar entry each).
With the consent withdrawn nothing more reaches them — a moved meeting's update is
withheld — so their calendars would keep the meeting at its old time, and they would
come to a meeting the young person no longer shares with them. Each of them is sent the
meeting's cancellation for their own calendar (the same UID, a higher SEQUENCE), in the
same transaction as the withdrawal: no reason, no link, only the case reference and the
time (the definition's ``meeting_uninvited`` template). The meeting itself stands for
everyone else.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.definitions.models import Definition
from workflow.engine.consent import UNINVITED_MARK
from workflow.engine.meetings import OPEN_STATES
from workflow.engine.vocabulary import RecipientKind
from workflow.store.states import OutboxState
from workflow.store.tables import Case, Meeting, OutboxRow

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
    for meeting in meetings:
        for person in meeting.participants or []:
            if not isinstance(person, dict) or person.get("role") != "team_member":
                continue
            if person.get("department") not in departments:
                continue
            session.add(_row(case, meeting, person, now, zone))
            queued += 1
    return queued


def _row(
    case: Case, meeting: Meeting, person: dict[str, Any], now: datetime, zone: ZoneInfo
) -> OutboxRow:
    recipient = {
        "kind": RecipientKind.TEAM_MEMBER.value,
        "id": person["department"],
        "person": person["id"],
    }
    cancelled: dict[str, Any] = {
        "key": meeting.key,
        "kind": meeting.kind,
        # In the municipality's zone, as the case's meetings hold their times.
        "starts_at": meeting.starts_at.astimezone(zone).isoformat(),
        "ends_at": (meeting.ends_at or meeting.starts_at).astimezone(zone).isoformat(),
        # Said to a department no consent covers: no place, and of those invited only
        # the coordinator who organises it (the calendar's organiser); the recipient is
        # added as its attendee when the message is made.
        "place": None,
        "participants": [
            p
            for p in meeting.participants or []
            if isinstance(p, dict) and p.get("role") == "coordinator"
        ],
        "attendance": {},
        "state": "cancelled",
        "sequence": meeting.sequence + 1,
    }
    return OutboxRow(
        case_id=case.id,
        history_id=None,
        kind="notify",
        recipient=recipient,
        template=TEMPLATE,
        payload={
            "shared": {},
            "stage": case.stage,
            "event": None,
            "meeting": cancelled,
            "at": now.isoformat(),
            UNINVITED_MARK: True,
        },
        dedupe_key=f"{case.reference}:uninvited:m{meeting.key}:{person['id']}:{now:%Y%m%dT%H%M%S}",
        attempts=0,
        state=OutboxState.PENDING,
        available_at=now,
        created_at=now,
    )
