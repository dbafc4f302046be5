"""A case's meetings as rows, written from the engine's meeting changes.

The engine keeps the case's meetings in its data (``workflow.engine.meetings``); each
booking, move, cancellation and holding is also written here, so a meeting is a thing of
the case with its state, attendance and invitation sequence, found without reading case
data (the case view reads them: ``workflow.store.reading``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection

from workflow.engine.model import MeetingChanged
from workflow.store.statements import INSERT_MEETING, UPDATE_MEETING


def write_meeting_changes(
    connection: Connection, case_id: int, changes: Sequence[MeetingChanged], now: datetime
) -> None:
    """Insert booked meetings; update moved, cancelled and held ones (by the case's key)."""
    for change in changes:
        meeting = change.meeting
        attendance = {k: list(v) for k, v in meeting.attendance.items()}
        if change.action == "book":
            INSERT_MEETING.execute(
                connection,
                {
                    "case_id": case_id,
                    "key": meeting.key,
                    "kind": meeting.kind,
                    "starts_at": meeting.starts_at,
                    "ends_at": meeting.ends_at,
                    "place": meeting.place,
                    "participants": [dict(p) for p in meeting.participants],
                    "attendance": attendance,
                    "state": meeting.state,
                    "sequence": meeting.sequence,
                    "changed_at": now,
                },
            )
            continue
        UPDATE_MEETING.execute(
            connection,
            {
                "b_case": case_id,
                "b_key": meeting.key,
                "b_starts_at": meeting.starts_at,
                "b_ends_at": meeting.ends_at,
                "b_place": meeting.place,
                "b_state": meeting.state,
                "b_sequence": meeting.sequence,
                "b_attendance": attendance,
                "b_changed_at": now,
            },
        )


__all__ = ["write_meeting_changes"]
